#!/usr/bin/env python3
"""Agreement between deploy/ and the workspace (called by deploy/check.sh).

What it checks, and against what:
- the Dockerfile: every binary it builds (`--bin`) and copies (`/app/target/release/<bin>`)
  is a binary of the workspace (`cargo metadata --no-deps`), both lists agree, and every
  `ENV` name is a setting the binaries read;
- every rendered overlay, for each container of each Deployment:
  - its `command` runs a binary the image carries, with a subcommand the kit defines
    (`migrate` in init containers, `serve` in the others);
  - every environment variable it gets (`env`, and the keys of ConfigMaps/Secrets through
    `envFrom`) is one the binary's code reads: an `env = "NAME"` clap attribute in the
    binary's package or in the workspace crates it depends on (the service kit);
  - `STEWARD_LISTEN_ADDR` listens on 0.0.0.0, every containerPort, gRPC probe port and the
    Service's targetPort equal its port; probes are native gRPC on a number, liveness and
    startup on "" and readiness on a service the proto files define and the binary registers;
  - requests and limits, the restricted securityContext, no service-account token, the
    app.kubernetes.io labels (version = the package's version);
  - the Service in front of it is headless with appProtocol kubernetes.io/h2c.
Binaries listed in deploy/pending.yaml whose crate is not in the workspace yet are reported
as pending; see that file.
"""

import argparse
import glob
import json
import os
import re
import sys

import yaml

ENV_ATTR = re.compile(r'\benv\s*=\s*"([A-Za-z_][A-Za-z0-9_]*)"')
UID = 65532
LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/part-of",
          "app.kubernetes.io/component", "app.kubernetes.io/version")


class Report:
    def __init__(self):
        self.failures = []
        self.notes = []
        self.checked = []

    def fail(self, where, msg):
        self.failures.append(f"{where}: {msg}")

    def note(self, msg):
        self.notes.append(msg)


def rust_sources(src_dir):
    return sorted(glob.glob(os.path.join(src_dir, "**", "*.rs"), recursive=True))


def read_all(paths):
    return "\n".join(open(p, encoding="utf-8").read() for p in paths)


class Workspace:
    """Binaries, versions, env names and registered gRPC services, from the sources."""

    def __init__(self, metadata, root):
        self.root = root
        self.packages = {p["id"]: p for p in metadata["packages"]}
        members = set(metadata["workspace_members"])
        self.by_dir = {}
        self.bins = {}  # binary name -> package
        for p in self.packages.values():
            if p["id"] not in members:
                continue
            self.by_dir[os.path.dirname(p["manifest_path"])] = p
            for t in p["targets"]:
                if "bin" in t["kind"]:
                    self.bins[t["name"]] = p

    def src_dir(self, package):
        return os.path.join(os.path.dirname(package["manifest_path"]), "src")

    def closure(self, package):
        """The package and the workspace crates it depends on (normal dependencies)."""
        seen, todo = [], [package]
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.append(p)
            for d in p["dependencies"]:
                if d.get("kind") is None and d.get("path") in self.by_dir:
                    todo.append(self.by_dir[d["path"]])
        return seen

    def env_names(self, package):
        names = set()
        for p in self.closure(package):
            names |= set(ENV_ATTR.findall(read_all(rust_sources(self.src_dir(p)))))
        return names

    def registers(self, package, service):
        """Whether the package's own code wires the generated server of `service`."""
        short = service.rsplit(".", 1)[-1]
        return re.search(rf"\b{re.escape(short)}Server\b", read_all(rust_sources(self.src_dir(package)))) is not None


def proto_services(root):
    names = set()
    for path in glob.glob(os.path.join(root, "proto", "steward", "**", "*.proto"), recursive=True):
        text = open(path, encoding="utf-8").read()
        pkg = re.search(r"^package\s+([\w.]+)\s*;", text, re.M)
        for svc in re.findall(r"^service\s+(\w+)\s*\{", text, re.M):
            names.add(f"{pkg.group(1)}.{svc}" if pkg else svc)
    return names


def kit_subcommands(root):
    """`serve`, `migrate`: the variants of the kit's `enum Command`, as clap names them."""
    text = open(os.path.join(root, "shared", "kit", "src", "service.rs"), encoding="utf-8").read()
    block = re.search(r"enum Command\b[^{]*\{(.*?)\n\}", text, re.S)
    if not block:
        return set()
    variants = re.findall(r"^    ([A-Z]\w*)", block.group(1), re.M)
    return {re.sub(r"(?<!^)([A-Z])", r"-\1", v).lower() for v in variants}


def check_dockerfile(path, ws, pending, rep):
    text = open(path, encoding="utf-8").read()
    logical = re.sub(r"\\\n", " ", text)
    built = set(re.findall(r"--bin[ =]([A-Za-z0-9_-]+)", logical))
    copied = set(re.findall(r"COPY\s+--from=\S+\s+/app/target/release/([A-Za-z0-9_-]+)", logical))
    where = os.path.relpath(path)
    if not copied:
        rep.fail(where, "copies no binary from /app/target/release/")
    for b in sorted(built | copied):
        if b in ws.bins:
            continue
        if b in pending:
            rep.note(f"pending: {b} (in deploy/pending.yaml) is not a binary of the workspace yet")
        else:
            rep.fail(where, f"binary `{b}` is not a binary of the workspace "
                            f"(workspace binaries: {', '.join(sorted(ws.bins)) or 'none'})")
    if built != copied:
        rep.fail(where, f"builds {sorted(built)} but copies {sorted(copied)}")
    read = set()
    for b in copied & set(ws.bins):
        read |= ws.env_names(ws.bins[b])
    for name in re.findall(r"^ENV\s+([A-Za-z_][A-Za-z0-9_]*)=", logical, re.M):
        if name not in read:
            rep.fail(where, f"ENV {name} is read by none of the binaries it carries")
    return copied


def resolve(ref_kind, name, docs):
    for d in docs:
        if d.get("kind") == ref_kind and d.get("metadata", {}).get("name") == name:
            return d
    return None


def secret_keys(secret):
    return set((secret.get("data") or {}).keys()) | set((secret.get("stringData") or {}).keys())


def container_env(c, docs, where, rep):
    """{name: literal value or None} for everything the container gets in its environment."""
    env = {}
    for src in c.get("envFrom") or []:
        if src.get("prefix"):
            rep.fail(where, "envFrom with a prefix: not supported by this check")
        if "configMapRef" in src:
            cm = resolve("ConfigMap", src["configMapRef"]["name"], docs)
            if cm is None:
                rep.fail(where, f"envFrom ConfigMap `{src['configMapRef']['name']}` is not in the rendering")
                continue
            env.update(cm.get("data") or {})
        elif "secretRef" in src:
            s = resolve("Secret", src["secretRef"]["name"], docs)
            if s is None:
                rep.fail(where, f"envFrom Secret `{src['secretRef']['name']}` is not in the rendering: "
                                "its keys cannot be checked; use env with secretKeyRef")
                continue
            env.update({k: None for k in secret_keys(s)})
    for e in c.get("env") or []:
        value = e.get("value")
        ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
        if ref:
            cm = resolve("ConfigMap", ref["name"], docs)
            value = (cm or {}).get("data", {}).get(ref["key"])
        env[e["name"]] = value
    return env


def check_probe(probe, kind, port, where, rep):
    if not probe:
        rep.fail(where, f"no {kind}")
        return None
    grpc = probe.get("grpc")
    if grpc is None:
        rep.fail(where, f"{kind} is not a native gRPC probe")
        return None
    if not isinstance(grpc.get("port"), int):
        rep.fail(where, f"{kind} grpc.port `{grpc.get('port')}` is not a number")
    elif port is not None and grpc["port"] != port:
        rep.fail(where, f"{kind} grpc.port {grpc['port']} is not the listen port {port}")
    return grpc.get("service", "")


def check_security(c, pod_sc, where, rep):
    sc = c.get("securityContext") or {}

    def eff(key):
        return sc.get(key, pod_sc.get(key))

    wants = {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False}
    for key, want in wants.items():
        if sc.get(key) != want:
            rep.fail(where, f"securityContext.{key} is {sc.get(key)!r}, want {want!r}")
    if eff("runAsUser") != UID:
        rep.fail(where, f"runAsUser is {eff('runAsUser')!r}, want {UID}")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        rep.fail(where, "capabilities.drop lacks ALL")
    if (eff("seccompProfile") or {}).get("type") != "RuntimeDefault":
        rep.fail(where, "seccompProfile is not RuntimeDefault")
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in (res.get(part) or {}):
                rep.fail(where, f"resources.{part}.{r} missing")


def check_rendering(label, docs, ws, image_bins, pending, protos, subcommands, rep):
    deployments = [d for d in docs if d.get("kind") == "Deployment"]
    if not deployments:
        rep.fail(label, "no Deployment in the rendering")
    service_accounts = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "ServiceAccount"}
    services = [d for d in docs if d.get("kind") == "Service"]
    for dep in deployments:
        dname = dep["metadata"]["name"]
        pod = dep["spec"]["template"]
        spec = pod["spec"]
        pod_labels = pod["metadata"].get("labels") or {}
        base = f"{label}: Deployment/{dname}"
        for key in LABELS:
            if not pod_labels.get(key):
                rep.fail(base, f"pod template lacks label {key}")
        if spec.get("automountServiceAccountToken") is not False:
            rep.fail(base, "automountServiceAccountToken is not false")
        sa = service_accounts.get(spec.get("serviceAccountName", "default"))
        if sa is None or sa.get("automountServiceAccountToken") is not False:
            rep.fail(base, f"ServiceAccount `{spec.get('serviceAccountName')}` missing or mounts its token")
        pod_sc = spec.get("securityContext") or {}
        listen_ports = set()
        for init, c in [(True, c) for c in spec.get("initContainers") or []] + \
                       [(False, c) for c in spec.get("containers") or []]:
            where = f"{base} {'initContainer' if init else 'container'} {c['name']}"
            cmd = c.get("command") or []
            if not cmd:
                rep.fail(where, "no command: name the binary and its subcommand")
                continue
            binary = cmd[0]
            if binary not in image_bins:
                rep.fail(where, f"binary `{binary}` is not copied into the image by deploy/Dockerfile")
            is_pending = binary not in ws.bins and binary in pending
            if binary not in ws.bins and not is_pending:
                rep.fail(where, f"binary `{binary}` is not a binary of the workspace")
                continue
            want_sub = "migrate" if init else "serve"
            sub = cmd[1] if len(cmd) > 1 else None
            if sub not in subcommands:
                rep.fail(where, f"subcommand `{sub}` is not one of the kit's {sorted(subcommands)}")
            elif sub != want_sub:
                rep.fail(where, f"runs `{sub}`, want `{want_sub}` here")
            check_security(c, pod_sc, where, rep)

            env = container_env(c, docs, where, rep)
            if is_pending:
                allowed = set(pending[binary].get("env") or [])
                kit = ws.by_dir.get(os.path.join(ws.root, "shared", "kit"))
                if kit:
                    allowed |= ws.env_names(kit)
            else:
                allowed = ws.env_names(ws.bins[binary])
            for name in sorted(env):
                if name not in allowed:
                    rep.fail(where, f"env `{name}` is not read by `{binary}` "
                                    f"(no `env = \"{name}\"` in its code or the kit's)")
            if not is_pending:
                version = ws.bins[binary]["version"]
                if pod_labels.get("app.kubernetes.io/version") not in (None, version):
                    rep.fail(where, f"label app.kubernetes.io/version is "
                                    f"{pod_labels.get('app.kubernetes.io/version')}, the package is {version}")
            if init:
                for p in ("livenessProbe", "readinessProbe", "startupProbe", "ports"):
                    if c.get(p):
                        rep.fail(where, f"an init container has {p}")
                continue

            addr = env.get("STEWARD_LISTEN_ADDR")
            port = None
            m = re.fullmatch(r"(0\.0\.0\.0|\[::\]):(\d+)", addr or "")
            if not m:
                rep.fail(where, f"STEWARD_LISTEN_ADDR is {addr!r}: want 0.0.0.0:<port> so that "
                                "probes and peers reach the Pod IP")
            else:
                port = int(m.group(2))
                listen_ports.add(port)
            ports = c.get("ports") or []
            if not ports:
                rep.fail(where, "no containerPort")
            for p in ports:
                if port is not None and p.get("containerPort") != port:
                    rep.fail(where, f"containerPort {p.get('containerPort')} is not the port of "
                                    f"STEWARD_LISTEN_ADDR ({port})")
            check_probe(c.get("startupProbe"), "startupProbe", port, where, rep)
            live = check_probe(c.get("livenessProbe"), "livenessProbe", port, where, rep)
            ready = check_probe(c.get("readinessProbe"), "readinessProbe", port, where, rep)
            if live not in (None, ""):
                rep.fail(where, f"livenessProbe service is `{live}`, want \"\" (the whole server)")
            if ready is not None:
                if ready not in protos:
                    rep.fail(where, f"readinessProbe service `{ready}` is not a service in proto/ "
                                    f"({', '.join(sorted(protos))})")
                elif not is_pending and not ws.registers(ws.bins[binary], ready):
                    rep.fail(where, f"readinessProbe service `{ready}` is not registered by `{binary}` "
                                    f"(no {ready.rsplit('.', 1)[-1]}Server in its code)")
            if c.get("lifecycle", {}).get("preStop", {}).get("exec"):
                rep.fail(where, "preStop exec: the distroless image has no shell or tools")

        for svc in services:
            sel = svc["spec"].get("selector") or {}
            if not sel or any(pod_labels.get(k) != v for k, v in sel.items()):
                continue
            where = f"{label}: Service/{svc['metadata']['name']}"
            if svc["spec"].get("clusterIP") != "None":
                rep.fail(where, "not headless (clusterIP: None): clients could not balance per call")
            for p in svc["spec"].get("ports") or []:
                if p.get("appProtocol") != "kubernetes.io/h2c":
                    rep.fail(where, f"port {p.get('port')} lacks appProtocol kubernetes.io/h2c")
                target = p.get("targetPort", p.get("port"))
                if target not in listen_ports:
                    rep.fail(where, f"targetPort {target!r} is not the listen port {sorted(listen_ports)}")
        if not any(all(pod_labels.get(k) == v for k, v in (s["spec"].get("selector") or {"": 0}).items())
                   for s in services):
            rep.fail(base, "no Service selects its Pods")
        rep.checked.append(f"{label}/{dname}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True)
    ap.add_argument("--metadata", required=True, help="cargo metadata --no-deps --format-version 1")
    ap.add_argument("--dockerfile", required=True)
    ap.add_argument("--pending", required=True)
    ap.add_argument("rendered", nargs="*", help="NAME=FILE: a rendered overlay")
    args = ap.parse_args()

    root = os.path.abspath(args.root)
    ws = Workspace(json.load(open(args.metadata, encoding="utf-8")), root)
    pending = yaml.safe_load(open(args.pending, encoding="utf-8")) or {}
    rep = Report()
    for b in sorted(pending):
        if b in ws.bins:
            rep.note(f"note: `{b}` is now a binary of the workspace and checked in full: "
                     "delete its entry from deploy/pending.yaml")
    protos = proto_services(root)
    subcommands = kit_subcommands(root)
    if not subcommands:
        rep.fail("shared/kit/src/service.rs", "cannot find the kit's subcommands (enum Command)")
    image_bins = check_dockerfile(args.dockerfile, ws, pending, rep)
    for item in args.rendered:
        label, _, path = item.partition("=")
        docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]
        check_rendering(label, docs, ws, image_bins, pending, protos, subcommands, rep)

    for n in rep.notes:
        print(n)
    for f in rep.failures:
        print(f"FAIL {f}")
    if rep.failures:
        print(f"agreement: {len(rep.failures)} failure(s)")
        return 1
    print(f"agreement: ok (workspace binaries: {', '.join(sorted(ws.bins))}; "
          f"Deployments checked: {', '.join(rep.checked) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Checks deploy/ (CI runs it; so can you): renders every overlay with `kubectl kustomize`,
# validates it with `kubernetes-validate --strict` against Kubernetes 1.30's schemas, and
# checks that the Dockerfile and the manifests agree with the workspace (binaries, env vars,
# ports, probe services: deploy/check_manifests.py). Compiles nothing: binaries come from
# `cargo metadata --no-deps`, env names and services from the sources.
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSION=1.30.0
KUBERNETES_VALIDATE=1.37.0 # bundles the schemas: no network needed to validate
PYYAML=6.0.3
OVERLAYS=(dev prod)
# Validated too, but its CloudNativePG `Cluster` has no bundled schema (a custom resource):
# that one kind is skipped (and only that one), every other object is validated strictly.
CRD_OVERLAY=prod-cloudnative-pg
CRD_WARNING="Couldn't find schema for kind Cluster with api version postgresql.cnpg.io/v1"

work=target/deploy-check
mkdir -p "$work"

# Python tools, pinned, in a venv under target/ (falls back to pip --user without venv).
py="$work/venv/bin/python"
if ! "$py" -c "import yaml, kubernetes_validate.version as v; assert v.__version__ == '$KUBERNETES_VALIDATE'" 2>/dev/null; then
  if python3 -m venv "$work/venv" 2>/dev/null; then
    "$py" -m pip install --quiet --disable-pip-version-check \
      "kubernetes-validate==$KUBERNETES_VALIDATE" "PyYAML==$PYYAML"
  else
    echo "python3 -m venv unavailable: installing with pip --user"
    py=python3
    python3 -m pip install --quiet --disable-pip-version-check --user \
      "kubernetes-validate==$KUBERNETES_VALIDATE" "PyYAML==$PYYAML"
  fi
fi

if ! cargo metadata --no-deps --format-version 1 >"$work/metadata.json" 2>"$work/metadata.err"; then
  cat "$work/metadata.err" >&2
  echo "FAIL: cargo metadata --no-deps: the workspace's manifests do not load" >&2
  exit 1
fi

failed=0
rendered=()
# kubernetes-validate --strict fails on schema errors; an unknown kind/apiVersion is only a
# warning there, so any warning fails here too (except the one expected custom resource).
validate() { # name file [allowed-warning]
  local out
  out=$("$py" -m kubernetes_validate --strict -k "$K8S_VERSION" --quiet - <"$2" 2>&1) || {
    printf '%s\n' "$out"
    echo "FAIL: overlays/$1 does not validate against Kubernetes $K8S_VERSION"
    failed=1
    return
  }
  local unexpected
  unexpected=$(printf '%s\n' "$out" | grep -v "^$" | grep -vF "${3:-<none>}" || true)
  if [ -n "$unexpected" ]; then
    printf '%s\n' "$unexpected"
    echo "FAIL: overlays/$1: unexpected warnings from kubernetes-validate"
    failed=1
  else
    echo "ok: overlays/$1 validates (--strict, Kubernetes $K8S_VERSION)${3:+; not validated: the CloudNativePG Cluster (no schema)}"
  fi
}

if command -v kubectl >/dev/null 2>&1; then
  for overlay in "${OVERLAYS[@]}" "$CRD_OVERLAY"; do
    file="$work/$overlay.yaml"
    if ! kubectl kustomize "deploy/k8s/overlays/$overlay" >"$file"; then
      echo "FAIL: kubectl kustomize deploy/k8s/overlays/$overlay"
      failed=1
      continue
    fi
    rendered+=("$overlay=$file")
    if [ "$overlay" = "$CRD_OVERLAY" ]; then
      validate "$overlay" "$file" "$CRD_WARNING"
    else
      validate "$overlay" "$file"
    fi
  done
else
  echo "skipped: kubectl not found: overlays not rendered, validated or checked against the code" \
    "(the Dockerfile is still checked)"
fi

"$py" deploy/check_manifests.py --root . --metadata "$work/metadata.json" \
  --dockerfile deploy/Dockerfile --pending deploy/pending.yaml ${rendered[@]+"${rendered[@]}"} || failed=1

if [ "$failed" -ne 0 ]; then
  echo "deploy check: FAILED"
  exit 1
fi
echo "deploy check: ok"

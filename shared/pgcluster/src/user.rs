//! Running the Postgres tools as an unprivileged account when we are root: `initdb` refuses
//! root, and a server should not run as root anyway.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// An unprivileged account, and the command prefix that runs a program as it.
#[derive(Debug)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    /// `runuser`/`setpriv` take the program as arguments; `su` takes a shell string.
    runner: Vec<String>,
    su: bool,
}

impl User {
    /// `postgres` if it exists, else `nobody`, with the first of runuser, setpriv, su.
    pub(crate) fn unprivileged() -> Result<Self> {
        let passwd = fs::read_to_string("/etc/passwd").context("read /etc/passwd")?;
        let (name, uid, gid) = ["postgres", "nobody"]
            .into_iter()
            .find_map(|name| {
                let fields: Vec<&str> = passwd
                    .lines()
                    .find(|l| l.starts_with(&format!("{name}:")))?
                    .split(':')
                    .collect();
                Some((name.to_owned(), fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
            })
            .context("find an unprivileged user (postgres or nobody) to run the server as root")?;
        let (runner, su) = if let Some(runuser) = find_program("runuser") {
            (vec![runuser, "-u".into(), name.clone(), "--".into()], false)
        } else if let Some(setpriv) = find_program("setpriv") {
            let ids = [format!("--reuid={uid}"), format!("--regid={gid}")];
            (
                [vec![setpriv], ids.to_vec(), vec!["--clear-groups".into(), "--".into()]].concat(),
                false,
            )
        } else if let Some(su) = find_program("su") {
            (vec![su, "-s".into(), "/bin/sh".into(), name.clone(), "-c".into()], true)
        } else {
            bail!("found none of runuser, setpriv, su to run the server as {name}");
        };
        Ok(Self { name, uid, gid, runner, su })
    }

    /// `argv`, prefixed so that it runs as this account.
    pub(crate) fn wrap(&self, argv: Vec<String>) -> Vec<String> {
        if self.su {
            let line = argv.iter().map(|a| sh_quote(a)).collect::<Vec<_>>().join(" ");
            [self.runner.clone(), vec![line]].concat()
        } else {
            [self.runner.clone(), argv].concat()
        }
    }
}

/// Whether the effective user is root (read from /proc: no libc, no unsafe).
pub fn running_as_root() -> Result<bool> {
    let status = fs::read_to_string("/proc/self/status").context("read /proc/self/status")?;
    let euid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .context("find the effective uid in /proc/self/status")?;
    Ok(euid == "0")
}

fn find_program(name: &str) -> Option<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let sbin = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(sbin)
        .map(|dir| dir.join(name))
        .find(|file| file.is_file())
        .map(|file| file.to_string_lossy().into_owned())
}

fn sh_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(sh_quote("a b'c"), r"'a b'\''c'");
    }

    #[test]
    fn su_gets_one_quoted_shell_line() {
        let user = User {
            name: "postgres".into(),
            uid: 101,
            gid: 104,
            runner: vec!["su".into(), "-c".into()],
            su: true,
        };
        let argv = user.wrap(vec!["/bin/pg_ctl".into(), "-D".into(), "/a b".into()]);
        assert_eq!(argv, ["su", "-c", "'/bin/pg_ctl' '-D' '/a b'"]);
    }
}

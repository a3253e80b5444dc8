//! The variables a build step runs with, and how they reach it.
//!
//! Bubblewrap runs on the host, so its environment is the host's business: it gets an empty one,
//! and nothing the build chose (a workflow's `env:`, a line a step wrote to `GITHUB_ENV`) is ever
//! set on a process outside the sandbox. The step's variables travel instead in an *environment
//! file* that provdiff writes before each step, bound read-only into the sandbox with the rest of
//! provdiff's control files, and read by the sandbox's init, which starts the step's shell with
//! exactly those variables.
//!
//! Some names are refused wherever they come from: those that make the dynamic loader or the C
//! library load code or data from a path (`LD_*` and the other variables glibc removes for setuid
//! programs), `PATH` (which changes only through `GITHUB_PATH`, as on GitHub) and `NODE_OPTIONS`
//! (which GitHub refuses in `GITHUB_ENV` too). Inside the sandbox they could only harm the build
//! itself; refusing them means that no later change to how provdiff starts processes can turn them
//! into code run on the host.
//!
//! The file holds `NAME=VALUE` entries separated by NUL bytes (a variable cannot contain one).

use std::collections::BTreeMap;
use std::path::Path;

/// Variables of glibc's `UNSECURE_ENVVARS` (what it removes for setuid programs) that are not
/// `LD_*`, less `TMPDIR` and `TZDIR`, which only say where temporary files and time zones are.
const LIBC_LOADING: &[&str] = &[
    "GCONV_PATH",
    "GETCONF_DIR",
    "GLIBC_TUNABLES",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "LOCPATH",
    "MALLOC_TRACE",
    "NIS_PATH",
    "NLSPATH",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
];

/// Why a variable the build chose (in the workflow or through `GITHUB_ENV`) is not passed on, or
/// `None` when it is.
pub fn refusal(name: &str) -> Option<&'static str> {
    if let Some(reason) = loading_refusal(name) {
        return Some(reason);
    }
    if name.eq_ignore_ascii_case("PATH") {
        return Some("PATH changes only through GITHUB_PATH");
    }
    if name.starts_with("NODE_OPTIONS") {
        return Some("GitHub does not let steps set NODE_OPTIONS either");
    }
    None
}

/// Why a variable is never set for any process provdiff starts, whoever chose it: a name that is
/// not one, or one that makes the loader or the C library load something from a path.
fn loading_refusal(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Some("it is not a variable name");
    }
    if name.starts_with("LD_") {
        return Some("it changes what the dynamic loader loads");
    }
    if LIBC_LOADING.contains(&name) {
        return Some("it makes the C library load files from a path");
    }
    None
}

/// A variable left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IgnoredVariable {
    /// Where it was set: `step 2 ("Setup") through GITHUB_ENV`.
    pub set_by: String,
    pub name: String,
    pub reason: String,
}

/// Splits `env` into what may be passed on and what may not (see [`refusal`]).
pub(crate) fn partition(
    env: BTreeMap<String, String>,
    set_by: &str,
) -> (BTreeMap<String, String>, Vec<IgnoredVariable>) {
    let mut ignored = Vec::new();
    let mut kept = BTreeMap::new();
    for (name, value) in env {
        match refusal(&name) {
            Some(reason) => {
                ignored.push(IgnoredVariable { set_by: set_by.to_string(), name, reason: reason.to_string() })
            }
            None => {
                kept.insert(name, value);
            }
        }
    }
    (kept, ignored)
}

/// Writes the environment file for one step (provdiff's `PATH` included). Names that would make
/// the loader or the C library load something, and values holding NUL, are left out.
pub(crate) fn write_file(path: &Path, env: &BTreeMap<String, String>) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    for (name, value) in env {
        if loading_refusal(name).is_none() && !value.contains('\0') {
            bytes.extend_from_slice(name.as_bytes());
            bytes.push(b'=');
            bytes.extend_from_slice(value.as_bytes());
            bytes.push(0);
        }
    }
    fs_err::write(path, bytes)
}

/// Reads an environment file: the variables in order, loading variables left out again.
pub(crate) fn read_file(path: &Path) -> std::io::Result<Vec<(String, String)>> {
    let bytes = fs_err::read(path)?;
    Ok(bytes
        .split(|&byte| byte == 0)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| {
            let text = String::from_utf8_lossy(entry);
            let (name, value) = text.split_once('=')?;
            loading_refusal(name).is_none().then(|| (name.to_string(), value.to_string()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_and_libc_variables_are_refused() {
        for name in ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GLIBC_TUNABLES", "GCONV_PATH", "PATH", "Path"] {
            assert!(refusal(name).is_some(), "{name}");
        }
        for name in ["NODE_OPTIONS", "NODE_OPTIONS_X", "", "A=B"] {
            assert!(refusal(name).is_some(), "{name:?}");
        }
        for name in ["NODE_ENV", "CI", "TMPDIR", "HOME", "npm_config_registry", "LDFLAGS", "OLD_PRELOAD"] {
            assert_eq!(refusal(name), None, "{name}");
        }
    }

    #[test]
    fn files_round_trip_without_refused_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env");
        let env = BTreeMap::from([
            ("MULTI".to_string(), "line 1\nline 2=x".to_string()),
            ("LD_PRELOAD".to_string(), "/x.so".to_string()),
            ("EMPTY".to_string(), String::new()),
            ("PATH".to_string(), "/usr/bin".to_string()),
        ]);
        write_file(&path, &env).unwrap();
        assert_eq!(
            read_file(&path).unwrap(),
            [
                ("EMPTY".to_string(), String::new()),
                ("MULTI".to_string(), "line 1\nline 2=x".to_string()),
                ("PATH".to_string(), "/usr/bin".to_string())
            ]
        );
        // A file written by someone else is filtered when read, too.
        fs_err::write(&path, b"LD_AUDIT=/a.so\0A=1\0").unwrap();
        assert_eq!(read_file(&path).unwrap(), [("A".to_string(), "1".to_string())]);
    }

    #[test]
    fn partition_says_who_set_what() {
        let env = BTreeMap::from([("LD_PRELOAD".to_string(), "/x".to_string()), ("A".to_string(), "1".to_string())]);
        let (kept, ignored) = partition(env, "step 1 through GITHUB_ENV");
        assert_eq!(kept.len(), 1);
        assert_eq!(ignored[0].name, "LD_PRELOAD");
        assert_eq!(ignored[0].set_by, "step 1 through GITHUB_ENV");
    }
}

//! The sandbox: bubblewrap, set up so that a build can change only its checkout and its own home,
//! sees the rest of the file system read-only, cannot see the user's home, credentials or agent
//! sockets, and has no network but the registry relay.
//!
//! Layout inside: `/` read-only; fresh `/tmp`, `/var/tmp`, `/run` and `/home`; the user's home
//! and `/root` replaced by empty directories nobody may enter (mode 000, and every capability
//! dropped, so root in the sandbox cannot enter them either); `/etc/shadow` and `/etc/gshadow`,
//! the SSH agent's socket and the npm configuration files provdiff read (which may hold
//! credentials) replaced by an empty read-only file; the build's home (`/home/runner`, holding the checkout at
//! `/home/runner/work/NAME/NAME`) writable; the provdiff binary at `/run/provdiff/init`; provdiff's
//! control files (the steps' environment files) read-only at `/run/provdiff/control`; the proxy
//! socket's directory read-only at `/run/provdiff/sock`; each step's own directory of GitHub step
//! files (`GITHUB_ENV`, …) writable where the runner keeps them. New PID, IPC, UTS, cgroup, user and network
//! namespaces; the build dies with provdiff.
//!
//! bubblewrap itself runs on the host with an empty environment: nothing the build chose is ever
//! in the environment of a process outside the sandbox (see `environment`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::init::InitArgs;
use crate::plan::Layout;
use crate::process;
use crate::tools::ToolExposure;

pub(crate) const INIT_PATH: &str = "/run/provdiff/init";
pub(crate) const SOCKET_DIR: &str = "/run/provdiff/sock";
pub(crate) const CONTROL_DIR: &str = "/run/provdiff/control";
/// The name of [`Bubblewrap::empty_file`] in the control directory.
pub(crate) const EMPTY_FILE: &str = "empty";
/// Replaced by empty file systems.
const FRESH_DIRS: [&str; 4] = ["/tmp", "/var/tmp", "/run", "/home"];

/// What the sandbox hides, as paths a build might try.
#[derive(Debug, Clone, Default)]
pub(crate) struct Masks {
    /// Replaced by directories nobody may enter.
    pub dirs: Vec<PathBuf>,
    /// Replaced by an empty file.
    pub files: Vec<PathBuf>,
}

impl Masks {
    /// The user's home, `/root`, the system's password hashes, the SSH agent's socket
    /// (`SSH_AUTH_SOCK`), and `credential_files` (the npm configuration files provdiff read, say:
    /// a project `.npmrc`, a global `npmrc`, a `userconfig` outside the home).
    pub fn for_this_machine(layout: &Layout, credential_files: &[PathBuf]) -> Self {
        let homes = std::env::var_os("HOME").map(PathBuf::from).into_iter().chain([PathBuf::from("/root")]);
        let dirs = masked_homes(homes, Path::new(&layout.home));
        let mut files: Vec<PathBuf> = Vec::new();
        let agent = std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from);
        let candidates = ["/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-"]
            .iter()
            .map(PathBuf::from)
            .chain(agent.filter(|path| path.is_absolute()))
            .chain(credential_files.iter().cloned());
        for file in candidates {
            // A link's target is hidden by a mount over the link; its own path is hidden too.
            let canonical = fs_err::canonicalize(&file).ok();
            for path in [Some(file), canonical].into_iter().flatten() {
                if fs_err::symlink_metadata(&path).is_ok_and(|meta| !meta.is_dir()) && !files.contains(&path) {
                    files.push(path);
                }
            }
        }
        Self { dirs, files }
    }

    /// Whether the sandbox already hides `path` without a mount of its own: it is under a masked
    /// directory or one of the fresh ones, and no tool shown there shows it again.
    fn hides(&self, path: &Path, tools: &ToolExposure) -> bool {
        let under = |dir: &Path| path.starts_with(dir);
        (self.dirs.iter().any(|dir| under(dir)) || FRESH_DIRS.iter().any(|dir| under(Path::new(dir))))
            && !tools.binds.iter().any(|bind| under(bind))
    }

    /// Every directory the sandbox replaces: the masked ones and the fresh `/tmp`, `/var/tmp`,
    /// `/run` and `/home`.
    pub fn hidden_roots(&self) -> Vec<PathBuf> {
        let mut roots = self.dirs.clone();
        roots.extend(FRESH_DIRS.iter().map(PathBuf::from));
        roots
    }

    /// Whether a line of build output mentions a hidden path.
    pub fn mentioned_in(&self, line: &str) -> bool {
        self.dirs.iter().chain(&self.files).any(|path| path.to_str().is_some_and(|path| line.contains(path)))
    }
}

/// The homes to hide, each by its own path and, where it is reached through a link (`/home/u` →
/// `/data/u`), by the path the link leads to, which the read-only root would otherwise show. Never
/// `/`, and never a parent of the build's own home (`inside_home`), which is mounted over it.
fn masked_homes(homes: impl Iterator<Item = PathBuf>, inside_home: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for dir in homes.flat_map(|dir| [fs_err::canonicalize(&dir).ok(), Some(dir)]).flatten() {
        if dir.is_absolute()
            && dir.exists()
            && dir != Path::new("/")
            && !inside_home.starts_with(&dir)
            && !dirs.contains(&dir)
        {
            dirs.push(dir);
        }
    }
    dirs
}

/// Everything a bubblewrap invocation needs besides the step itself.
#[derive(Debug, Clone)]
pub(crate) struct Bubblewrap {
    pub program: PathBuf,
    /// The build's home on the host, mounted at `layout.home`.
    pub host_home: PathBuf,
    pub layout: Layout,
    pub masks: Masks,
    /// The provdiff binary (the init) and the arguments before [`InitArgs`].
    pub init: Vec<OsString>,
    /// The proxy socket's directory on the host, when the build may reach the registry.
    pub socket_dir: Option<PathBuf>,
    /// provdiff's control files on the host (the steps' environment files), mounted read-only
    /// at [`CONTROL_DIR`].
    pub control_dir: PathBuf,
    /// An npm cache's `content-v2` to mount read-only in the build's cache (offline builds).
    pub cache_content: Option<PathBuf>,
    /// What to show again of tools that live in hidden directories (a Node.js under the home).
    pub tools: ToolExposure,
    /// The size of the fresh `/tmp`.
    pub tmp_size: u64,
}

impl Bubblewrap {
    /// The empty, read-only file in the control directory that hidden files are replaced by (a
    /// regular file, so that a program reading one finds it empty, as if there were nothing to
    /// configure, rather than failing on a device the sandbox forbids).
    pub fn empty_file(&self) -> PathBuf {
        self.control_dir.join(EMPTY_FILE)
    }

    /// A bubblewrap command running `init` in the sandbox, in `cwd` (a path inside), with the
    /// step's own directory of GitHub step files (`(host, inside)`) mounted writable.
    pub fn command(&self, cwd: &str, init: &InitArgs, step_files: Option<&(PathBuf, String)>) -> Command {
        let mut command = Command::new(&self.program);
        command.env_clear();
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
        push(&["--die-with-parent", "--new-session", "--unshare-all", "--cap-drop", "ALL"]);
        push(&["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]);
        let tmp_size = self.tmp_size.to_string();
        push(&["--size", &tmp_size, "--tmpfs", "/tmp", "--tmpfs", "/var/tmp", "--tmpfs", "/run", "--tmpfs", "/home"]);
        for dir in &self.masks.dirs {
            // A tool installed under a hidden home must stay reachable: its home is then empty
            // but enterable, holding only the tool.
            let perms = if self.tools.shows_something_in(dir) { "0755" } else { "0000" };
            args.extend(["--perms".into(), perms.into(), "--tmpfs".into(), dir.clone().into_os_string()]);
        }
        args.extend(["--bind".into(), self.host_home.clone().into_os_string(), OsString::from(&self.layout.home)]);
        if let Some((host, inside)) = step_files {
            args.extend(["--bind".into(), host.clone().into_os_string(), inside.into()]);
        }
        if let Some(content) = &self.cache_content {
            let inside = format!("{}/.npm/_cacache/content-v2", self.layout.home);
            args.extend(["--ro-bind".into(), content.clone().into_os_string(), inside.into()]);
        }
        if let Some(program) = self.init.first() {
            args.extend(["--ro-bind".into(), program.clone(), INIT_PATH.into()]);
        }
        args.extend(["--ro-bind".into(), self.control_dir.clone().into_os_string(), CONTROL_DIR.into()]);
        // Read-only: connecting needs no write, and the build must not replace the socket.
        if let Some(dir) = &self.socket_dir {
            args.extend(["--ro-bind".into(), dir.clone().into_os_string(), SOCKET_DIR.into()]);
        }
        for path in &self.tools.binds {
            args.extend(["--ro-bind".into(), path.clone().into_os_string(), path.clone().into_os_string()]);
        }
        for (target, link) in &self.tools.links {
            args.extend(["--symlink".into(), target.clone().into_os_string(), link.clone().into_os_string()]);
        }
        // Last, so that nothing shown above shows them again.
        for file in self.masks.files.iter().chain(&self.tools.hidden_files) {
            if !self.masks.hides(file, &self.tools) {
                args.extend(["--ro-bind".into(), self.empty_file().into_os_string(), file.clone().into_os_string()]);
            }
        }
        args.extend(["--chdir".into(), cwd.into(), "--".into(), INIT_PATH.into()]);
        args.extend(self.init.iter().skip(1).cloned());
        args.extend(init.to_args());
        command.args(args);
        command
    }

    /// Starts the sandbox once with nothing to run: `Err` says why it cannot be used.
    pub fn probe(&self) -> Result<(), String> {
        let probe = InitArgs { memory: None, proxy_socket: None, env_file: None, command: Vec::new() };
        let command = self.command("/", &probe, None);
        match process::run(command, Instant::now() + Duration::from_secs(60)) {
            Ok(finished) if finished.exit.success() => Ok(()),
            Ok(finished) => {
                let output = finished.output.text();
                let output = output.trim();
                Err(if output.is_empty() { format!("bubblewrap {}", finished.exit) } else { output.to_string() })
            }
            Err(error) => Err(format!("{error}: {}", error.source)),
        }
    }
}

/// Finds `name` on the `PATH`.
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs_err::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_home_reached_through_a_link_is_hidden_where_it_leads_too() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("data/u");
        fs_err::create_dir_all(&real).unwrap();
        let link = dir.path().join("u");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let real = fs_err::canonicalize(&real).unwrap();
        let masked = masked_homes([link.clone(), PathBuf::from("/")].into_iter(), Path::new("/home/runner"));
        assert_eq!(masked, [real.clone(), link]);
        assert!(masked_homes([real.clone()].into_iter(), &real.join("build")).is_empty(), "the build's own home");
    }

    #[test]
    fn the_build_home_is_never_masked_and_output_is_matched_against_masks() {
        let layout = Layout::new("/home/runner", "https://github.com/o/r");
        let masks = Masks::for_this_machine(&layout, &[]);
        assert!(masks.dirs.contains(&PathBuf::from("/root")));
        assert!(!masks.dirs.iter().any(|dir| Path::new("/home/runner").starts_with(dir)));
        assert!(masks.mentioned_in("cat: /root/.npmrc: Permission denied"));
        assert!(!masks.mentioned_in("cat: /usr/x: Permission denied"));
    }

    #[test]
    fn arguments() {
        let layout = Layout::new("/home/runner", "https://github.com/o/r");
        let sandbox = Bubblewrap {
            program: "bwrap".into(),
            host_home: "/tmp/r/home".into(),
            layout,
            masks: Masks {
                dirs: vec!["/root".into()],
                files: vec!["/etc/shadow".into(), "/root/.npmrc".into(), "/srv/project/.npmrc".into()],
            },
            init: vec!["/usr/bin/provdiff".into(), "__rebuild-init".into()],
            socket_dir: Some("/tmp/r/sock".into()),
            control_dir: "/tmp/r/control".into(),
            cache_content: None,
            tools: ToolExposure::default(),
            tmp_size: 1 << 30,
        };
        let init = InitArgs { memory: Some(10), proxy_socket: None, env_file: None, command: vec!["sh".into()] };
        let files = (PathBuf::from("/tmp/r/steps/1"), "/home/runner/work/_temp/_runner_file_commands".to_string());
        let command = sandbox.command("/home/runner/work/r/r", &init, Some(&files));
        let args: Vec<String> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        let text = args.join(" ");
        assert!(text.starts_with("--die-with-parent --new-session --unshare-all --cap-drop ALL --ro-bind / /"));
        assert!(text.contains("--perms 0000 --tmpfs /root"));
        assert!(text.contains("--ro-bind /tmp/r/control/empty /etc/shadow"));
        assert!(text.contains("--ro-bind /tmp/r/control/empty /srv/project/.npmrc"));
        assert!(!text.contains("/root/.npmrc"), "hidden already, with /root");
        assert!(text.contains(
            "--bind /tmp/r/home /home/runner --bind /tmp/r/steps/1 /home/runner/work/_temp/_runner_file_commands"
        ));
        assert!(text.contains("--ro-bind /tmp/r/sock /run/provdiff/sock"));
        assert!(text.contains("--ro-bind /usr/bin/provdiff /run/provdiff/init"));
        assert!(text.contains("--ro-bind /tmp/r/control /run/provdiff/control"));
        assert!(text.ends_with("--chdir /home/runner/work/r/r -- /run/provdiff/init __rebuild-init --memory 10 -- sh"));
        assert_eq!(command.get_envs().count(), 0, "the environment starts empty");
    }
}

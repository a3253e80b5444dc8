//! Running a build plan: a fresh working directory, the sandbox (or, when asked, none), the
//! registry proxy, one sandboxed run per step with GitHub's step environment files carried from
//! step to step, a time limit for the whole build and a memory limit for every process in it,
//! and a record of what ran, what it printed and what the sandbox refused.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::environment::{self, IgnoredVariable};
use crate::init::InitArgs;
use crate::plan::{BuildPlan, Layout, PlanStep, Shell};
use crate::process::{self, Exit, SpawnError};
use crate::proxy::{Origin, RegistryProxy};
use crate::sandbox::{self, Bubblewrap, CONTROL_DIR, Masks, SOCKET_DIR};
use crate::tools;

/// A registry the build's npm is pointed at: the default one (`scope` is `None`) or a scope's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryUrl {
    pub scope: Option<String>,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxChoice {
    /// bubblewrap, run as `program`.
    Bubblewrap { program: PathBuf },
    /// No sandbox at all (`--unsandboxed`).
    Unsandboxed,
}

#[derive(Debug, Clone)]
pub struct RebuildOptions {
    pub sandbox: SandboxChoice,
    /// The default registry first.
    pub registries: Vec<RegistryUrl>,
    /// Certificate authorities npm is configured to trust (`cafile`): passed to the build's npm
    /// and Node.js, since the build does not read the user's npm configuration.
    pub ca_file: Option<PathBuf>,
    /// Files the sandbox hides besides the user's home because they may hold credentials: the
    /// npm configuration files the caller read (a project `.npmrc`, the global `npmrc`, a
    /// `userconfig` outside the home).
    pub credential_files: Vec<PathBuf>,
    /// No network: dependencies come from `npm_cache` (an npm cache directory, the one holding
    /// `_cacache`), which the build reads but never writes (without a sandbox it gets a copy, and
    /// nothing but npm's `offline` setting keeps it off the network).
    pub offline: bool,
    pub npm_cache: Option<PathBuf>,
    /// For the whole build.
    pub timeout: Duration,
    /// Bytes of data segment each process of the build may use.
    pub memory: u64,
    /// The provdiff binary and the hidden subcommand that runs [`crate::sandbox_init`].
    pub init: Vec<OsString>,
}

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("no working sandbox ({program}): {reason}")]
    NoSandbox { program: PathBuf, reason: String },
    #[error("Node.js (`node`) is not on the PATH; a rebuild needs it")]
    NodeMissing,
    #[error("cannot prepare the rebuild's directory {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the registry proxy at {path}")]
    Proxy {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Spawn(#[from] SpawnError),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> RebuildError + '_ {
    move |source| RebuildError::Io { path: path.to_path_buf(), source }
}

/// The rebuild's directory on the host: the build's home, with the checkout at
/// `home/work/NAME/NAME` as on a hosted runner. Removed when dropped unless kept.
#[derive(Debug)]
pub struct Workdir {
    root: tempfile::TempDir,
    /// The layout as the build sees it.
    layout: Layout,
    host: Layout,
}

impl Workdir {
    /// A fresh directory for a build of `repository`; `sandboxed` decides whether the build sees
    /// the runner's paths (`/home/runner/…`) or the host's.
    pub fn create(repository: &str, sandboxed: bool) -> Result<Self, RebuildError> {
        let temp = std::env::temp_dir();
        let root = tempfile::Builder::new().prefix("provdiff-rebuild-").tempdir().map_err(io_error(&temp))?;
        let home = root.path().join("home");
        let host = Layout::new(&home.to_string_lossy(), repository);
        let layout = if sandboxed { Layout::new(Layout::RUNNER_HOME, repository) } else { host.clone() };
        for dir in [&host.workspace, &host.temp] {
            fs_err::create_dir_all(dir).map_err(io_error(Path::new(dir)))?;
        }
        // The checkout goes into an empty workspace directory.
        fs_err::remove_dir(&host.workspace).map_err(io_error(Path::new(&host.workspace)))?;
        Ok(Self { root, layout, host })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Where the checkout goes on the host (it does not exist yet).
    pub fn checkout_dir(&self) -> PathBuf {
        PathBuf::from(&self.host.workspace)
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    /// Keeps the directory after the run, and returns it.
    pub fn keep(self) -> PathBuf {
        self.root.keep()
    }

    /// `relative` (a path in the checkout, `""` for the checkout itself) on the host, for
    /// reading what the build made: provided that nothing from the rebuild's directory down to it
    /// is a link. The build could replace any part of its home with a link to a host file or
    /// directory, which provdiff, outside the sandbox, must not read.
    pub fn built_path(&self, relative: &str) -> Result<PathBuf, BuiltPathError> {
        let workspace = Path::new(&self.host.workspace);
        let below_root = workspace.strip_prefix(self.root.path()).unwrap_or(workspace);
        let mut path = self.root.path().to_path_buf();
        for part in below_root.iter().chain(Path::new(relative).iter()) {
            path.push(part);
            match fs_err::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => return Err(BuiltPathError::Link { path }),
                Ok(_) => {}
                Err(_) => return Err(BuiltPathError::Missing { path }),
            }
        }
        Ok(path)
    }

    /// A regular file the build left at `relative` in the checkout, read only if
    /// [`Workdir::built_path`] allows it and it is a regular file.
    pub fn read_built(&self, relative: &str) -> Option<Vec<u8>> {
        let path = self.built_path(relative).ok()?;
        fs_err::symlink_metadata(&path).ok().filter(|meta| meta.is_file())?;
        fs_err::read(path).ok()
    }
}

/// Why provdiff does not read what the build left at a path of its checkout.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuiltPathError {
    /// A link, which would lead provdiff, outside the sandbox, anywhere on the host.
    #[error("the build left a link at {}; provdiff does not follow links out of the checkout", path.display())]
    Link { path: PathBuf },
    #[error("the build removed {}", path.display())]
    Missing { path: PathBuf },
}

/// How a rebuild ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    Built,
    /// A step failed: an operational error, not a verdict.
    Failed {
        step: usize,
        reason: String,
    },
    /// A step failed after the sandbox refused it something.
    RefusedBySandbox {
        step: usize,
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub origin: String,
    pub dir: String,
    pub script: String,
    /// `None` when the step could not start.
    pub exit: Option<Exit>,
    pub seconds: f64,
    pub log: String,
}

/// What a rebuild did.
#[derive(Debug, Clone, Serialize)]
pub struct BuildRecord {
    pub sandbox: String,
    pub network: String,
    /// The paths the build saw.
    pub layout: Layout,
    pub time_limit_seconds: u64,
    pub memory_limit_bytes: u64,
    pub steps: Vec<StepRecord>,
    /// `node --version` and `npm --version` at the end of the build, as the build saw them.
    pub node_version: Option<String>,
    pub npm_version: Option<String>,
    /// Connections the proxy refused.
    pub refused_connections: Vec<String>,
    /// Lines of build output where the sandbox refused a write or a read.
    pub denials: Vec<String>,
    /// Variables steps set through `GITHUB_ENV` that were not passed on (see `environment`).
    pub ignored_variables: Vec<IgnoredVariable>,
    pub seconds: f64,
    pub outcome: Outcome,
}

/// Runs `plan` on the checkout in `workdir` (already written there).
pub fn rebuild(workdir: &Workdir, plan: &BuildPlan, options: &RebuildOptions) -> Result<BuildRecord, RebuildError> {
    let start = Instant::now();
    let deadline = start + options.timeout;
    let layout = workdir.layout.clone();
    let host = &workdir.host;
    let sandboxed = matches!(options.sandbox, SandboxChoice::Bubblewrap { .. });
    sandbox::find_program("node").ok_or(RebuildError::NodeMissing)?;
    let tools: Vec<PathBuf> = ["node", "npm", "npx", "corepack", "pnpm", "yarn"]
        .iter()
        .filter_map(|name| sandbox::find_program(name))
        .collect();
    let masks = if sandboxed { Masks::for_this_machine(&layout, &options.credential_files) } else { Masks::default() };

    let socket_dir = workdir.path().join("sock");
    let control_dir = workdir.path().join("control");
    fs_err::create_dir_all(&control_dir).map_err(io_error(&control_dir))?;
    let empty = control_dir.join(sandbox::EMPTY_FILE);
    fs_err::write(&empty, b"").map_err(io_error(&empty))?;
    let proxy = if sandboxed && !options.offline {
        fs_err::create_dir_all(&socket_dir).map_err(io_error(&socket_dir))?;
        let origins = options.registries.iter().filter_map(|registry| Origin::from_url(&registry.url)).collect();
        let socket = socket_dir.join("proxy.sock");
        Some(RegistryProxy::start(&socket, origins).map_err(|source| RebuildError::Proxy { path: socket, source })?)
    } else {
        None
    };
    let cache_content = match (&options.npm_cache, options.offline) {
        (Some(cache), true) => seed_cache(cache, Path::new(&host.home), sandboxed)?,
        _ => None,
    };
    let bubblewrap = match &options.sandbox {
        SandboxChoice::Bubblewrap { program } => {
            let bubblewrap = Bubblewrap {
                program: program.clone(),
                host_home: PathBuf::from(&host.home),
                layout: layout.clone(),
                tools: tools::exposure(&tools, &masks.hidden_roots()),
                masks: masks.clone(),
                init: options.init.clone(),
                socket_dir: proxy.is_some().then(|| socket_dir.clone()),
                control_dir: control_dir.clone(),
                cache_content,
                tmp_size: options.memory,
            };
            bubblewrap.probe().map_err(|reason| RebuildError::NoSandbox { program: program.clone(), reason })?;
            Some(bubblewrap)
        }
        SandboxChoice::Unsandboxed => None,
    };

    let mut env = base_env(plan, options, &layout, &tools);
    let mut extra_path: Vec<String> = Vec::new();
    let mut steps = Vec::new();
    let mut denials = Vec::new();
    let mut ignored_variables = Vec::new();
    let mut outcome = Outcome::Built;
    // The steps' GITHUB_ENV and friends, one fresh directory per step in provdiff's part of the
    // rebuild's directory, shown to the step where the runner keeps them: a build cannot leave a
    // link there for provdiff to write or read through.
    let steps_dir = workdir.path().join("steps");
    fs_err::create_dir_all(&steps_dir).map_err(io_error(&steps_dir))?;
    let commands_inside = format!("{}/_runner_file_commands", layout.temp);
    for (index, step) in plan.steps.iter().enumerate() {
        let host_dir = Path::new(&host.workspace).join(&step.dir);
        if !host_dir.is_dir() {
            let reason = format!("its working directory {:?} is not in the checkout", step.dir);
            steps.push(record(step, None, Duration::ZERO, String::new()));
            outcome = Outcome::Failed { step: index + 1, reason: format!("{}: {reason}", step.origin) };
            break;
        }
        let files = StepFiles::create(&steps_dir, sandboxed.then_some(commands_inside.as_str()), index)?;
        let mut step_env = env.clone();
        // The plan refuses what it must already; checked again here, whatever made the plan.
        let (step_vars, refused) = environment::partition(step.env.clone(), &step.origin);
        ignored_variables.extend(refused);
        step_env.extend(step_vars);
        for (name, kind) in StepFiles::VARIABLES {
            step_env.insert(name.into(), files.inside(kind));
        }
        step_env.insert("PATH".into(), path_for(step, &layout, &extra_path, &env));
        let inside_dir = join(&layout.workspace, &step.dir);
        let refused_before = proxy.as_ref().map_or(0, |proxy| proxy.refused().len());
        let env_file = EnvFile::write(&control_dir, &format!("env-{index}"), &step_env, sandboxed)?;
        let mount = files.mount();
        let place = Place { inside_dir: &inside_dir, host_dir: &host_dir, step_files: mount.as_ref() };
        let command = step_command(bubblewrap.as_ref(), options, &place, step, &env_file, proxy.is_some());
        let finished = process::run(command, deadline)?;
        let log = finished.output.text();
        let step_denials: Vec<String> = denied_lines(&log, &masks);
        let refused_now: Vec<String> =
            proxy.as_ref().map(|proxy| proxy.refused().split_off(refused_before)).unwrap_or_default();
        denials.extend(step_denials.iter().cloned());
        let StepOutput { env: new_env, paths: new_path, refused: not_read } = files.read(&step.origin)?;
        denials.extend(not_read);
        let (new_env, refused) = environment::partition(new_env, &format!("{} through GITHUB_ENV", step.origin));
        ignored_variables.extend(refused);
        env.extend(new_env);
        for dir in new_path.into_iter().rev() {
            extra_path.insert(0, dir);
        }
        let exit = finished.exit;
        steps.push(record(step, Some(exit), finished.elapsed, log));
        if !exit.success() {
            let mut reason = format!("{} {exit}", step.origin);
            if exit == Exit::TimedOut {
                reason = format!("{reason} ({} s for the whole build)", options.timeout.as_secs());
            }
            let refused: Vec<String> =
                step_denials.into_iter().chain(refused_now.iter().map(|r| format!("refused {r}"))).collect();
            outcome = if refused.is_empty() {
                Outcome::Failed { step: index + 1, reason }
            } else {
                Outcome::RefusedBySandbox {
                    step: index + 1,
                    reason: format!("{reason}; the sandbox refused: {}", refused.join("; ")),
                }
            };
            break;
        }
    }
    let (mut node_version, mut npm_version) = (None, None);
    if outcome == Outcome::Built {
        let probe = PlanStep {
            origin: "tool versions".into(),
            script: "node --version && npm --version".into(),
            shell: Shell::Sh,
            dir: String::new(),
            env: BTreeMap::new(),
            npm_bin_path: false,
        };
        let mut probe_env = env.clone();
        probe_env.insert("PATH".into(), path_for(&probe, &layout, &extra_path, &env));
        let env_file = EnvFile::write(&control_dir, "env-tool-versions", &probe_env, sandboxed)?;
        let place = Place { inside_dir: &layout.workspace, host_dir: Path::new(&host.workspace), step_files: None };
        let command = step_command(bubblewrap.as_ref(), options, &place, &probe, &env_file, false);
        let finished = process::run(command, Instant::now() + Duration::from_secs(60))?;
        if finished.exit.success() {
            let text = finished.output.text();
            let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
            node_version = lines.next().map(|v| v.trim_start_matches('v').to_string());
            npm_version = lines.next().map(str::to_string);
        }
    }
    let refused_connections = proxy.as_ref().map(RegistryProxy::refused).unwrap_or_default();
    Ok(BuildRecord {
        sandbox: match &options.sandbox {
            SandboxChoice::Bubblewrap { program } => format!(
                "bubblewrap ({}): read-only root, writable checkout and build home, the user's home and /root \
                 hidden, no capabilities, own user, PID and network namespaces",
                program.display()
            ),
            SandboxChoice::Unsandboxed => "none (--unsandboxed)".into(),
        },
        network: network_description(options, sandboxed),
        layout,
        time_limit_seconds: options.timeout.as_secs(),
        memory_limit_bytes: options.memory,
        steps,
        node_version,
        npm_version,
        refused_connections,
        denials,
        ignored_variables,
        seconds: start.elapsed().as_secs_f64(),
        outcome,
    })
}

fn network_description(options: &RebuildOptions, sandboxed: bool) -> String {
    let origins: Vec<String> = options
        .registries
        .iter()
        .filter_map(|registry| Origin::from_url(&registry.url))
        .map(|origin| format!("{}:{}", origin.host, origin.port))
        .collect();
    match (options.offline, sandboxed) {
        (true, true) => match &options.npm_cache {
            Some(cache) => format!("none (offline; dependencies from the npm cache {})", cache.display()),
            None => "none (offline)".into(),
        },
        (true, false) => format!(
            "unrestricted (--unsandboxed): npm was told to work offline{}, but nothing kept the build off the \
             network",
            match &options.npm_cache {
                Some(cache) => format!(", from a copy of the npm cache {}", cache.display()),
                None => String::new(),
            }
        ),
        (false, true) => format!("the package registry only ({}), through provdiff's proxy", origins.join(", ")),
        (false, false) => "unrestricted (--unsandboxed)".into(),
    }
}

fn record(step: &PlanStep, exit: Option<Exit>, elapsed: Duration, log: String) -> StepRecord {
    StepRecord {
        origin: step.origin.clone(),
        dir: step.dir.clone(),
        script: step.script.clone(),
        exit,
        seconds: elapsed.as_secs_f64(),
        log,
    }
}

/// Where a step runs: its directory inside the sandbox and on the host, and its directory of
/// GitHub step files to mount (`(host, inside)`).
struct Place<'a> {
    inside_dir: &'a str,
    host_dir: &'a Path,
    step_files: Option<&'a (PathBuf, String)>,
}

fn step_command(
    bubblewrap: Option<&Bubblewrap>,
    options: &RebuildOptions,
    place: &Place<'_>,
    step: &PlanStep,
    env_file: &EnvFile,
    with_proxy: bool,
) -> Command {
    let shell: Vec<OsString> = match step.shell {
        Shell::Bash => ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"].map(OsString::from).to_vec(),
        Shell::Sh => ["sh", "-e", "-c"].map(OsString::from).to_vec(),
    };
    let mut argv = shell;
    argv.push(step.script.clone().into());
    let init = InitArgs {
        memory: Some(options.memory),
        proxy_socket: with_proxy.then(|| PathBuf::from(format!("{SOCKET_DIR}/proxy.sock"))),
        env_file: Some(env_file.as_init_sees_it.clone()),
        command: argv,
    };
    // Neither bubblewrap nor (without a sandbox) the init gets the step's variables in its own
    // environment: the init reads them from the file and gives them to the step's shell alone.
    match bubblewrap {
        Some(bubblewrap) => bubblewrap.command(place.inside_dir, &init, place.step_files),
        None => {
            let mut command = Command::new(options.init.first().cloned().unwrap_or_default());
            command.args(options.init.iter().skip(1)).args(init.to_args()).current_dir(place.host_dir).env_clear();
            command
        }
    }
}

/// A step's environment file, written where the init finds it.
struct EnvFile {
    as_init_sees_it: PathBuf,
}

impl EnvFile {
    fn write(
        control_dir: &Path,
        name: &str,
        env: &BTreeMap<String, String>,
        sandboxed: bool,
    ) -> Result<Self, RebuildError> {
        let host = control_dir.join(name);
        environment::write_file(&host, env).map_err(io_error(&host))?;
        let as_init_sees_it = if sandboxed { Path::new(CONTROL_DIR).join(name) } else { host };
        Ok(Self { as_init_sees_it })
    }
}

/// The environment every step starts from: the runner's variables from the plan, the build's home,
/// and npm pointed at the registries, a cache and a global prefix inside the build's home.
fn base_env(
    plan: &BuildPlan,
    options: &RebuildOptions,
    layout: &Layout,
    tools: &[PathBuf],
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = plan.env.clone();
    let home = &layout.home;
    for (name, value) in [
        ("HOME", home.clone()),
        ("USER", "runner".into()),
        ("LOGNAME", "runner".into()),
        ("LANG", "C.UTF-8".into()),
        ("TZ", "UTC".into()),
        ("npm_config_cache", format!("{home}/.npm")),
        ("npm_config_prefix", format!("{home}/.npm-global")),
        ("npm_config_update_notifier", "false".into()),
        ("npm_config_fund", "false".into()),
        ("npm_config_audit", "false".into()),
        ("COREPACK_HOME", format!("{home}/.cache/node/corepack")),
        ("COREPACK_ENABLE_DOWNLOAD_PROMPT", "0".into()),
    ] {
        env.insert(name.to_string(), value);
    }
    let sandboxed = matches!(options.sandbox, SandboxChoice::Bubblewrap { .. });
    if !sandboxed {
        // Without a sandbox the build reaches the network as the user does.
        for name in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"] {
            if let Ok(value) = std::env::var(name) {
                env.insert(name.to_string(), value);
            }
        }
    }
    if options.offline {
        // The cache is the build home's `.npm`, seeded from `npm_cache` (see `seed_cache`).
        env.insert("npm_config_offline".into(), "true".into());
    }
    if let Some(ca_file) = &options.ca_file {
        let ca_file = ca_file.to_string_lossy().into_owned();
        env.insert("npm_config_cafile".into(), ca_file.clone());
        // Node.js's own trust store, which yarn berry's requests use too.
        env.insert("NODE_EXTRA_CA_CERTS".into(), ca_file);
    }
    // npm, pnpm and yarn 1 read `npm_config_*`; yarn berry reads only its own `YARN_*` settings,
    // refuses plain HTTP to a host it is not told about, and fails on a `YARN_*` setting its
    // version does not know — so only settings every berry has are set (not `caFilePath`, which
    // berry 4 renamed, nor `enableTelemetry` or `enableOfflineMode`, which older ones lack).
    // Berry's per-scope registries (`npmScopes`) have no variable: scoped packages reach it only
    // through the default registry.
    let mut plain_http_hosts: Vec<String> = Vec::new();
    for registry in &options.registries {
        match &registry.scope {
            None => {
                let trimmed = registry.url.trim_end_matches('/').to_string();
                env.insert("npm_config_registry".into(), registry.url.clone());
                env.insert("YARN_NPM_REGISTRY_SERVER".into(), trimmed.clone());
                env.insert("COREPACK_NPM_REGISTRY".into(), trimmed);
            }
            Some(scope) => {
                env.insert(format!("npm_config_{scope}:registry"), registry.url.clone());
            }
        }
        if registry.url.to_ascii_lowercase().starts_with("http://")
            && let Some(origin) = Origin::from_url(&registry.url)
            && !plain_http_hosts.contains(&origin.host)
        {
            plain_http_hosts.push(origin.host);
        }
    }
    if !plain_http_hosts.is_empty() {
        env.insert("YARN_UNSAFE_HTTP_WHITELIST".into(), plain_http_hosts.join(","));
    }
    let mut path: Vec<String> = vec![format!("{home}/.npm-global/bin")];
    for tool in tools {
        if let Some(dir) = tool.parent().map(|dir| dir.to_string_lossy().into_owned())
            && !path.contains(&dir)
        {
            path.push(dir);
        }
    }
    for dir in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        if !path.iter().any(|existing| existing == dir) {
            path.push(dir.to_string());
        }
    }
    env.insert("PATH".into(), path.join(":"));
    env
}

/// The step's `PATH`: what earlier steps added through `GITHUB_PATH`, `node_modules/.bin` of the
/// step's directory and its parents for package-script steps, then the base.
fn path_for(step: &PlanStep, layout: &Layout, extra: &[String], env: &BTreeMap<String, String>) -> String {
    let mut path: Vec<String> = extra.to_vec();
    if step.npm_bin_path {
        let mut dir = step.dir.clone();
        loop {
            path.push(format!("{}/node_modules/.bin", join(&layout.workspace, &dir)));
            if dir.is_empty() {
                break;
            }
            dir = dir.rsplit_once('/').map(|(parent, _)| parent.to_string()).unwrap_or_default();
        }
    }
    if let Some(base) = env.get("PATH") {
        path.push(base.clone());
    }
    path.join(":")
}

/// An offline build's npm cache, in the build home's `.npm`, so that the build never writes to
/// `cache`: the index is copied (npm writes to it even offline); in the sandbox the content is
/// mounted read-only from `cache` (the returned directory), and without one, where nothing can be
/// mounted read-only, it is copied too.
fn seed_cache(cache: &Path, host_home: &Path, sandboxed: bool) -> Result<Option<PathBuf>, RebuildError> {
    let source = cache.join("_cacache");
    let target = host_home.join(".npm/_cacache");
    let index = source.join("index-v5");
    if index.is_dir() {
        copy_dir(&index, &target.join("index-v5"))?;
    }
    let content = source.join("content-v2");
    if !content.is_dir() {
        return Ok(None);
    }
    if !sandboxed {
        copy_dir(&content, &target.join("content-v2"))?;
        return Ok(None);
    }
    let mount_point = target.join("content-v2");
    fs_err::create_dir_all(&mount_point).map_err(io_error(&mount_point))?;
    Ok(Some(content))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), RebuildError> {
    fs_err::create_dir_all(to).map_err(io_error(to))?;
    for entry in fs_err::read_dir(from).map_err(io_error(from))? {
        let entry = entry.map_err(io_error(from))?;
        let kind = entry.file_type().map_err(io_error(&entry.path()))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            fs_err::copy(entry.path(), &target).map_err(io_error(&target))?;
        }
    }
    Ok(())
}

/// GitHub's step files (`GITHUB_ENV`, `GITHUB_PATH`, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`) of one
/// step: a fresh directory of empty files in provdiff's part of the rebuild's directory, mounted
/// where the runner keeps them; read back only as the regular files they were made, never through
/// a link the build put in their place.
struct StepFiles {
    host_dir: PathBuf,
    /// Where the build sees `host_dir`.
    inside_dir: String,
    index: usize,
}

impl StepFiles {
    const VARIABLES: [(&'static str, &'static str); 4] = [
        ("GITHUB_ENV", "set_env"),
        ("GITHUB_PATH", "add_path"),
        ("GITHUB_OUTPUT", "set_output"),
        ("GITHUB_STEP_SUMMARY", "step_summary"),
    ];
    /// The most of a step file read back.
    const MAX_BYTES: u64 = 16 << 20;

    /// `inside_dir`: where the sandbox shows the directory; `None` without a sandbox (the build
    /// then uses the host's paths).
    fn create(steps_dir: &Path, inside_dir: Option<&str>, index: usize) -> Result<Self, RebuildError> {
        let host_dir = steps_dir.join(index.to_string());
        fs_err::create_dir(&host_dir).map_err(io_error(&host_dir))?;
        let files = Self {
            inside_dir: inside_dir.map_or_else(|| host_dir.to_string_lossy().into_owned(), str::to_string),
            host_dir,
            index,
        };
        for (_, kind) in Self::VARIABLES {
            let path = files.host(kind);
            std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(io_error(&path))?;
        }
        Ok(files)
    }

    fn name(&self, kind: &str) -> String {
        format!("{kind}_{}", self.index)
    }

    fn host(&self, kind: &str) -> PathBuf {
        self.host_dir.join(self.name(kind))
    }

    /// The path the build is given for one of the files.
    fn inside(&self, kind: &str) -> String {
        format!("{}/{}", self.inside_dir, self.name(kind))
    }

    /// The bind mount that shows the directory to the step: `(host, inside)`.
    fn mount(&self) -> Option<(PathBuf, String)> {
        (self.inside_dir != self.host_dir.to_string_lossy()).then(|| (self.host_dir.clone(), self.inside_dir.clone()))
    }

    /// What the step added (see [`StepOutput`]).
    fn read(&self, origin: &str) -> Result<StepOutput, RebuildError> {
        let mut refused = Vec::new();
        let mut read = |variable: &str, kind: &str| -> Result<String, RebuildError> {
            let path = self.host(kind);
            let meta = match fs_err::symlink_metadata(&path) {
                Ok(meta) => meta,
                // Removed: nothing to add, as on GitHub.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
                Err(error) => return Err(RebuildError::Io { path, source: error }),
            };
            if !meta.is_file() {
                refused.push(format!("{origin} replaced {variable} with a link or another non-file; not read"));
                return Ok(String::new());
            }
            if meta.len() > Self::MAX_BYTES {
                refused.push(format!("{origin} wrote {} bytes to {variable}, more than is read", meta.len()));
                return Ok(String::new());
            }
            let bytes = fs_err::read(&path).map_err(io_error(&path))?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        let env = read("GITHUB_ENV", "set_env")?;
        let path = read("GITHUB_PATH", "add_path")?;
        let paths = path.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_string).collect();
        Ok(StepOutput { env: parse_env_file(&env), paths, refused })
    }
}

/// What a step wrote to its GitHub files.
struct StepOutput {
    /// `GITHUB_ENV`'s variables.
    env: BTreeMap<String, String>,
    /// `GITHUB_PATH`'s directories.
    paths: Vec<String>,
    /// What was not read (a file the step replaced with a link, a FIFO or something huge), to
    /// report as refused.
    refused: Vec<String>,
}

/// `NAME=value` lines and `NAME<<DELIMITER` blocks, as GitHub reads `GITHUB_ENV`.
fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for inner in lines.by_ref() {
                if inner == delimiter {
                    break;
                }
                value.push(inner);
            }
            env.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            env.insert(name.to_string(), value.to_string());
        }
    }
    env
}

/// Lines of build output showing that the sandbox refused a write (a read-only file system) or a
/// read of something it hides.
fn denied_lines(log: &str, masks: &Masks) -> Vec<String> {
    log.lines()
        .filter(|line| {
            line.contains("EROFS")
                || line.contains("Read-only file system")
                || ((line.contains("EACCES") || line.contains("Permission denied") || line.contains("EPERM"))
                    && masks.mentioned_in(line))
        })
        .map(|line| line.trim().chars().take(300).collect())
        .take(20)
        .collect()
}

fn join(dir: &str, relative: &str) -> String {
    if relative.is_empty() { dir.to_string() } else { format!("{dir}/{relative}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_env_files() {
        let env = parse_env_file("A=1\nB=x=y\nMULTI<<EOF\nline 1\nline 2\nEOF\nPATH=/evil\nC=3\n");
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "x=y");
        assert_eq!(env["MULTI"], "line 1\nline 2");
        assert_eq!(env["C"], "3");
        let (kept, ignored) = environment::partition(env, "step 1 through GITHUB_ENV");
        assert!(!kept.contains_key("PATH"), "PATH changes only through GITHUB_PATH");
        assert_eq!(ignored[0].name, "PATH");
    }

    #[test]
    fn no_process_outside_the_sandbox_gets_the_step_s_variables() {
        let layout = Layout::new("/home/runner", "https://github.com/o/r");
        let bubblewrap = Bubblewrap {
            program: "bwrap".into(),
            host_home: "/tmp/r/home".into(),
            layout: layout.clone(),
            masks: Masks::default(),
            init: vec!["/usr/bin/provdiff".into(), "__rebuild-init".into()],
            socket_dir: None,
            control_dir: "/tmp/r/control".into(),
            cache_content: None,
            tools: tools::ToolExposure::default(),
            tmp_size: 1 << 20,
        };
        let options = RebuildOptions {
            sandbox: SandboxChoice::Bubblewrap { program: "bwrap".into() },
            registries: vec![],
            ca_file: None,
            credential_files: vec![],
            offline: true,
            npm_cache: None,
            timeout: Duration::from_secs(1),
            memory: 1 << 20,
            init: bubblewrap.init.clone(),
        };
        let step = PlanStep {
            origin: "step 2".into(),
            script: "true".into(),
            shell: Shell::Sh,
            dir: String::new(),
            env: BTreeMap::from([("LD_PRELOAD".to_string(), "/x.so".to_string())]),
            npm_bin_path: false,
        };
        let env_file = EnvFile { as_init_sees_it: PathBuf::from(format!("{CONTROL_DIR}/env-1")) };
        for sandbox in [Some(&bubblewrap), None] {
            let place = Place { inside_dir: &layout.workspace, host_dir: Path::new("/tmp"), step_files: None };
            let command = step_command(sandbox, &options, &place, &step, &env_file, false);
            assert_eq!(command.get_envs().count(), 0, "the environment starts empty and stays so");
            let args: Vec<String> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
            assert!(args.join(" ").contains("--env-file /run/provdiff/control/env-1 -- sh -e -c true"), "{args:?}");
            assert!(!args.iter().any(|arg| arg.contains("LD_PRELOAD")));
        }
    }

    #[test]
    fn every_package_manager_is_pointed_at_the_registries() {
        let layout = Layout::new("/home/runner", "https://github.com/o/r");
        let plan = BuildPlan {
            source: crate::plan::PlanSource::Lifecycle { reason: String::new() },
            package_manager: crate::plan::PackageManager {
                kind: crate::plan::PackageManagerKind::YarnBerry,
                version: None,
                detected_by: String::new(),
            },
            lockfile: None,
            node: None,
            npm: None,
            steps: vec![],
            env: BTreeMap::new(),
            findings: vec![],
        };
        let options = RebuildOptions {
            sandbox: SandboxChoice::Bubblewrap { program: "bwrap".into() },
            registries: vec![
                RegistryUrl { scope: None, url: "http://127.0.0.1:4873/npm/".into() },
                RegistryUrl { scope: Some("@corp".into()), url: "https://npm.corp.test/".into() },
            ],
            ca_file: Some("/etc/corp-ca.pem".into()),
            credential_files: vec![],
            offline: false,
            npm_cache: None,
            timeout: Duration::from_secs(1),
            memory: 1 << 20,
            init: vec![],
        };
        let env = base_env(&plan, &options, &layout, &[]);
        let get = |name: &str| env.get(name).map(String::as_str);
        assert_eq!(get("npm_config_registry"), Some("http://127.0.0.1:4873/npm/"));
        assert_eq!(get("npm_config_@corp:registry"), Some("https://npm.corp.test/"));
        assert_eq!(get("YARN_NPM_REGISTRY_SERVER"), Some("http://127.0.0.1:4873/npm"));
        assert_eq!(get("YARN_UNSAFE_HTTP_WHITELIST"), Some("127.0.0.1"));
        assert_eq!(get("NODE_EXTRA_CA_CERTS"), Some("/etc/corp-ca.pem"));
        assert_eq!(get("COREPACK_NPM_REGISTRY"), Some("http://127.0.0.1:4873/npm"));
        // Berry fails on settings its version does not know: only those every berry has.
        let yarn: Vec<&String> = env.keys().filter(|name| name.starts_with("YARN_")).collect();
        assert_eq!(yarn, ["YARN_NPM_REGISTRY_SERVER", "YARN_UNSAFE_HTTP_WHITELIST"]);
    }

    #[test]
    fn denials_are_read_only_writes_and_hidden_reads() {
        let masks = Masks { dirs: vec!["/root".into()], files: vec![] };
        let log = "ok\nsh: 1: cannot create /usr/x: Read-only file system\nError: EACCES: permission denied, open '/root/.npmrc'\nPermission denied: ./script.sh\n";
        assert_eq!(denied_lines(log, &masks).len(), 2);
    }

    #[test]
    fn package_script_steps_see_node_modules_bin() {
        let layout = Layout::new("/home/runner", "https://github.com/o/r");
        let step = PlanStep {
            origin: "x".into(),
            script: "tsc".into(),
            shell: Shell::Sh,
            dir: "packages/a".into(),
            env: BTreeMap::new(),
            npm_bin_path: true,
        };
        let env = BTreeMap::from([("PATH".to_string(), "/usr/bin".to_string())]);
        assert_eq!(
            path_for(&step, &layout, &["/added".into()], &env),
            "/added:/home/runner/work/r/r/packages/a/node_modules/.bin:/home/runner/work/r/r/packages/node_modules/.bin:\
             /home/runner/work/r/r/node_modules/.bin:/usr/bin"
        );
    }
}

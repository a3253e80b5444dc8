//! The registry configuration, resolved as npm resolves it.
//!
//! Sources, highest priority first: the explicit `--registry` value, `npm_config_*` environment
//! variables (prefix in any case), the project `.npmrc`, the user `.npmrc`, the global `npmrc`.
//! For each key the first source that sets it wins. When none sets `registry`, `npm config get
//! registry` is asked (one spawned process), which also covers npm's built-in configuration.
//!
//! - The project file is `.npmrc` in npm's *local prefix*: the nearest directory, from the given
//!   one upwards, holding a `package.json` or a `node_modules` directory; when that directory is a
//!   workspace of a root further up, the root's. It is skipped when it is the user file.
//! - The user file is `userconfig` (from the environment or the project file), else
//!   `$HOME/.npmrc`.
//! - The global file is `globalconfig` (from the environment, project or user file), else
//!   `PREFIX/etc/npmrc` with `PREFIX` from the `prefix` setting, the `PREFIX` variable, or the
//!   directory above the `bin` directory of the `node` found on `PATH` (under `DESTDIR` if set).
//! - Keys and values undergo npm's `${VAR}` expansion.
//! - Credentials (`//host[:port]/path/:_authToken`, `:_auth`, `:username` with `:_password`) are
//!   matched to a request URL npm's way: the longest `//host:port/path` prefix of the URL that
//!   has credentials, walking up one path segment (or trailing slash) at a time; failing that,
//!   the package's registry's credentials when the URL is on the registry's host and port.
//! - Proxies: `https-proxy`, else `proxy`, else the `https_proxy` variable (for http URLs also
//!   `http_proxy`, then `proxy`); `noproxy`, else `no_proxy`, lists host suffixes to reach
//!   directly. Variable names are matched in any case, lower case winning.
//!
//! Resolution takes its inputs explicitly ([`ConfigInputs`]) so that tests are hermetic.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use reqwest::Url;

use crate::npmrc;
use crate::spec::PackageName;

/// Everything configuration resolution reads, passed in rather than taken from the process.
#[derive(Debug, Clone)]
pub struct ConfigInputs {
    /// The `--registry` value, the highest-priority source.
    pub registry: Option<String>,
    /// The environment: `npm_config_*`, proxies, `PATH` (to find `npm` and `node`), `PREFIX`,
    /// `DESTDIR`, and the variables `${VAR}` expands.
    pub env: BTreeMap<String, String>,
    /// The user's home directory (`$HOME`), where the user `.npmrc` lives by default.
    pub home: Option<PathBuf>,
    /// The directory the project `.npmrc` is searched from. Should be absolute.
    pub cwd: PathBuf,
    /// Whether to run `npm config get registry` when no source sets a registry.
    pub ask_npm: bool,
}

impl ConfigInputs {
    /// The inputs of the running process: its environment (variables that are not UTF-8 are
    /// skipped), `$HOME` and its working directory.
    pub fn from_process(registry: Option<String>) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        let home = env.get("HOME").filter(|home| !home.is_empty()).map(PathBuf::from);
        let cwd = std::env::current_dir().map_err(|source| ConfigError::CurrentDir { source })?;
        Ok(Self { registry, env, home, cwd, ask_npm: true })
    }
}

/// Which configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    Project,
    User,
    Global,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Project => "project",
            Layer::User => "user",
            Layer::Global => "global",
        })
    }
}

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// The explicit `--registry` value.
    Flag,
    /// An environment variable.
    Env { variable: String },
    /// A line of an npmrc file.
    File { layer: Layer, path: PathBuf, line: usize },
    /// The answer of `npm config get registry`.
    Npm,
    /// Set in code ([`RegistryConfig::for_registry`]).
    Code,
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigSource::Flag => f.write_str("--registry"),
            ConfigSource::Env { variable } => write!(f, "environment variable {variable}"),
            ConfigSource::File { layer, path, line } => write!(f, "{layer} config {}:{line}", path.display()),
            ConfigSource::Npm => f.write_str("`npm config get registry`"),
            ConfigSource::Code => f.write_str("the caller"),
        }
    }
}

/// A configuration file that was looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    pub layer: Layer,
    pub path: PathBuf,
    pub status: FileStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Read,
    Missing,
    /// The project file is the user file; npm reads it once, as the user file.
    SameAsUser,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the current directory")]
    CurrentDir {
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {layer} config {}", path.display())]
    Read {
        layer: Layer,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{key} from {origin}: {value:?} is not an http(s) URL")]
    InvalidUrl { key: String, value: String, origin: ConfigSource },
    #[error("{key} from {origin}: the password is not base64")]
    InvalidPassword { key: String, origin: ConfigSource },
    #[error("no registry is configured and npm was not found on PATH to ask; pass --registry URL")]
    NpmNotFound,
    #[error("no registry is configured; pass --registry URL")]
    NoRegistry,
    #[error("no registry is configured and `npm config get registry` could not run ({})", program.display())]
    NpmSpawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no registry is configured and `npm config get registry` failed ({status}): {stderr}")]
    NpmFailed { status: String, stderr: String },
}

/// A registry and where its URL came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// The registry's base URL, always ending in `/`.
    pub url: Url,
    pub source: ConfigSource,
}

/// Credentials for one request, found under the `//host[:port]/path/` key `key`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The configuration key's prefix that matched, e.g. `//127.0.0.1:4873/`.
    pub key: String,
    /// `Bearer TOKEN` or `Basic BASE64`: the `Authorization` header's value.
    authorization: String,
}

impl Credentials {
    /// The value of the `Authorization` header.
    pub fn authorization(&self) -> &str {
        &self.authorization
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.authorization.split(' ').next().unwrap_or_default();
        f.debug_struct("Credentials").field("key", &self.key).field("scheme", &scheme).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct Setting {
    value: String,
    source: ConfigSource,
}

/// npm's registry configuration. See the module documentation for how it is resolved.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    registry: Registry,
    scopes: BTreeMap<String, Registry>,
    settings: BTreeMap<String, Setting>,
    env_proxies: EnvProxies,
    files: Vec<ConfigFile>,
    /// For settings that are paths: `~/` is the home directory, relative paths the directory
    /// configuration was resolved from.
    home: Option<PathBuf>,
    cwd: PathBuf,
}

#[derive(Debug, Clone, Default)]
struct EnvProxies {
    https: Option<String>,
    http: Option<String>,
    proxy: Option<String>,
    no_proxy: Option<String>,
}

impl RegistryConfig {
    /// Resolves the configuration from explicit inputs. See the module documentation.
    pub fn resolve(inputs: &ConfigInputs) -> Result<Self, ConfigError> {
        let mut layers: Vec<Vec<(String, Setting)>> = Vec::new();
        if let Some(registry) = &inputs.registry {
            layers
                .push(vec![("registry".into(), Setting { value: registry.trim().into(), source: ConfigSource::Flag })]);
        }
        layers.push(env_layer(&inputs.env));
        let lookup = |layers: &[Vec<(String, Setting)>], key: &str| -> Option<Setting> {
            layers.iter().find_map(|layer| layer.iter().rev().find(|(k, _)| k == key).map(|(_, s)| s.clone()))
        };

        let mut files = Vec::new();
        let home = inputs.home.clone();
        let resolve_path = |value: &str| -> PathBuf {
            match (value.strip_prefix("~/"), &home) {
                (Some(rest), Some(home)) => home.join(rest),
                _ => inputs.cwd.join(value),
            }
        };

        let user_path = lookup(&layers, "userconfig")
            .map(|s| resolve_path(&s.value))
            .or_else(|| home.as_ref().map(|home| home.join(".npmrc")));
        let project_path = project_dir(&inputs.cwd).join(".npmrc");
        if Some(&project_path) == user_path.as_ref() {
            files.push(ConfigFile { layer: Layer::Project, path: project_path, status: FileStatus::SameAsUser });
        } else {
            layers.push(read_layer(Layer::Project, &project_path, &inputs.env, &mut files)?);
        }

        // The project file may set `userconfig`; npm honours that.
        let user_path = lookup(&layers, "userconfig")
            .map(|s| resolve_path(&s.value))
            .or_else(|| home.as_ref().map(|home| home.join(".npmrc")));
        if let Some(path) = user_path {
            layers.push(read_layer(Layer::User, &path, &inputs.env, &mut files)?);
        }

        let global_path = match lookup(&layers, "globalconfig") {
            Some(setting) => Some(resolve_path(&setting.value)),
            None => lookup(&layers, "prefix")
                .filter(|s| !matches!(s.source, ConfigSource::File { layer: Layer::Project, .. }))
                .map(|s| resolve_path(&s.value))
                .or_else(|| default_global_prefix(&inputs.env))
                .map(|prefix| prefix.join("etc").join("npmrc")),
        };
        if let Some(path) = global_path {
            layers.push(read_layer(Layer::Global, &path, &inputs.env, &mut files)?);
        }

        let mut settings: BTreeMap<String, Setting> = BTreeMap::new();
        for layer in layers.iter().rev() {
            for (key, setting) in layer {
                settings.insert(key.clone(), setting.clone());
            }
        }

        let registry = match settings.get("registry") {
            Some(setting) => registry_url("registry", setting)?,
            None if inputs.ask_npm => {
                let answer = ask_npm(inputs)?;
                registry_url("registry", &Setting { value: answer, source: ConfigSource::Npm })?
            }
            None => return Err(ConfigError::NoRegistry),
        };
        let mut scopes = BTreeMap::new();
        for (key, setting) in &settings {
            if let Some(scope) = key.strip_suffix(":registry").filter(|scope| scope.starts_with('@')) {
                scopes.insert(scope.to_string(), registry_url(key, setting)?);
            }
            if key.starts_with("//") && key.ends_with(":_password") {
                decode_password(&setting.value)
                    .ok_or_else(|| ConfigError::InvalidPassword { key: key.clone(), origin: setting.source.clone() })?;
            }
        }
        for key in ["proxy", "https-proxy"] {
            if let Some(setting) = settings.get(key).filter(|s| is_set(&s.value)) {
                registry_url(key, setting)?;
            }
        }
        let env_proxies = env_proxies(&inputs.env);
        for (name, value) in
            [("https_proxy", &env_proxies.https), ("http_proxy", &env_proxies.http), ("proxy", &env_proxies.proxy)]
        {
            if let Some(value) = value {
                let source = ConfigSource::Env { variable: name.to_string() };
                registry_url(name, &Setting { value: value.clone(), source })?;
            }
        }
        Ok(Self { registry, scopes, settings, env_proxies, files, home: inputs.home.clone(), cwd: inputs.cwd.clone() })
    }

    /// Resolves the configuration from the running process's environment, home and working
    /// directory, asking npm when nothing sets a registry.
    pub fn from_process(registry: Option<String>) -> Result<Self, ConfigError> {
        Self::resolve(&ConfigInputs::from_process(registry)?)
    }

    /// A configuration with just a registry URL and no credentials, proxies or scopes.
    pub fn for_registry(url: &str) -> Result<Self, ConfigError> {
        let registry = registry_url("registry", &Setting { value: url.to_string(), source: ConfigSource::Code })?;
        Ok(Self {
            registry,
            scopes: BTreeMap::new(),
            settings: BTreeMap::new(),
            env_proxies: EnvProxies::default(),
            files: Vec::new(),
            home: None,
            cwd: PathBuf::new(),
        })
    }

    /// The default registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The registry a package is fetched from: its scope's `@scope:registry`, else the default.
    pub fn registry_for(&self, name: &PackageName) -> &Registry {
        name.scope().and_then(|scope| self.scopes.get(scope)).unwrap_or(&self.registry)
    }

    /// The scopes with a registry of their own (`@scope:registry`), by scope.
    pub fn scoped_registries(&self) -> impl Iterator<Item = (&str, &Registry)> {
        self.scopes.iter().map(|(scope, registry)| (scope.as_str(), registry))
    }

    /// The configuration files that were looked for, in priority order.
    pub fn files(&self) -> &[ConfigFile] {
        &self.files
    }

    /// A setting's value and source (after `${VAR}` expansion), for diagnostics.
    pub fn get(&self, key: &str) -> Option<(&str, &ConfigSource)> {
        self.settings.get(key).map(|s| (s.value.as_str(), &s.source))
    }

    /// The credentials npm would send with a request for `url` made on behalf of a package whose
    /// registry is `registry` (see the module documentation), or `None`.
    pub fn credentials_for(&self, url: &Url, registry: &Url) -> Option<Credentials> {
        self.credentials_at(url).or_else(|| {
            let same_host = url.host_str() == registry.host_str()
                && url.port_or_known_default() == registry.port_or_known_default();
            (url != registry && same_host).then(|| self.credentials_at(registry)).flatten()
        })
    }

    fn credentials_at(&self, url: &Url) -> Option<Credentials> {
        let host = url.host_str()?;
        let mut key = match url.port() {
            Some(port) => format!("//{host}:{port}{}", url.path()),
            None => format!("//{host}{}", url.path()),
        };
        while key.len() > 2 {
            let get = |name: &str| {
                self.settings.get(&format!("{key}:{name}")).map(|s| s.value.as_str()).filter(|v| is_set(v))
            };
            if let Some(token) = get("_authToken") {
                return Some(Credentials { key, authorization: format!("Bearer {token}") });
            }
            if let Some(auth) = get("_auth") {
                return Some(Credentials { key, authorization: format!("Basic {auth}") });
            }
            if let (Some(username), Some(password)) = (get("username"), get("_password")) {
                let password = decode_password(password)?;
                let basic = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
                return Some(Credentials { key, authorization: format!("Basic {basic}") });
            }
            // Walk up: drop the last segment, or the trailing slash.
            if key.ends_with('/') {
                key.pop();
            } else {
                let cut = key.rfind('/').map_or(0, |slash| slash + 1);
                key.truncate(cut);
            }
        }
        None
    }

    /// The proxy npm would use for `url`, or `None` to connect directly.
    pub fn proxy_for(&self, url: &Url) -> Option<Url> {
        let configured = ["https-proxy", "proxy"]
            .iter()
            .find_map(|key| self.settings.get(*key).map(|s| s.value.clone()).filter(|v| is_set(v)));
        let from_env = || match url.scheme() {
            "https" => self.env_proxies.https.clone(),
            _ => self
                .env_proxies
                .https
                .clone()
                .or_else(|| self.env_proxies.http.clone())
                .or_else(|| self.env_proxies.proxy.clone()),
        };
        let proxy = configured.or_else(from_env)?;
        let no_proxy = self
            .settings
            .get("noproxy")
            .map(|s| s.value.clone())
            .filter(|v| is_set(v))
            .or_else(|| self.env_proxies.no_proxy.clone())
            .unwrap_or_default();
        let host = url.host_str()?;
        if bypasses_proxy(host, &no_proxy) {
            return None;
        }
        Url::parse(&proxy).ok()
    }

    /// The `cafile` setting: a PEM file of certificate authorities to trust besides the
    /// platform's, for registries behind a private CA.
    pub fn ca_file(&self) -> Option<(PathBuf, &ConfigSource)> {
        let setting = self.settings.get("cafile").filter(|s| is_set(&s.value))?;
        let path = match (setting.value.strip_prefix("~/"), &self.home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => self.cwd.join(&setting.value),
        };
        Some((path, &setting.source))
    }
}

fn is_set(value: &str) -> bool {
    !matches!(value, "" | "null" | "false" | "undefined")
}

/// npm's no-proxy rule: an entry matches a host whose trailing dot-separated labels equal the
/// entry's (`example.test` matches `a.example.test`).
fn bypasses_proxy(host: &str, no_proxy: &str) -> bool {
    let host_labels: Vec<&str> = host.split('.').rev().collect();
    no_proxy.split(',').map(str::trim).filter(|entry| !entry.is_empty()).any(|entry| {
        let labels: Vec<&str> = entry.split('.').filter(|l| !l.is_empty()).rev().collect();
        !labels.is_empty() && labels.iter().enumerate().all(|(i, label)| host_labels.get(i) == Some(label))
    })
}

/// Node's `Buffer.from(s, 'base64')` is lenient about padding and the URL-safe alphabet.
fn decode_password(encoded: &str) -> Option<String> {
    let cleaned: String = encoded.trim_end_matches('=').replace('-', "+").replace('_', "/");
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned).ok()?;
    String::from_utf8(bytes).ok()
}

fn registry_url(key: &str, setting: &Setting) -> Result<Registry, ConfigError> {
    let error = || ConfigError::InvalidUrl {
        key: key.to_string(),
        value: setting.value.clone(),
        origin: setting.source.clone(),
    };
    let mut url = Url::parse(setting.value.trim()).map_err(|_| error())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(error());
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(Registry { url, source: setting.source.clone() })
}

/// The `npm_config_*` variables, lower-case prefixes winning over others for the same key.
fn env_layer(env: &BTreeMap<String, String>) -> Vec<(String, Setting)> {
    let mut by_key: BTreeMap<String, (bool, Setting)> = BTreeMap::new();
    for (name, value) in env {
        let Some(key) = npmrc::env_config_key(name) else { continue };
        if value.is_empty() {
            continue;
        }
        let key = npmrc::expand_env(&key, env);
        let value = npmrc::expand_env(value.trim(), env);
        let lower = name.starts_with("npm_config_");
        let setting = Setting { value, source: ConfigSource::Env { variable: name.clone() } };
        match by_key.get(&key) {
            Some((true, _)) if !lower => {}
            _ => {
                by_key.insert(key, (lower, setting));
            }
        }
    }
    by_key.into_iter().map(|(key, (_, setting))| (key, setting)).collect()
}

fn env_proxies(env: &BTreeMap<String, String>) -> EnvProxies {
    let get = |name: &str| {
        env.get(name)
            .or_else(|| env.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    EnvProxies { https: get("https_proxy"), http: get("http_proxy"), proxy: get("proxy"), no_proxy: get("no_proxy") }
}

fn read_layer(
    layer: Layer,
    path: &Path,
    env: &BTreeMap<String, String>,
    files: &mut Vec<ConfigFile>,
) -> Result<Vec<(String, Setting)>, ConfigError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if matches!(error.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
            files.push(ConfigFile { layer, path: path.to_path_buf(), status: FileStatus::Missing });
            return Ok(Vec::new());
        }
        Err(source) => return Err(ConfigError::Read { layer, path: path.to_path_buf(), source }),
    };
    files.push(ConfigFile { layer, path: path.to_path_buf(), status: FileStatus::Read });
    let text = String::from_utf8_lossy(&bytes);
    Ok(npmrc::parse(&text)
        .into_iter()
        .map(|entry| {
            let key = npmrc::expand_env(&entry.key, env);
            let value = npmrc::expand_env(&entry.value, env);
            (key, Setting { value, source: ConfigSource::File { layer, path: path.to_path_buf(), line: entry.line } })
        })
        .collect())
}

/// npm's default global prefix: `PREFIX`, else two levels above the real path of `node`.
fn default_global_prefix(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    if let Some(prefix) = env.get("PREFIX").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(prefix));
    }
    let node = find_program("node", env)?;
    let real = std::fs::canonicalize(node).ok()?;
    let prefix = real.parent()?.parent()?.to_path_buf();
    match env.get("DESTDIR").filter(|d| !d.is_empty()) {
        Some(destdir) => {
            let relative = prefix.strip_prefix("/").unwrap_or(&prefix);
            Some(Path::new(destdir).join(relative))
        }
        None => Some(prefix),
    }
}

/// An executable named `name` in the directories of the environment's `PATH`.
fn find_program(name: &str, env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let path = env.get("PATH")?;
    std::env::split_paths(path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// Runs `npm config get registry` in the inputs' directory with the inputs' environment. This is
/// the only process the crate spawns.
fn ask_npm(inputs: &ConfigInputs) -> Result<String, ConfigError> {
    let program =
        find_program(if cfg!(windows) { "npm.cmd" } else { "npm" }, &inputs.env).ok_or(ConfigError::NpmNotFound)?;
    let output = std::process::Command::new(&program)
        .args(["config", "get", "registry"])
        .env_clear()
        .envs(&inputs.env)
        .current_dir(&inputs.cwd)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| ConfigError::NpmSpawn { program: program.clone(), source })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.lines().find(|line| !line.trim().is_empty()).unwrap_or("no message").trim().to_string();
        return Err(ConfigError::NpmFailed { status: output.status.to_string(), stderr });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// npm's local prefix: see the module documentation.
fn project_dir(cwd: &Path) -> PathBuf {
    let mut local: Option<&Path> = None;
    for dir in cwd.ancestors() {
        let has_package_json = dir.join("package.json").is_file();
        let Some(found) = local else {
            if has_package_json || dir.join("node_modules").is_dir() {
                local = Some(dir);
            }
            continue;
        };
        if !has_package_json {
            continue;
        }
        let Some(patterns) = workspace_patterns(&dir.join("package.json")) else { continue };
        let Ok(relative) = found.strip_prefix(dir) else { continue };
        let relative: Vec<&str> = relative.iter().filter_map(|part| part.to_str()).collect();
        let included = patterns.iter().filter(|p| !p.starts_with('!')).any(|p| glob_matches(p, &relative));
        let excluded = patterns.iter().filter_map(|p| p.strip_prefix('!')).any(|p| glob_matches(p, &relative));
        if included && !excluded && found.join("package.json").is_file() {
            return dir.to_path_buf();
        }
    }
    local.unwrap_or(cwd).to_path_buf()
}

/// The `workspaces` globs of a `package.json` (an array, or `{ "packages": [...] }`).
fn workspace_patterns(package_json: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(package_json).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let list = match json.get("workspaces")? {
        serde_json::Value::Array(list) => list,
        serde_json::Value::Object(object) => object.get("packages")?.as_array()?,
        _ => return None,
    };
    Some(list.iter().filter_map(|v| v.as_str()).map(str::to_string).collect())
}

/// Matches a workspace glob (`*`, `?` within a segment, `**` across segments) against a
/// relative path's segments.
fn glob_matches(pattern: &str, path: &[&str]) -> bool {
    let pattern = pattern.trim_start_matches("./").trim_end_matches('/');
    let segments: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    fn segments_match(pattern: &[&str], path: &[&str]) -> bool {
        match pattern.split_first() {
            None => path.is_empty(),
            Some((&"**", rest)) => (0..=path.len()).any(|skip| segments_match(rest, &path[skip..])),
            Some((first, rest)) => path
                .split_first()
                .is_some_and(|(head, tail)| segment_matches(first, head) && segments_match(rest, tail)),
        }
    }
    fn segment_matches(pattern: &str, text: &str) -> bool {
        let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
        fn go(p: &[char], t: &[char]) -> bool {
            match p.split_first() {
                None => t.is_empty(),
                Some(('*', rest)) => (0..=t.len()).any(|skip| go(rest, &t[skip..])),
                Some(('?', rest)) => !t.is_empty() && go(rest, &t[1..]),
                Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
            }
        }
        go(&p, &t)
    }
    segments_match(&segments, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_globs() {
        assert!(glob_matches("packages/*", &["packages", "a"]));
        assert!(glob_matches("./packages/*/", &["packages", "a"]));
        assert!(!glob_matches("packages/*", &["packages", "a", "b"]));
        assert!(glob_matches("packages/**", &["packages", "a", "b"]));
        assert!(glob_matches("apps/web", &["apps", "web"]));
        assert!(glob_matches("pkg-?", &["pkg-1"]));
        assert!(!glob_matches("pkg-?", &["pkg-10"]));
    }

    #[test]
    fn no_proxy_matches_label_suffixes() {
        assert!(bypasses_proxy("a.example.test", "example.test"));
        assert!(bypasses_proxy("example.test", " other , .example.test"));
        assert!(!bypasses_proxy("example.testing", "example.test"));
        assert!(bypasses_proxy("127.0.0.1", "127.0.0.1"));
        assert!(!bypasses_proxy("127.0.0.1", ""));
    }

    #[test]
    fn passwords_decode_leniently() {
        assert_eq!(decode_password("c2VjcmV0").as_deref(), Some("secret"));
        assert_eq!(decode_password("c2VjcmV0IQ").as_deref(), Some("secret!"));
        assert_eq!(decode_password("c2VjcmV0IQ==").as_deref(), Some("secret!"));
        assert_eq!(decode_password("not base64!"), None);
    }
}

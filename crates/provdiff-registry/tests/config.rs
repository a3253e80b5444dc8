//! Registry configuration resolved as npm resolves it, from files and environments made in
//! temporary directories (never the machine's own).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use provdiff_registry::{ConfigError, ConfigInputs, ConfigSource, FileStatus, Layer, PackageName, RegistryConfig};
use reqwest::Url;

/// A home, a project and a global prefix in one temporary directory.
struct World {
    dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
    registry_flag: Option<String>,
    cwd: PathBuf,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "project/sub/deeper", "prefix/etc"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("project/package.json"), r#"{"name":"p"}"#).unwrap();
        let mut env = BTreeMap::new();
        // PATH without npm or node, so nothing of the machine's own configuration leaks in.
        env.insert("PATH".to_string(), dir.path().join("no-bin").display().to_string());
        env.insert("PREFIX".to_string(), dir.path().join("prefix").display().to_string());
        let cwd = dir.path().join("project/sub/deeper");
        Self { dir, env, registry_flag: None, cwd }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn set(&mut self, name: &str, value: &str) {
        self.env.insert(name.to_string(), value.to_string());
    }

    fn inputs(&self) -> ConfigInputs {
        ConfigInputs {
            registry: self.registry_flag.clone(),
            env: self.env.clone(),
            home: Some(self.path("home")),
            cwd: self.cwd.clone(),
            ask_npm: true,
        }
    }

    fn resolve(&self) -> RegistryConfig {
        RegistryConfig::resolve(&self.inputs()).unwrap()
    }
}

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

fn source_kind(source: &ConfigSource) -> String {
    match source {
        ConfigSource::Flag => "flag".into(),
        ConfigSource::Env { variable } => format!("env {variable}"),
        ConfigSource::File { layer, .. } => format!("{layer}"),
        ConfigSource::Npm => "npm".into(),
        ConfigSource::Code => "code".into(),
    }
}

#[test]
fn each_source_overrides_the_ones_below_it() {
    let mut world = World::new();
    world.write("prefix/etc/npmrc", "registry=http://127.0.0.1:1/global/\n");
    world.write("home/.npmrc", "registry=http://127.0.0.1:1/user/\n");
    world.write("project/.npmrc", "registry=http://127.0.0.1:1/project/\n");
    world.set("npm_config_registry", "http://127.0.0.1:1/env/");
    world.registry_flag = Some("http://127.0.0.1:1/flag".into());

    let check = |world: &World, expected_path: &str, expected_source: &str| {
        let config = world.resolve();
        assert_eq!(config.registry().url.as_str(), format!("http://127.0.0.1:1/{expected_path}/"));
        assert_eq!(source_kind(&config.registry().source), expected_source);
    };
    check(&world, "flag", "flag");
    world.registry_flag = None;
    check(&world, "env", "env npm_config_registry");
    world.env.remove("npm_config_registry");
    check(&world, "project", "project");
    std::fs::remove_file(world.path("project/.npmrc")).unwrap();
    check(&world, "user", "user");
    std::fs::remove_file(world.path("home/.npmrc")).unwrap();
    check(&world, "global", "global");

    let config = world.resolve();
    let statuses: Vec<(Layer, FileStatus)> = config.files().iter().map(|f| (f.layer, f.status)).collect();
    assert_eq!(
        statuses,
        [(Layer::Project, FileStatus::Missing), (Layer::User, FileStatus::Missing), (Layer::Global, FileStatus::Read)]
    );
}

#[test]
fn the_source_of_a_setting_names_its_file_and_line() {
    let world = World::new();
    world.write("project/.npmrc", "; comment\nregistry = http://127.0.0.1:2\n");
    let config = world.resolve();
    assert_eq!(config.registry().url.as_str(), "http://127.0.0.1:2/");
    assert_eq!(
        config.registry().source.to_string(),
        format!("project config {}:2", world.path("project/.npmrc").display())
    );
}

#[test]
fn environment_variables_are_case_insensitive_and_lower_case_wins() {
    let mut world = World::new();
    world.set("NPM_CONFIG_REGISTRY", "http://127.0.0.1:3/upper/");
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:3/upper/");
    world.set("Npm_Config_Registry", "http://127.0.0.1:3/mixed/");
    world.set("npm_config_registry", "http://127.0.0.1:3/lower/");
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:3/lower/");
    // An empty variable is ignored, as npm ignores it.
    world.set("npm_config_registry", "");
    world.env.remove("NPM_CONFIG_REGISTRY");
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:3/mixed/");
}

#[test]
fn scoped_registries_apply_to_their_scope_only() {
    let mut world = World::new();
    world.write("home/.npmrc", "registry=http://127.0.0.1:4/\n@mine:registry=http://127.0.0.1:5/scoped\n");
    world.set("npm_config_@env:registry", "http://127.0.0.1:6/");
    let config = world.resolve();
    let registry_of = |name: &str| config.registry_for(&PackageName::parse(name).unwrap()).url.to_string();
    assert_eq!(registry_of("@mine/pkg"), "http://127.0.0.1:5/scoped/");
    assert_eq!(registry_of("@env/pkg"), "http://127.0.0.1:6/");
    assert_eq!(registry_of("@other/pkg"), "http://127.0.0.1:4/");
    assert_eq!(registry_of("plain"), "http://127.0.0.1:4/");
}

#[test]
fn credentials_match_the_longest_nerf_dart_prefix() {
    let mut world = World::new();
    world.set("TOKEN", "from-env");
    world.write(
        "home/.npmrc",
        concat!(
            "registry=http://127.0.0.1:7/npm/\n",
            "//127.0.0.1:7/:_authToken=root-token\n",
            "//127.0.0.1:7/npm/:_authToken=${TOKEN}\n",
            "//127.0.0.1:7/basic:_auth=dXNlcjpwYXNz\n",
            "//127.0.0.1:8/:username=alice\n",
            "//127.0.0.1:8/:_password=c2VjcmV0\n",
        ),
    );
    let config = world.resolve();
    let registry = config.registry().url.clone();
    let auth = |request: &str| config.credentials_for(&url(request), &registry).map(|c| c.authorization().to_string());

    assert_eq!(auth("http://127.0.0.1:7/npm/@s%2fpkg").as_deref(), Some("Bearer from-env"));
    assert_eq!(auth("http://127.0.0.1:7/npm/pkg/-/pkg-1.0.0.tgz").as_deref(), Some("Bearer from-env"));
    assert_eq!(auth("http://127.0.0.1:7/elsewhere/x.tgz").as_deref(), Some("Bearer root-token"));
    // `//host/basic:_auth` (no trailing slash) matches /basic/… by walking up past the slash.
    assert_eq!(auth("http://127.0.0.1:7/basic/x.tgz").as_deref(), Some("Basic dXNlcjpwYXNz"));
    // username and base64 _password become Basic base64("alice:secret").
    assert_eq!(auth("http://127.0.0.1:8/x.tgz").as_deref(), Some("Basic YWxpY2U6c2VjcmV0"));
    // Another port is another registry: nothing.
    assert_eq!(auth("http://127.0.0.1:9/npm/pkg"), None);
    // The scheme does not enter the key, as in npm.
    assert_eq!(auth("https://127.0.0.1:7/npm/pkg").as_deref(), Some("Bearer from-env"));
    // Credentials never show in Debug output.
    let credentials = config.credentials_for(&url("http://127.0.0.1:7/npm/x"), &registry).unwrap();
    assert!(!format!("{credentials:?}").contains("from-env"));
}

#[test]
fn a_url_on_the_registry_host_borrows_the_registry_credentials_and_other_hosts_get_none() {
    let world = World::new();
    world.write("home/.npmrc", "registry=http://127.0.0.1:10/deep/path/\n//127.0.0.1:10/deep/path/:_authToken=t\n");
    let config = world.resolve();
    let registry = config.registry().url.clone();
    let auth = |request: &str| config.credentials_for(&url(request), &registry).map(|c| c.authorization().to_string());
    assert_eq!(auth("http://127.0.0.1:10/tarballs/x.tgz").as_deref(), Some("Bearer t"));
    assert_eq!(auth("http://127.0.0.1:11/deep/path/x.tgz"), None);
    assert_eq!(auth("http://127.0.0.2:10/deep/path/x.tgz"), None);
}

#[test]
fn keys_and_values_are_expanded_from_the_environment() {
    let mut world = World::new();
    world.set("REG_HOST", "127.0.0.1:12");
    world.set("TOKEN", "t0k3n");
    world.write(
        "project/.npmrc",
        "registry=http://${REG_HOST}/\n//${REG_HOST}/:_authToken=${TOKEN}\n@a:registry=http://127.0.0.1:13/${UNSET?}x/\n",
    );
    let config = world.resolve();
    assert_eq!(config.registry().url.as_str(), "http://127.0.0.1:12/");
    let registry = config.registry().url.clone();
    let credentials = config.credentials_for(&url("http://127.0.0.1:12/pkg"), &registry).unwrap();
    assert_eq!(credentials.authorization(), "Bearer t0k3n");
    assert_eq!(credentials.key, "//127.0.0.1:12/");
    assert_eq!(config.registry_for(&PackageName::parse("@a/b").unwrap()).url.as_str(), "http://127.0.0.1:13/x/");
    // An unset variable without `?` stays as written, which here makes the URL invalid.
    world.write("project/.npmrc", "registry=http://127.0.0.1:${NOT_SET}/\n");
    let error = RegistryConfig::resolve(&world.inputs()).unwrap_err();
    assert!(matches!(error, ConfigError::InvalidUrl { .. }), "{error}");
    assert!(error.to_string().contains("${NOT_SET}"), "{error}");
}

#[test]
fn the_project_file_is_in_the_nearest_directory_with_package_json_or_node_modules() {
    let mut world = World::new();
    world.write("project/.npmrc", "registry=http://127.0.0.1:14/\n");
    // An .npmrc in a directory without package.json or node_modules is not a project file.
    world.write("project/sub/.npmrc", "registry=http://127.0.0.1:15/\n");
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:14/");
    std::fs::create_dir_all(world.path("project/sub/node_modules")).unwrap();
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:15/");
    // Outside any project, the working directory itself is the local prefix.
    world.cwd = world.path("home");
    world.write("home/sub/.npmrc", "registry=http://127.0.0.1:16/\n");
    world.cwd = world.path("home/sub");
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:16/");
}

#[test]
fn a_workspace_uses_its_root_project_file() {
    let mut world = World::new();
    world.write("project/package.json", r#"{"name":"root","workspaces":["packages/*"]}"#);
    world.write("project/.npmrc", "registry=http://127.0.0.1:17/\n");
    world.write("project/packages/a/package.json", r#"{"name":"a"}"#);
    world.write("project/packages/a/.npmrc", "registry=http://127.0.0.1:18/\n");
    world.cwd = world.path("project/packages/a");
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:17/");
    // A package that is not one of the root's workspaces keeps its own file.
    world.write("project/tools/b/package.json", r#"{"name":"b"}"#);
    world.write("project/tools/b/.npmrc", "registry=http://127.0.0.1:19/\n");
    world.cwd = world.path("project/tools/b");
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:19/");
}

#[test]
fn userconfig_and_globalconfig_locations_come_from_the_environment() {
    let mut world = World::new();
    world.write("elsewhere/user-npmrc", "registry=http://127.0.0.1:20/\n");
    world.set("npm_config_userconfig", &world.path("elsewhere/user-npmrc").display().to_string());
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:20/");

    world.env.remove("npm_config_userconfig");
    world.write("elsewhere/global-npmrc", "registry=http://127.0.0.1:21/\n");
    world.set("NPM_CONFIG_GLOBALCONFIG", &world.path("elsewhere/global-npmrc").display().to_string());
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:21/");

    // `prefix` moves the global file to PREFIX/etc/npmrc.
    world.env.remove("NPM_CONFIG_GLOBALCONFIG");
    world.write("other-prefix/etc/npmrc", "registry=http://127.0.0.1:22/\n");
    world.set("npm_config_prefix", &world.path("other-prefix").display().to_string());
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:22/");

    // A user file may move the global file too, with `~/` meaning the home directory.
    world.env.remove("npm_config_prefix");
    world.write("home/.npmrc", "globalconfig=~/my-global\n");
    world.write("home/my-global", "registry=http://127.0.0.1:23/\n");
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:23/");
}

#[test]
fn the_home_directory_as_project_is_read_once_as_the_user_file() {
    let mut world = World::new();
    world.write("home/package.json", "{}");
    world.write("home/.npmrc", "registry=http://127.0.0.1:24/\n");
    world.cwd = world.path("home");
    let config = world.resolve();
    assert_eq!(config.registry().url.as_str(), "http://127.0.0.1:24/");
    assert_eq!(source_kind(&config.registry().source), "user");
    assert_eq!(config.files()[0].status, FileStatus::SameAsUser);
}

#[cfg(unix)]
fn fake_npm(world: &World, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let bin = world.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let npm = bin.join("npm");
    std::fs::write(&npm, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[test]
fn npm_is_asked_when_nothing_sets_a_registry() {
    let mut world = World::new();
    // The fake npm reports its arguments and working directory, to prove how it was called.
    fake_npm(&world, r#"echo "$@" > "$PWD/npm-args"; echo "http://127.0.0.1:25/from-npm""#);
    world.set("PATH", &world.path("bin").display().to_string());
    let config = world.resolve();
    assert_eq!(config.registry().url.as_str(), "http://127.0.0.1:25/from-npm/");
    assert_eq!(config.registry().source, ConfigSource::Npm);
    let args = std::fs::read_to_string(world.cwd.join("npm-args")).unwrap();
    assert_eq!(args.trim(), "config get registry");

    fake_npm(&world, "echo 'npm ERR! broken config' >&2; exit 1");
    let error = RegistryConfig::resolve(&world.inputs()).unwrap_err();
    assert!(matches!(error, ConfigError::NpmFailed { .. }), "{error}");
    assert!(error.to_string().contains("npm ERR! broken config"), "{error}");

    // Setting a registry anywhere means npm is not run at all.
    fake_npm(&world, "exit 1");
    world.set("npm_config_registry", "http://127.0.0.1:26/");
    assert_eq!(world.resolve().registry().url.as_str(), "http://127.0.0.1:26/");
}

#[test]
fn without_npm_and_without_configuration_the_error_says_what_to_do() {
    let world = World::new();
    let error = RegistryConfig::resolve(&world.inputs()).unwrap_err();
    assert!(matches!(error, ConfigError::NpmNotFound), "{error}");
    assert!(error.to_string().contains("--registry"), "{error}");
    let inputs = ConfigInputs { ask_npm: false, ..world.inputs() };
    let error = RegistryConfig::resolve(&inputs).unwrap_err();
    assert!(matches!(error, ConfigError::NoRegistry), "{error}");
}

#[test]
fn bad_values_are_refused_with_their_origin() {
    let world = World::new();
    world.write("home/.npmrc", "registry=ftp://127.0.0.1/\n");
    let error = RegistryConfig::resolve(&world.inputs()).unwrap_err();
    let home_npmrc = world.path("home/.npmrc");
    assert!(error.to_string().contains(&format!("user config {}:1", home_npmrc.display())), "{error}");

    world.write(
        "home/.npmrc",
        "registry=http://127.0.0.1:27/\n//127.0.0.1:27/:username=a\n//127.0.0.1:27/:_password=*!*\n",
    );
    let error = RegistryConfig::resolve(&world.inputs()).unwrap_err();
    assert!(matches!(error, ConfigError::InvalidPassword { .. }), "{error}");

    world.write("home/.npmrc", "registry=http://127.0.0.1:27/\nhttps-proxy=not a url\n");
    assert!(matches!(RegistryConfig::resolve(&world.inputs()).unwrap_err(), ConfigError::InvalidUrl { .. }));
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_an_error_not_silence() {
    let world = World::new();
    // A directory where the user file should be cannot be read as a file.
    std::fs::create_dir_all(world.path("home/.npmrc")).unwrap();
    world.write("project/.npmrc", "registry=http://127.0.0.1:28/\n");
    let error = RegistryConfig::resolve(&world.inputs()).unwrap_err();
    assert!(matches!(error, ConfigError::Read { layer: Layer::User, .. }), "{error}");
}

#[test]
fn proxies_follow_npm_precedence_and_no_proxy() {
    let mut world = World::new();
    world.set("npm_config_registry", "http://127.0.0.1:29/");
    let proxy_for = |world: &World, target: &str| world.resolve().proxy_for(&url(target)).map(|u| u.to_string());
    assert_eq!(proxy_for(&world, "https://127.0.0.1:29/x"), None);

    world.set("HTTP_PROXY", "http://127.0.0.1:30");
    assert_eq!(proxy_for(&world, "http://127.0.0.1:29/x").as_deref(), Some("http://127.0.0.1:30/"));
    assert_eq!(proxy_for(&world, "https://127.0.0.1:29/x"), None, "http_proxy is for http URLs only");
    world.set("https_proxy", "http://127.0.0.1:31");
    assert_eq!(proxy_for(&world, "https://127.0.0.1:29/x").as_deref(), Some("http://127.0.0.1:31/"));
    assert_eq!(proxy_for(&world, "http://127.0.0.1:29/x").as_deref(), Some("http://127.0.0.1:31/"));

    world.set("NO_PROXY", "example.test, 127.0.0.1");
    assert_eq!(proxy_for(&world, "http://127.0.0.1:29/x"), None);
    assert_eq!(proxy_for(&world, "http://a.example.test/x"), None);
    assert_eq!(proxy_for(&world, "http://example.testing/x").as_deref(), Some("http://127.0.0.1:31/"));

    // Configuration beats the environment.
    world.write("home/.npmrc", "https-proxy=http://127.0.0.1:32/\nnoproxy=none.test\n");
    assert_eq!(proxy_for(&world, "http://127.0.0.1:29/x").as_deref(), Some("http://127.0.0.1:32/"));
}

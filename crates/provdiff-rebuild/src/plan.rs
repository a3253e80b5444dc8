//! The build plan: what to run, where, with which tools, to replay the build that published a
//! package. Derived from the workflow the provenance names (the job that publishes, its `run:`
//! steps before the publish command, then the lifecycle scripts the publish command itself runs),
//! or, when there is no such workflow or job, from the package manager's own lifecycle. Reading
//! files at the commit is all it does: nothing here runs anything.

use std::collections::BTreeMap;

use provdiff_core::{Code, Finding};
use provdiff_npm::Manifest;
use serde::Serialize;

use crate::shell::{self, Publishing};
use crate::workflow::{self, ExpressionContext, Step, Workflow};

/// Where the build runs, as the build sees it: GitHub's hosted-runner layout
/// (`/home/runner/work/NAME/NAME`) inside the sandbox, so paths a build embeds in its outputs are
/// the ones the original build embedded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layout {
    /// `HOME` (and the npm cache under it).
    pub home: String,
    /// The checkout: `GITHUB_WORKSPACE`.
    pub workspace: String,
    /// `RUNNER_TEMP`.
    pub temp: String,
}

impl Layout {
    /// The hosted-runner home inside the sandbox.
    pub const RUNNER_HOME: &'static str = "/home/runner";

    /// The layout under `home` for a repository URL (its last path segment names the checkout).
    pub fn new(home: &str, repository: &str) -> Self {
        let name = repository
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .map(|name| name.trim_end_matches(".git"))
            .filter(|name| !name.is_empty() && !name.starts_with('.') && !name.contains(['\\', '\0']))
            .unwrap_or("package");
        let home = home.trim_end_matches('/');
        Self {
            home: home.to_string(),
            workspace: format!("{home}/work/{name}/{name}"),
            temp: format!("{home}/work/_temp"),
        }
    }

    /// The workspace path relative to the home (`work/NAME/NAME`).
    pub fn workspace_in_home(&self) -> &str {
        self.workspace.strip_prefix(&self.home).unwrap_or(&self.workspace).trim_start_matches('/')
    }
}

/// What the provenance says about the build.
#[derive(Debug, Clone, Copy)]
pub struct ProvenanceFacts<'a> {
    pub repository: &'a str,
    pub commit: &'a str,
    pub git_ref: Option<&'a str>,
    pub workflow_path: Option<&'a str>,
    pub builder_id: &'a str,
    /// When the original build ran (the transparency log's time for the provenance), RFC 3339.
    pub built_at: Option<&'a str>,
}

/// Everything the plan is derived from.
pub struct PlanInputs<'a> {
    /// Reads a file of the attested commit by its repository path.
    pub read: &'a dyn Fn(&str) -> Option<Vec<u8>>,
    /// The package's directory in the repository (`""` for the root).
    pub package_dir: &'a str,
    pub provenance: ProvenanceFacts<'a>,
    pub layout: &'a Layout,
}

impl std::fmt::Debug for PlanInputs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanInputs").field("package_dir", &self.package_dir).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("there is no package.json in {dir:?} at the attested commit")]
    NoManifest { dir: String },
    #[error(transparent)]
    Manifest(#[from] provdiff_npm::ManifestError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageManagerKind {
    Npm,
    Pnpm,
    /// yarn 1.
    YarnClassic,
    /// yarn 2 and later.
    YarnBerry,
}

impl PackageManagerKind {
    pub fn program(self) -> &'static str {
        match self {
            Self::Npm => "npm",
            Self::Pnpm => "pnpm",
            Self::YarnClassic | Self::YarnBerry => "yarn",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageManager {
    pub kind: PackageManagerKind,
    /// The version `packageManager` pins, if it does.
    pub version: Option<String>,
    pub detected_by: String,
}

/// A tool version the original build asked for, and who asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRequest {
    pub version: String,
    pub source: String,
}

/// Where the plan came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PlanSource {
    /// The job of the provenance's workflow that publishes.
    Workflow { path: String, job: String, publish_step: String },
    /// The package manager's lifecycle, because the workflow could not be used.
    Lifecycle { reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shell {
    /// GitHub's default: `bash --noprofile --norc -eo pipefail`.
    Bash,
    /// `sh -e`.
    Sh,
}

/// One command script to run in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanStep {
    /// Where it comes from, for people: `step 4 ("Build")`, `script "prepack"`.
    pub origin: String,
    pub script: String,
    pub shell: Shell,
    /// The directory it runs in, relative to the repository root (`""` for the root).
    pub dir: String,
    pub env: BTreeMap<String, String>,
    /// Put `node_modules/.bin` of `dir` and its parents first on `PATH`, as `npm run` does: for
    /// the part of a package script that runs before its publish command.
    pub npm_bin_path: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BuildPlan {
    pub source: PlanSource,
    pub package_manager: PackageManager,
    /// The lockfile the install uses, relative to the repository root.
    pub lockfile: Option<String>,
    /// The Node.js the original build asked for.
    pub node: Option<VersionRequest>,
    /// The npm the original build used or asked for.
    pub npm: Option<VersionRequest>,
    pub steps: Vec<PlanStep>,
    /// The runner's variables every step sees (`CI`, `GITHUB_*`, `RUNNER_*`).
    pub env: BTreeMap<String, String>,
    /// What the plan could not replay (skipped steps, dropped variables, no lockfile).
    pub findings: Vec<Finding>,
}

/// Actions whose effect the sandbox already provides (the checkout, Node.js) or that do not change
/// the files a build produces.
const REPLACED_ACTIONS: &[&str] = &[
    "actions/checkout",
    "actions/setup-node",
    "actions/cache",
    "actions/upload-artifact",
    "step-security/harden-runner",
];

/// Lifecycle scripts `npm publish` runs (and `npm pack`), in order, before the tarball is made.
const PUBLISH_LIFECYCLE: &[&str] = &["prepublishOnly", "prepack", "prepare"];

pub fn derive_plan(inputs: &PlanInputs<'_>) -> Result<BuildPlan, PlanError> {
    let manifest_path = join(inputs.package_dir, "package.json");
    let manifest_bytes =
        (inputs.read)(&manifest_path).ok_or_else(|| PlanError::NoManifest { dir: inputs.package_dir.to_string() })?;
    let manifest = Manifest::parse(&manifest_bytes, &manifest_path)?;
    let (package_manager, lockfile) = detect_package_manager(inputs, &manifest);
    let mut findings = Vec::new();
    let npm_from_builder = inputs
        .provenance
        .builder_id
        .strip_prefix("https://github.com/npm/cli@")
        .map(|version| VersionRequest { version: version.to_string(), source: "the provenance's builder".into() });

    let from_workflow = match inputs.provenance.workflow_path {
        Some(path) => match (inputs.read)(path) {
            Some(bytes) => match workflow::parse(&String::from_utf8_lossy(&bytes), path) {
                Ok(parsed) => workflow_plan(inputs, &parsed, path, &manifest, &mut findings),
                Err(error) => Err(error.to_string()),
            },
            None => Err(format!("the workflow {path} is not in the attested commit")),
        },
        None => Err("the provenance names no workflow file".to_string()),
    };
    let (source, steps, node, npm_from_workflow) = match from_workflow {
        Ok(found) => found,
        Err(reason) => {
            let steps = lifecycle_plan(inputs, &manifest, package_manager.kind, lockfile.as_deref());
            (PlanSource::Lifecycle { reason }, steps, None, None)
        }
    };
    let node = node.or_else(|| node_from_repository(inputs, &manifest));
    if lockfile.is_none() {
        findings.push(Finding::new(
            Code::RebuildNoLockfile,
            "no lockfile at the attested commit: dependency versions are resolved when rebuilding, not as the \
             original build resolved them",
        ));
    }
    let facts = inputs.provenance;
    let mut env = BTreeMap::new();
    for (name, value) in [
        ("CI", "true".to_string()),
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_WORKSPACE", inputs.layout.workspace.clone()),
        ("GITHUB_SHA", facts.commit.to_string()),
        ("GITHUB_REPOSITORY", github_repository(facts.repository)),
        ("RUNNER_OS", "Linux".to_string()),
        ("RUNNER_TEMP", inputs.layout.temp.clone()),
    ] {
        env.insert(name.to_string(), value);
    }
    if let Some(git_ref) = facts.git_ref {
        env.insert("GITHUB_REF".into(), git_ref.to_string());
        env.insert("GITHUB_REF_NAME".into(), git_ref.rsplit('/').next().unwrap_or_default().to_string());
    }
    Ok(BuildPlan {
        source,
        package_manager,
        lockfile,
        node,
        npm: npm_from_builder.or(npm_from_workflow),
        steps,
        env,
        findings,
    })
}

type WorkflowPlan = (PlanSource, Vec<PlanStep>, Option<VersionRequest>, Option<VersionRequest>);

/// Where a job publishes: the step, the script text before the publish command in it, and the
/// package scripts it went through (`npm run release` → `npm run build && changeset publish`).
struct PublishPoint {
    step: usize,
    prefix: String,
    /// `(directory, script name, text before the publish command)`, outermost first.
    scripts: Vec<(String, String, String)>,
    ignore_scripts: bool,
}

fn workflow_plan(
    inputs: &PlanInputs<'_>,
    parsed: &Workflow,
    path: &str,
    manifest: &Manifest,
    findings: &mut Vec<Finding>,
) -> Result<WorkflowPlan, String> {
    let found = parsed.jobs.iter().find_map(|job| {
        job.steps.iter().enumerate().find_map(|(index, step)| {
            let dir = step_dir(parsed, job, step);
            let script = step_script(step)?;
            find_publish(inputs, &script, &dir, 0).map(|(prefix, scripts, ignore_scripts)| {
                (job, PublishPoint { step: index, prefix, scripts, ignore_scripts })
            })
        })
    });
    let Some((job, point)) = found else {
        return Err(format!("no job of {path} runs a publish command"));
    };
    let mut context = ExpressionContext::default();
    let layout = inputs.layout;
    let facts = inputs.provenance;
    for (key, value) in [
        ("workspace", layout.workspace.clone()),
        ("sha", facts.commit.to_string()),
        ("repository", github_repository(facts.repository)),
        ("repository_owner", github_repository(facts.repository).split('/').next().unwrap_or_default().to_string()),
        ("ref", facts.git_ref.unwrap_or_default().to_string()),
        ("ref_name", facts.git_ref.unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string()),
        ("job", job.id.clone()),
    ] {
        context.github.insert(key.to_string(), value);
    }
    context.runner.insert("os".into(), "Linux".into());
    context.runner.insert("temp".into(), layout.temp.clone());

    let mut steps = Vec::new();
    let mut node = None;
    let mut npm = None;
    let base_env = evaluate_env(&[&parsed.env, &job.env], &context, "the workflow", findings);
    for step in &job.steps[..=point.step] {
        let is_publish_step = step.number == job.steps[point.step].number;
        if let Some(uses) = &step.uses {
            let action = uses.split('@').next().unwrap_or(uses);
            if action == "actions/setup-node" {
                node = setup_node_request(inputs, step).or(node);
            }
            if !is_publish_step {
                if !REPLACED_ACTIONS.contains(&action) {
                    findings.push(Finding::new(
                        Code::RebuildStepSkipped,
                        format!("{} uses `{uses}`: actions are not replayed, only `run:` steps", step.describe()),
                    ));
                }
                continue;
            }
        }
        if step.condition.as_deref().is_some_and(|c| c.contains("failure()") || c.contains("cancelled()")) {
            continue;
        }
        let Some(script) = step_script(step) else { continue };
        let script = if is_publish_step { point.prefix.clone() } else { script };
        let mut step_context = context.clone();
        step_context.env.extend(base_env.clone());
        let mut env = base_env.clone();
        env.extend(evaluate_env(&[&step.env], &step_context, &step.describe(), findings));
        step_context.env = env.clone();
        let commands = shell::commands(&script);
        let self_install = commands.iter().find_map(|command| shell::installs_npm(&command.words));
        if let Some(version) = self_install {
            npm = Some(VersionRequest {
                version: version.clone(),
                source: format!("{} (`npm install -g npm@{version}`)", step.describe()),
            });
            // `npm@latest` names a different npm today than when the build ran (and may not run
            // on this machine's Node.js): like `actions/setup-node`, it is a tool request, reported
            // against the npm the rebuild uses. An exact version is installed as written.
            if !is_exact_version(&version) && commands.len() == 1 {
                findings.push(Finding::new(
                    Code::RebuildStepSkipped,
                    format!(
                        "{} installs npm@{version}, which named another npm when the build ran{}; not replayed: the \
                         rebuild uses this machine's npm",
                        step.describe(),
                        facts.built_at.map(|at| format!(" ({at})")).unwrap_or_default()
                    ),
                ));
                continue;
            }
        }
        if script.trim().is_empty() {
            continue;
        }
        let script = match workflow::evaluate(&script, &step_context) {
            Ok(script) => script,
            Err(expression) => {
                findings.push(Finding::new(
                    Code::RebuildStepSkipped,
                    format!(
                        "{} is not replayed: it uses {expression}, which provdiff cannot evaluate",
                        step.describe()
                    ),
                ));
                continue;
            }
        };
        let shell = match step.shell.as_deref().or(job.defaults.shell.as_deref()).or(parsed.defaults.shell.as_deref()) {
            None | Some("bash") => Shell::Bash,
            Some("sh") => Shell::Sh,
            Some(other) => {
                findings.push(Finding::new(
                    Code::RebuildStepSkipped,
                    format!("{} is not replayed: it runs in `{other}`, not bash or sh", step.describe()),
                ));
                continue;
            }
        };
        let origin =
            if is_publish_step { format!("{}, before its publish command", step.describe()) } else { step.describe() };
        steps.push(PlanStep { origin, script, shell, dir: step_dir(parsed, job, step), env, npm_bin_path: false });
    }
    for (dir, name, prefix) in &point.scripts {
        if !prefix.trim().is_empty() {
            steps.push(PlanStep {
                origin: format!("script {name:?}, before its publish command"),
                script: prefix.clone(),
                shell: Shell::Sh,
                dir: dir.clone(),
                env: base_env.clone(),
                npm_bin_path: true,
            });
        }
    }
    if !point.ignore_scripts {
        steps.extend(publish_lifecycle(inputs.package_dir, manifest, PackageManagerKind::Npm));
    }
    let publish_step = job.steps[point.step].describe();
    Ok((PlanSource::Workflow { path: path.to_string(), job: job.id.clone(), publish_step }, steps, node, npm))
}

/// `9.6.5`, not `latest`, `9` or `^9`.
fn is_exact_version(version: &str) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    parts.len() == 3 && parts.iter().all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// A step's script: its `run:`, or the `publish` input of the changesets action (which runs it
/// when there is nothing left to version).
fn step_script(step: &Step) -> Option<String> {
    if let Some(run) = &step.run {
        return Some(run.clone());
    }
    let uses = step.uses.as_deref()?;
    uses.starts_with("changesets/action@").then(|| step.with.get("publish").cloned()).flatten()
}

/// Finds the publish command in `script` (run in `dir`), following `npm run NAME` into the
/// package's scripts. Returns the text before it, the scripts it went through, and whether it
/// ignores lifecycle scripts.
#[allow(clippy::type_complexity)]
fn find_publish(
    inputs: &PlanInputs<'_>,
    script: &str,
    dir: &str,
    depth: usize,
) -> Option<(String, Vec<(String, String, String)>, bool)> {
    if depth > 4 {
        return None;
    }
    for command in shell::commands(script) {
        match shell::publishing(&command.words) {
            Publishing::Publishes { ignore_scripts } => {
                return Some((shell::before(script, command.start), Vec::new(), ignore_scripts));
            }
            Publishing::RunsScript { name } => {
                let Some(manifest) = read_manifest(inputs, dir) else { continue };
                let Some(body) = manifest.script(&name).map(str::to_string) else { continue };
                if let Some((inner_prefix, mut scripts, ignore_scripts)) = find_publish(inputs, &body, dir, depth + 1) {
                    scripts.insert(0, (dir.to_string(), name, inner_prefix));
                    return Some((shell::before(script, command.start), scripts, ignore_scripts));
                }
            }
            Publishing::Other => {}
        }
    }
    None
}

fn read_manifest(inputs: &PlanInputs<'_>, dir: &str) -> Option<Manifest> {
    let path = join(dir, "package.json");
    Manifest::parse(&(inputs.read)(&path)?, &path).ok()
}

/// The step's working directory relative to the repository root.
fn step_dir(parsed: &Workflow, job: &workflow::Job, step: &Step) -> String {
    let dir = step
        .working_directory
        .as_deref()
        .or(job.defaults.working_directory.as_deref())
        .or(parsed.defaults.working_directory.as_deref())
        .unwrap_or("");
    // `${{ github.workspace }}/x` is the same as `x`.
    let dir = dir.replace("${{ github.workspace }}", "").replace("$GITHUB_WORKSPACE", "");
    provdiff_npm::normalize_relative(&dir)
}

/// Evaluates `env:` maps, innermost last; a variable that needs a secret or an unsupported
/// expression is dropped, and said so.
fn evaluate_env(
    maps: &[&BTreeMap<String, String>],
    context: &ExpressionContext,
    owner: &str,
    findings: &mut Vec<Finding>,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for map in maps {
        for (name, value) in *map {
            if let Some(reason) = crate::environment::refusal(name) {
                findings.push(Finding::new(
                    Code::RebuildStepSkipped,
                    format!("{owner}'s variable {name} is not passed to the build: {reason}"),
                ));
                continue;
            }
            match workflow::evaluate(value, context) {
                Ok(value) => {
                    env.insert(name.clone(), value);
                }
                Err(expression) => findings.push(Finding::new(
                    Code::RebuildStepSkipped,
                    format!(
                        "{owner}'s variable {name} is not passed to the build: it uses {expression} (secrets never \
                         enter the sandbox)"
                    ),
                )),
            }
        }
    }
    env
}

fn setup_node_request(inputs: &PlanInputs<'_>, step: &Step) -> Option<VersionRequest> {
    if let Some(version) = step.with.get("node-version") {
        return Some(VersionRequest {
            version: version.clone(),
            source: format!("{} (`actions/setup-node` node-version)", step.describe()),
        });
    }
    let file = step.with.get("node-version-file")?;
    let path = provdiff_npm::normalize_relative(file);
    let version = version_in_file(inputs, &path)?;
    Some(VersionRequest { version, source: format!("{path} (named by `actions/setup-node` in {})", step.describe()) })
}

/// The Node.js version a version file names: `.nvmrc`, `.node-version`, `.tool-versions`, or a
/// `package.json` (`volta.node`, then `engines.node`).
fn version_in_file(inputs: &PlanInputs<'_>, path: &str) -> Option<String> {
    let bytes = (inputs.read)(path)?;
    if path == "package.json" || path.ends_with("/package.json") {
        let manifest = Manifest::parse(&bytes, path).ok()?;
        return ["/volta/node", "/engines/node"]
            .iter()
            .find_map(|pointer| manifest.raw.pointer(pointer).and_then(|v| v.as_str()).map(str::to_string));
    }
    let text = String::from_utf8_lossy(&bytes);
    let line = text.lines().map(str::trim).find(|line| !line.is_empty() && !line.starts_with('#'))?;
    match line.strip_prefix("nodejs ").or_else(|| line.strip_prefix("node ")) {
        Some(version) => Some(version.trim().to_string()),
        None if path.ends_with(".tool-versions") => None,
        None => Some(line.to_string()),
    }
}

/// Without a workflow that installs Node.js: `.nvmrc` or `.node-version` in the package's
/// directory or the root, then `engines.node`.
fn node_from_repository(inputs: &PlanInputs<'_>, manifest: &Manifest) -> Option<VersionRequest> {
    let dirs = if inputs.package_dir.is_empty() { vec![""] } else { vec![inputs.package_dir, ""] };
    for dir in dirs {
        for name in [".nvmrc", ".node-version"] {
            let path = join(dir, name);
            if let Some(version) = version_in_file(inputs, &path) {
                return Some(VersionRequest { version, source: path });
            }
        }
    }
    let engines = manifest.raw.pointer("/engines/node").and_then(|v| v.as_str())?;
    Some(VersionRequest { version: engines.to_string(), source: "engines.node in package.json".into() })
}

/// The package manager, from `packageManager` (the package's, then the root's), else from the
/// nearest lockfile; and that lockfile.
fn detect_package_manager(inputs: &PlanInputs<'_>, manifest: &Manifest) -> (PackageManager, Option<String>) {
    let mut lockfile = None;
    let mut from_lockfile = None;
    let mut dir = inputs.package_dir.to_string();
    loop {
        for (name, kind) in [
            ("npm-shrinkwrap.json", PackageManagerKind::Npm),
            ("package-lock.json", PackageManagerKind::Npm),
            ("pnpm-lock.yaml", PackageManagerKind::Pnpm),
            ("yarn.lock", PackageManagerKind::YarnClassic),
        ] {
            let path = join(&dir, name);
            if lockfile.is_none() && (inputs.read)(&path).is_some() {
                let kind =
                    if kind == PackageManagerKind::YarnClassic && (inputs.read)(&join(&dir, ".yarnrc.yml")).is_some() {
                        PackageManagerKind::YarnBerry
                    } else {
                        kind
                    };
                from_lockfile = Some((kind, path.clone()));
                lockfile = Some(path);
            }
        }
        if lockfile.is_some() || dir.is_empty() {
            break;
        }
        dir = dir.rsplit_once('/').map(|(parent, _)| parent.to_string()).unwrap_or_default();
    }
    let declared = manifest
        .raw
        .get("packageManager")
        .and_then(|v| v.as_str())
        .map(|value| (value.to_string(), "packageManager in package.json".to_string()))
        .or_else(|| {
            let root = read_manifest(inputs, "")?;
            let value = root.raw.get("packageManager")?.as_str()?.to_string();
            Some((value, "packageManager in the root package.json".to_string()))
        });
    if let Some((value, source)) = declared {
        let (name, version) = value.split_once('@').unwrap_or((&value, ""));
        let version = version.split('+').next().unwrap_or_default();
        let major: u64 = version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
        let kind = match name {
            "pnpm" => Some(PackageManagerKind::Pnpm),
            "yarn" if major >= 2 => Some(PackageManagerKind::YarnBerry),
            "yarn" => Some(PackageManagerKind::YarnClassic),
            "npm" => Some(PackageManagerKind::Npm),
            _ => None,
        };
        if let Some(kind) = kind {
            let version = (!version.is_empty()).then(|| version.to_string());
            return (PackageManager { kind, version, detected_by: source }, lockfile);
        }
    }
    match from_lockfile {
        Some((kind, path)) => (PackageManager { kind, version: None, detected_by: path }, lockfile),
        None => (
            PackageManager { kind: PackageManagerKind::Npm, version: None, detected_by: "no lockfile: npm".into() },
            None,
        ),
    }
}

/// Without a usable workflow: install, then `build` when no lifecycle script builds, then the
/// scripts publishing runs.
fn lifecycle_plan(
    inputs: &PlanInputs<'_>,
    manifest: &Manifest,
    kind: PackageManagerKind,
    lockfile: Option<&str>,
) -> Vec<PlanStep> {
    let install_dir = lockfile
        .and_then(|path| path.rsplit_once('/').map(|(dir, _)| dir.to_string()))
        .unwrap_or_else(|| if lockfile.is_some() { String::new() } else { inputs.package_dir.to_string() });
    let install = match (kind, lockfile.is_some()) {
        (PackageManagerKind::Npm, true) => "npm ci",
        (PackageManagerKind::Npm, false) => "npm install",
        (PackageManagerKind::Pnpm, true) => "pnpm install --frozen-lockfile",
        (PackageManagerKind::Pnpm, false) => "pnpm install",
        (PackageManagerKind::YarnClassic, true) => "yarn install --frozen-lockfile",
        (PackageManagerKind::YarnBerry, true) => "yarn install --immutable",
        (PackageManagerKind::YarnClassic | PackageManagerKind::YarnBerry, false) => "yarn install",
    };
    let mut steps = vec![PlanStep {
        origin: format!("{} install", kind.program()),
        script: install.to_string(),
        shell: Shell::Sh,
        dir: install_dir,
        env: BTreeMap::new(),
        npm_bin_path: false,
    }];
    let has_lifecycle = PUBLISH_LIFECYCLE.iter().any(|name| manifest.script(name).is_some());
    if !has_lifecycle && manifest.script("build").is_some() {
        steps.push(run_script(inputs.package_dir, "build", kind));
    }
    steps.extend(publish_lifecycle(inputs.package_dir, manifest, kind));
    steps
}

fn publish_lifecycle(package_dir: &str, manifest: &Manifest, kind: PackageManagerKind) -> Vec<PlanStep> {
    PUBLISH_LIFECYCLE
        .iter()
        .filter(|name| manifest.script(name).is_some())
        .map(|name| run_script(package_dir, name, kind))
        .collect()
}

fn run_script(dir: &str, name: &str, kind: PackageManagerKind) -> PlanStep {
    PlanStep {
        origin: format!("script {name:?}"),
        script: format!("{} run {name}", kind.program()),
        shell: Shell::Sh,
        dir: dir.to_string(),
        env: BTreeMap::new(),
        npm_bin_path: false,
    }
}

/// `OWNER/REPO` of a GitHub repository URL.
fn github_repository(url: &str) -> String {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let mut parts = path.trim_end_matches('/').trim_end_matches(".git").rsplit('/');
    let name = parts.next().unwrap_or_default();
    let owner = parts.next().unwrap_or_default();
    format!("{owner}/{name}")
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Repo(BTreeMap<String, String>);

    impl Repo {
        fn new(files: &[(&str, &str)]) -> Self {
            Self(files.iter().map(|(path, text)| (path.to_string(), text.to_string())).collect())
        }

        fn plan(&self, package_dir: &str, workflow: Option<&str>, builder: &str) -> BuildPlan {
            let read = |path: &str| self.0.get(path).map(|text| text.as_bytes().to_vec());
            let layout = Layout::new(Layout::RUNNER_HOME, "https://github.com/owner/widget");
            derive_plan(&PlanInputs {
                read: &read,
                package_dir,
                provenance: ProvenanceFacts {
                    repository: "https://github.com/owner/widget",
                    commit: "0123456789012345678901234567890123456789",
                    git_ref: Some("refs/tags/v1.0.0"),
                    workflow_path: workflow,
                    builder_id: builder,
                    built_at: Some("2023-04-20T17:17:18Z"),
                },
                layout: &layout,
            })
            .unwrap()
        }
    }

    fn scripts(plan: &BuildPlan) -> Vec<(&str, &str)> {
        plan.steps.iter().map(|step| (step.dir.as_str(), step.script.as_str())).collect()
    }

    fn codes(plan: &BuildPlan) -> Vec<Code> {
        plan.findings.iter().map(|finding| finding.code).collect()
    }

    const PACKAGE: &str = r#"{"name":"widget","version":"1.0.0","scripts":{"build":"tsc"}}"#;

    #[test]
    fn the_publishing_job_s_run_steps_before_publish() {
        let workflow = r"
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: npm test
  publish:
    runs-on: ubuntu-latest
    env:
      TOKEN: ${{ secrets.NPM_TOKEN }}
      MODE: release
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 16
      - uses: some/other-action@v1
      - run: npm install -g npm@latest
      - name: Build
        run: npm ci && npm run build -- --outDir ${{ github.workspace }}/dist
      - run: echo ${{ steps.meta.outputs.tag }}
      - run: |
          npm run lint
          npm publish --provenance
      - run: echo after
";
        let repo = Repo::new(&[
            ("package.json", PACKAGE),
            ("package-lock.json", "{}"),
            (".github/workflows/publish.yml", workflow),
        ]);
        let plan = repo.plan("", Some(".github/workflows/publish.yml"), "https://github.com/actions/runner");
        assert_eq!(
            plan.source,
            PlanSource::Workflow {
                path: ".github/workflows/publish.yml".into(),
                job: "publish".into(),
                publish_step: "step 7".into()
            }
        );
        assert_eq!(
            scripts(&plan),
            [("", "npm ci && npm run build -- --outDir /home/runner/work/widget/widget/dist"), ("", "npm run lint"),]
        );
        assert_eq!(plan.steps[0].env.get("MODE").map(String::as_str), Some("release"));

        assert!(!plan.steps[0].env.contains_key("TOKEN"), "secrets never reach the build");
        assert_eq!(codes(&plan), [Code::RebuildStepSkipped; 4]);
        assert_eq!(plan.node.as_ref().map(|n| n.version.as_str()), Some("16"));
        assert_eq!(plan.npm.as_ref().map(|n| n.version.as_str()), Some("latest"));
        assert_eq!(plan.lockfile.as_deref(), Some("package-lock.json"));
    }

    #[test]
    fn a_publish_script_is_followed_and_lifecycle_scripts_are_added() {
        let workflow = r"
jobs:
  release:
    defaults:
      run:
        working-directory: packages/widget
    steps:
      - uses: actions/setup-node@v4
        with:
          node-version-file: .nvmrc
      - run: npm ci
        working-directory: .
      - uses: changesets/action@v1
        with:
          publish: npm run release
";
        let package = r#"{"name":"widget","scripts":{"release":"npm run build && changeset publish","build":"tsc","prepack":"node prep.js"}}"#;
        let repo = Repo::new(&[
            ("package.json", r#"{"name":"root","private":true,"packageManager":"npm@10.2.0"}"#),
            ("packages/widget/package.json", package),
            ("package-lock.json", "{}"),
            (".nvmrc", "v18.17.1\n"),
            (".github/workflows/release.yml", workflow),
        ]);
        let plan =
            repo.plan("packages/widget", Some(".github/workflows/release.yml"), "https://github.com/npm/cli@9.4.2");
        assert_eq!(
            scripts(&plan),
            [("", "npm ci"), ("packages/widget", "npm run build"), ("packages/widget", "npm run prepack")]
        );
        assert!(plan.steps[1].npm_bin_path);
        assert_eq!(plan.node.as_ref().map(|n| n.version.as_str()), Some("v18.17.1"));
        assert_eq!(plan.npm.as_ref().map(|n| n.version.as_str()), Some("9.4.2"), "the builder id wins");
        assert_eq!(plan.package_manager.kind, PackageManagerKind::Npm);
        assert_eq!(plan.package_manager.version.as_deref(), Some("10.2.0"));
        assert!(plan.findings.is_empty(), "{:?}", plan.findings);
    }

    #[test]
    fn ignore_scripts_skips_the_lifecycle() {
        let workflow = "jobs:\n  p:\n    steps:\n      - run: npm ci && npm publish --ignore-scripts\n";
        let package = r#"{"name":"widget","scripts":{"prepare":"node evil.js"}}"#;
        let repo = Repo::new(&[("package.json", package), ("package-lock.json", "{}"), ("w.yml", workflow)]);
        assert_eq!(scripts(&repo.plan("", Some("w.yml"), "")), [("", "npm ci")]);
    }

    #[test]
    fn without_a_usable_workflow_the_lifecycle_is_used() {
        let package = r#"{"name":"widget","engines":{"node":">=18"},"scripts":{"build":"tsc"}}"#;
        let repo = Repo::new(&[("package.json", package), ("yarn.lock", "")]);
        let plan = repo.plan("", Some(".github/workflows/missing.yml"), "");
        assert!(matches!(plan.source, PlanSource::Lifecycle { .. }));
        assert_eq!(scripts(&plan), [("", "yarn install --frozen-lockfile"), ("", "yarn run build")]);
        assert_eq!(plan.node.as_ref().map(|n| n.source.as_str()), Some("engines.node in package.json"));

        let repo = Repo::new(&[
            ("package.json", r#"{"name":"widget","scripts":{"prepack":"tsc","build":"x"}}"#),
            ("w.yml", "jobs:\n  test:\n    steps:\n      - run: npm test\n"),
        ]);
        let plan = repo.plan("", Some("w.yml"), "");
        match &plan.source {
            PlanSource::Lifecycle { reason } => assert!(reason.contains("no job"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(scripts(&plan), [("", "npm install"), ("", "npm run prepack")]);
        assert_eq!(codes(&plan), [Code::RebuildNoLockfile]);
    }

    #[test]
    fn package_managers() {
        let detect = |files: &[(&str, &str)]| {
            let repo = Repo::new(files);
            let plan = repo.plan("", None, "");
            (plan.package_manager.kind, plan.lockfile)
        };
        assert_eq!(detect(&[("package.json", PACKAGE), ("pnpm-lock.yaml", "")]).0, PackageManagerKind::Pnpm);
        assert_eq!(
            detect(&[("package.json", PACKAGE), ("yarn.lock", ""), (".yarnrc.yml", "")]).0,
            PackageManagerKind::YarnBerry
        );
        let pinned = r#"{"name":"widget","packageManager":"yarn@4.1.0+sha512.abc"}"#;
        assert_eq!(detect(&[("package.json", pinned)]), (PackageManagerKind::YarnBerry, None));
    }

    #[test]
    fn layouts() {
        let layout = Layout::new("/home/runner", "https://github.com/sigstore/sigstore-js");
        assert_eq!(layout.workspace, "/home/runner/work/sigstore-js/sigstore-js");
        assert_eq!(layout.workspace_in_home(), "work/sigstore-js/sigstore-js");
        assert_eq!(Layout::new("/h", "https://example.test/../").workspace, "/h/work/package/package");
    }
}

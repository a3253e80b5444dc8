//! GitHub Actions workflow files: the jobs and steps a build plan is derived from, and the small
//! part of the `${{ }}` expression language a replayed `run:` step can use.

use std::collections::BTreeMap;

use yaml_rust2::{Yaml, YamlLoader};

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("{origin} is not valid YAML: {reason}")]
    Yaml { origin: String, reason: String },
    #[error("{origin} has no `jobs` map")]
    NoJobs { origin: String },
}

/// `defaults.run` at the workflow or job level.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunDefaults {
    pub working_directory: Option<String>,
    pub shell: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Workflow {
    pub env: BTreeMap<String, String>,
    pub defaults: RunDefaults,
    pub jobs: Vec<Job>,
}

#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub id: String,
    pub env: BTreeMap<String, String>,
    pub defaults: RunDefaults,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Step {
    /// 1-based, as GitHub numbers steps in its logs.
    pub number: usize,
    pub name: Option<String>,
    pub uses: Option<String>,
    pub run: Option<String>,
    pub with: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    pub working_directory: Option<String>,
    pub shell: Option<String>,
    pub condition: Option<String>,
}

impl Step {
    /// How the step is named in messages: `step 3 ("Build")`.
    pub fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("step {} ({name:?})", self.number),
            None => format!("step {}", self.number),
        }
    }
}

pub(crate) fn parse(text: &str, origin: &str) -> Result<Workflow, WorkflowError> {
    let docs = YamlLoader::load_from_str(text)
        .map_err(|error| WorkflowError::Yaml { origin: origin.to_string(), reason: error.to_string() })?;
    let doc = docs.into_iter().next().unwrap_or(Yaml::Null);
    let Some(jobs) = doc["jobs"].as_hash() else {
        return Err(WorkflowError::NoJobs { origin: origin.to_string() });
    };
    let jobs = jobs
        .iter()
        .map(|(id, job)| Job {
            id: scalar(id).unwrap_or_default(),
            env: string_map(&job["env"]),
            defaults: defaults(&job["defaults"]),
            steps: job["steps"]
                .as_vec()
                .map(|steps| steps.iter().enumerate().map(|(index, step)| parse_step(index + 1, step)).collect())
                .unwrap_or_default(),
        })
        .collect();
    Ok(Workflow { env: string_map(&doc["env"]), defaults: defaults(&doc["defaults"]), jobs })
}

fn parse_step(number: usize, step: &Yaml) -> Step {
    Step {
        number,
        name: scalar(&step["name"]),
        uses: scalar(&step["uses"]),
        run: scalar(&step["run"]),
        with: string_map(&step["with"]),
        env: string_map(&step["env"]),
        working_directory: scalar(&step["working-directory"]),
        shell: scalar(&step["shell"]),
        condition: scalar(&step["if"]),
    }
}

fn defaults(node: &Yaml) -> RunDefaults {
    RunDefaults { working_directory: scalar(&node["run"]["working-directory"]), shell: scalar(&node["run"]["shell"]) }
}

/// A scalar as the text GitHub would see (`node-version: 16` is the string `16`).
pub(crate) fn scalar(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(text) | Yaml::Real(text) => Some(text.clone()),
        Yaml::Integer(number) => Some(number.to_string()),
        Yaml::Boolean(value) => Some(value.to_string()),
        _ => None,
    }
}

fn string_map(node: &Yaml) -> BTreeMap<String, String> {
    node.as_hash()
        .map(|map| map.iter().filter_map(|(key, value)| Some((scalar(key)?, scalar(value)?))).collect())
        .unwrap_or_default()
}

/// What `${{ }}` expressions in a replayed step may refer to.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExpressionContext {
    /// `github.*` values (`workspace`, `sha`, `ref`, `ref_name`, `repository`, …).
    pub github: BTreeMap<String, String>,
    /// `runner.*` values.
    pub runner: BTreeMap<String, String>,
    /// `env.*`: the workflow's, job's and step's `env`, already evaluated.
    pub env: BTreeMap<String, String>,
}

/// Replaces every `${{ … }}` in `text`; an expression outside the supported subset (secrets,
/// step outputs, functions) is returned as the error, since guessing its value would change
/// what the step does.
pub(crate) fn evaluate(text: &str, context: &ExpressionContext) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else {
            return Err(rest[start..].to_string());
        };
        let expression = after[..end].trim();
        out.push_str(&value(expression, context).ok_or_else(|| format!("${{{{ {expression} }}}}"))?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn value(expression: &str, context: &ExpressionContext) -> Option<String> {
    if let Some(literal) = expression.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')) {
        return Some(literal.replace("''", "'"));
    }
    let (scope, name) = expression.split_once('.')?;
    match scope {
        "github" => context.github.get(name).cloned(),
        "runner" => context.runner.get(name).cloned(),
        "env" => context.env.get(name).cloned(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jobs_steps_and_scalars() {
        let text = r"
name: publish
on:
  release:
    types: [published]
env:
  TOP: one
defaults:
  run:
    working-directory: packages/a
jobs:
  publish:
    runs-on: ubuntu-latest
    env: { JOB: two }
    steps:
      - uses: actions/setup-node@v3
        with:
          node-version: 16
          registry-url: 'https://registry.example.test'
      - name: Build
        run: npm ci && npm run build
        working-directory: sub
        env:
          STEP: 3.10
      - run: npm publish
        if: success()
";
        let workflow = parse(text, "publish.yml").unwrap();
        assert_eq!(workflow.env["TOP"], "one");
        assert_eq!(workflow.defaults.working_directory.as_deref(), Some("packages/a"));
        let job = &workflow.jobs[0];
        assert_eq!(job.id, "publish");
        assert_eq!(job.env["JOB"], "two");
        assert_eq!(job.steps[0].with["node-version"], "16");
        assert_eq!(job.steps[1].describe(), "step 2 (\"Build\")");
        assert_eq!(job.steps[1].env["STEP"], "3.10");
        assert_eq!(job.steps[1].working_directory.as_deref(), Some("sub"));
        assert_eq!(job.steps[2].condition.as_deref(), Some("success()"));
        assert!(parse("jobs: [", "bad.yml").is_err());
        assert!(matches!(parse("name: x\n", "x.yml"), Err(WorkflowError::NoJobs { .. })));
    }

    #[test]
    fn evaluates_the_supported_expressions_only() {
        let mut context = ExpressionContext::default();
        context.github.insert("workspace".into(), "/home/runner/work/a/a".into());
        context.env.insert("DIR".into(), "dist".into());
        assert_eq!(
            evaluate("cd ${{ github.workspace }} && ls ${{env.DIR}} ${{ 'x' }}", &context).unwrap(),
            "cd /home/runner/work/a/a && ls dist x"
        );
        assert_eq!(evaluate("echo ${{ secrets.NPM_TOKEN }}", &context).unwrap_err(), "${{ secrets.NPM_TOKEN }}");
        assert!(evaluate("echo ${{ steps.x.outputs.y }}", &context).is_err());
        assert!(evaluate("echo ${{ github.workspace", &context).is_err());
    }
}

//! The SLSA provenance predicate: which repository, which commit, which workflow, which builder.
//!
//! Two shapes occur in npm attestations:
//! - SLSA v0.2 (npm 9.x, early 2023): `invocation.configSource` with the commit in
//!   `digest.sha1`; `entryPoint` is a bare workflow path or `owner/repo/path@ref`.
//! - SLSA v1: `buildDefinition.externalParameters.workflow.{repository,path,ref}` (GitHub Actions)
//!   and `resolvedDependencies[].digest.gitCommit`; GitLab CI has no `workflow` object and names
//!   the repository only in `resolvedDependencies`.

use serde::Serialize;
use serde_json::Value;

use crate::statement::{SLSA_PROVENANCE_V1, SLSA_PROVENANCE_V02};

/// What the provenance predicate says about the build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub predicate_type: String,
    pub build_type: String,
    pub builder_id: String,
    /// The source repository, as an https URL without `git+`, `.git` or a ref.
    pub repository: String,
    /// The full 40-digit commit id.
    pub commit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// The workflow (or CI configuration) file, relative to the repository root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_path: Option<String>,
    /// A link to the build run, when the predicate has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocation: Option<String>,
}

impl Provenance {
    pub fn parse(predicate_type: &str, predicate: &Value) -> Result<Self, String> {
        match predicate_type {
            SLSA_PROVENANCE_V02 => parse_v02(predicate),
            SLSA_PROVENANCE_V1 => parse_v1(predicate),
            other => Err(format!("unsupported predicate type {other}")),
        }
    }
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str).filter(|text| !text.is_empty())
}

fn required<'a>(value: &'a Value, pointer: &str) -> Result<&'a str, String> {
    text(value, pointer)
        .ok_or_else(|| format!("the predicate has no `{}`", pointer.trim_start_matches('/').replace('/', ".")))
}

fn parse_v02(predicate: &Value) -> Result<Provenance, String> {
    let uri = required(predicate, "/invocation/configSource/uri")?;
    let (repository, uri_ref) = split_git_uri(uri)?;
    let commit = check_commit(required(predicate, "/invocation/configSource/digest/sha1")?)?;
    let workflow_path = text(predicate, "/invocation/configSource/entryPoint").map(|entry_point| {
        // `owner/repo/.github/workflows/x.yml@refs/...` or a bare `.github/workflows/x.yml`.
        let path = entry_point.split_once('@').map_or(entry_point, |(path, _)| path);
        let owner_repo = repository.splitn(4, '/').nth(3).unwrap_or("");
        path.strip_prefix(owner_repo).and_then(|rest| rest.strip_prefix('/')).unwrap_or(path).to_string()
    });
    let git_ref = uri_ref.or_else(|| text(predicate, "/invocation/environment/GITHUB_REF").map(str::to_string));
    let invocation = match (
        text(predicate, "/invocation/environment/GITHUB_RUN_ID"),
        text(predicate, "/invocation/environment/GITHUB_RUN_ATTEMPT"),
    ) {
        (Some(run), Some(attempt)) => Some(format!("{repository}/actions/runs/{run}/attempts/{attempt}")),
        _ => None,
    };
    Ok(Provenance {
        predicate_type: SLSA_PROVENANCE_V02.to_string(),
        build_type: required(predicate, "/buildType")?.to_string(),
        builder_id: required(predicate, "/builder/id")?.to_string(),
        repository,
        commit,
        git_ref,
        workflow_path,
        invocation,
    })
}

fn parse_v1(predicate: &Value) -> Result<Provenance, String> {
    let build_type = required(predicate, "/buildDefinition/buildType")?.to_string();
    let builder_id = required(predicate, "/runDetails/builder/id")?.to_string();
    let invocation = text(predicate, "/runDetails/metadata/invocationId").map(str::to_string);
    let dependencies = predicate
        .pointer("/buildDefinition/resolvedDependencies")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let git_dependencies: Vec<(&str, &str)> = dependencies
        .iter()
        .filter_map(|dependency| Some((text(dependency, "/uri")?, text(dependency, "/digest/gitCommit")?)))
        .collect();

    if let Some(repository) = text(predicate, "/buildDefinition/externalParameters/workflow/repository") {
        let repository = normalize_repository(repository);
        // The dependency naming this repository carries the commit.
        let commit = git_dependencies
            .iter()
            .find(|(uri, _)| split_git_uri(uri).is_ok_and(|(dependency_repo, _)| dependency_repo == repository))
            .map(|(_, commit)| *commit)
            .ok_or_else(|| format!("no resolved dependency names {repository} with a gitCommit"))?;
        return Ok(Provenance {
            predicate_type: SLSA_PROVENANCE_V1.to_string(),
            build_type,
            builder_id,
            commit: check_commit(commit)?,
            git_ref: text(predicate, "/buildDefinition/externalParameters/workflow/ref").map(str::to_string),
            workflow_path: text(predicate, "/buildDefinition/externalParameters/workflow/path").map(str::to_string),
            repository,
            invocation,
        });
    }
    // GitLab CI and other builders: the first git dependency is the source.
    let (uri, commit) =
        git_dependencies.first().ok_or("the predicate names no workflow repository and no resolved git dependency")?;
    let (repository, git_ref) = split_git_uri(uri)?;
    Ok(Provenance {
        predicate_type: SLSA_PROVENANCE_V1.to_string(),
        build_type,
        builder_id,
        commit: check_commit(commit)?,
        git_ref,
        workflow_path: text(predicate, "/buildDefinition/externalParameters/CI_CONFIG_PATH").map(str::to_string),
        repository,
        invocation,
    })
}

/// `git+https://host/owner/repo@refs/tags/v1` → (`https://host/owner/repo`, `refs/tags/v1`).
fn split_git_uri(uri: &str) -> Result<(String, Option<String>), String> {
    let bare = uri.strip_prefix("git+").unwrap_or(uri);
    if !bare.starts_with("https://") && !bare.starts_with("http://") {
        return Err(format!("the source repository {uri:?} is not an http(s) URL"));
    }
    // An `@` in the authority (`user@host`) is not a ref separator; only one in the path is.
    let authority_start = bare.find("://").map_or(0, |index| index + 3);
    let path_start = bare[authority_start..].find('/').map_or(bare.len(), |index| authority_start + index);
    let (location, git_ref) = match bare[path_start..].rfind('@') {
        Some(index) => {
            let at = path_start + index;
            (&bare[..at], Some(bare[at + 1..].to_string()).filter(|git_ref| !git_ref.is_empty()))
        }
        None => (bare, None),
    };
    Ok((normalize_repository(location), git_ref))
}

fn normalize_repository(url: &str) -> String {
    let url = url.strip_prefix("git+").unwrap_or(url).trim_end_matches('/');
    url.strip_suffix(".git").unwrap_or(url).to_string()
}

fn check_commit(commit: &str) -> Result<String, String> {
    if commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(commit.to_ascii_lowercase())
    } else {
        Err(format!("{commit:?} is not a full git commit id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COMMIT: &str = "06528997c3c8ab9f864fad9a3658446aca7fd86d";

    #[test]
    fn slsa_v02_with_owner_repo_entry_point() {
        let predicate = json!({
            "buildType": "https://github.com/npm/cli/gha@v0",
            "builder": {"id": "https://github.com/npm/cli@9.4.2"},
            "invocation": {
                "configSource": {
                    "uri": "git+https://github.com/sigstore/sigstore-js@refs/tags/v1.0.0",
                    "digest": {"sha1": COMMIT},
                    "entryPoint": "sigstore/sigstore-js/.github/workflows/publish.yml@refs/tags/v1.0.0"
                },
                "environment": {"GITHUB_RUN_ID": "4137028816", "GITHUB_RUN_ATTEMPT": "1"}
            }
        });
        let provenance = Provenance::parse(SLSA_PROVENANCE_V02, &predicate).unwrap();
        assert_eq!(provenance.repository, "https://github.com/sigstore/sigstore-js");
        assert_eq!(provenance.commit, COMMIT);
        assert_eq!(provenance.git_ref.as_deref(), Some("refs/tags/v1.0.0"));
        assert_eq!(provenance.workflow_path.as_deref(), Some(".github/workflows/publish.yml"));
        assert_eq!(provenance.builder_id, "https://github.com/npm/cli@9.4.2");
    }

    #[test]
    fn slsa_v02_with_bare_entry_point() {
        let predicate = json!({
            "buildType": "https://github.com/npm/cli/gha/v2",
            "builder": {"id": "https://github.com/actions/runner"},
            "invocation": {"configSource": {
                "uri": "git+https://github.com/o/r@refs/heads/main",
                "digest": {"sha1": COMMIT},
                "entryPoint": ".github/workflows/release.yml"
            }}
        });
        let provenance = Provenance::parse(SLSA_PROVENANCE_V02, &predicate).unwrap();
        assert_eq!(provenance.workflow_path.as_deref(), Some(".github/workflows/release.yml"));
        assert_eq!(provenance.git_ref.as_deref(), Some("refs/heads/main"));
    }

    #[test]
    fn slsa_v1_github_and_gitlab() {
        let github = json!({
            "buildDefinition": {
                "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
                "externalParameters": {"workflow": {"ref": "refs/tags/v1.0.1", "repository": "https://github.com/o/r", "path": ".github/workflows/p.yml"}},
                "resolvedDependencies": [{"uri": "git+https://github.com/o/r@refs/tags/v1.0.1", "digest": {"gitCommit": COMMIT}}]
            },
            "runDetails": {"builder": {"id": "https://github.com/actions/runner/github-hosted"}, "metadata": {"invocationId": "https://github.com/o/r/actions/runs/1/attempts/1"}}
        });
        let provenance = Provenance::parse(SLSA_PROVENANCE_V1, &github).unwrap();
        assert_eq!((provenance.repository.as_str(), provenance.commit.as_str()), ("https://github.com/o/r", COMMIT));
        assert_eq!(provenance.workflow_path.as_deref(), Some(".github/workflows/p.yml"));

        let gitlab = json!({
            "buildDefinition": {
                "buildType": "https://github.com/npm/cli/gitlab/v0alpha1",
                "externalParameters": {"CI_CONFIG_PATH": ".gitlab-ci.yml"},
                "resolvedDependencies": [{"uri": "git+https://gitlab.com/g/p@main", "digest": {"gitCommit": COMMIT}}]
            },
            "runDetails": {"builder": {"id": "https://gitlab.com/g/p/-/runners/1"}}
        });
        let provenance = Provenance::parse(SLSA_PROVENANCE_V1, &gitlab).unwrap();
        assert_eq!(provenance.repository, "https://gitlab.com/g/p");
        assert_eq!(provenance.git_ref.as_deref(), Some("main"));
        assert_eq!(provenance.workflow_path.as_deref(), Some(".gitlab-ci.yml"));
    }

    #[test]
    fn incomplete_predicates_are_refused() {
        assert!(Provenance::parse(SLSA_PROVENANCE_V1, &json!({})).is_err());
        let short_commit = json!({
            "buildType": "t", "builder": {"id": "b"},
            "invocation": {"configSource": {"uri": "git+https://github.com/o/r", "digest": {"sha1": "abc"}}}
        });
        assert!(Provenance::parse(SLSA_PROVENANCE_V02, &short_commit).is_err());
    }
}

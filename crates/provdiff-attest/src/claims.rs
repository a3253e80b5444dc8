//! What the signing certificate says about the build, and the checks that tie it to the
//! provenance predicate.
//!
//! Fulcio copies these claims from the CI's identity token, so unlike the predicate (written by
//! whatever ran in the build) they are vouched for by the CA. The predicate must agree with them:
//! same repository, same commit, same ref, same workflow file, a runner of the kind the builder id
//! names, and the issuer of the CI that hosts the repository.

use serde::Serialize;
use sigstore_verify::crypto::CertificateInfo;

use crate::provenance::Provenance;

pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const GITLAB_ISSUER: &str = "https://gitlab.com";

/// The build claims of a Fulcio certificate, from the current extensions (`…57264.1.8` onwards)
/// or, for early-2023 certificates, the legacy GitHub ones (`.1.1`–`.1.6`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CertificateClaims {
    pub issuer: Option<String>,
    pub source_repository: Option<String>,
    pub source_commit: Option<String>,
    pub source_ref: Option<String>,
    /// The top-level workflow that ran (`…/.github/workflows/x.yml@ref`).
    pub build_config: Option<String>,
    /// The workflow that signed: the same as `build_config`, or a reusable workflow such as
    /// slsa-github-generator's.
    pub build_signer: Option<String>,
    pub runner_environment: Option<String>,
    pub run_invocation: Option<String>,
    /// Only the legacy extensions were present.
    pub legacy_only: bool,
}

impl CertificateClaims {
    pub fn from_certificate(info: &CertificateInfo) -> Self {
        let claims = &info.ci_claims;
        let legacy = &claims.deprecated_github;
        Self {
            issuer: info.issuer.clone(),
            // Legacy certificates carry `owner/repo` only; GitHub is then the host.
            source_repository: claims.source_repository_uri.clone().or_else(|| {
                legacy.workflow_repository.as_ref().map(|owner_repo| format!("https://github.com/{owner_repo}"))
            }),
            source_commit: claims.source_repository_digest.clone().or_else(|| legacy.workflow_sha.clone()),
            source_ref: claims.source_repository_ref.clone().or_else(|| legacy.workflow_ref.clone()),
            build_config: claims.build_config_uri.clone(),
            build_signer: claims.build_signer_uri.clone(),
            runner_environment: claims.runner_environment.clone(),
            run_invocation: claims.run_invocation_uri.clone(),
            legacy_only: claims.source_repository_uri.is_none() && !legacy.is_empty(),
        }
    }

    /// Every way the certificate and the predicate disagree (empty when they agree).
    pub fn disagreements(&self, provenance: &Provenance) -> Vec<String> {
        let mut problems = Vec::new();
        match &self.source_repository {
            None => problems.push("the certificate names no source repository".to_string()),
            Some(repository) if !same_repository(repository, &provenance.repository) => problems.push(format!(
                "the certificate was issued to {repository}, the predicate names {}",
                provenance.repository
            )),
            Some(_) => {}
        }
        match &self.source_commit {
            None => problems.push("the certificate names no source commit".to_string()),
            Some(commit) if !commit.eq_ignore_ascii_case(&provenance.commit) => problems.push(format!(
                "the certificate was issued for commit {commit}, the predicate names {}",
                provenance.commit
            )),
            Some(_) => {}
        }
        if let (Some(certificate_ref), Some(predicate_ref)) = (&self.source_ref, &provenance.git_ref)
            && certificate_ref != predicate_ref
        {
            problems.push(format!("the certificate names ref {certificate_ref}, the predicate {predicate_ref}"));
        }
        if let (Some(build_config), Some(workflow)) = (&self.build_config, &provenance.workflow_path)
            && let Some(path) = workflow_path_of(build_config, &provenance.repository)
            && path != *workflow
        {
            problems.push(format!("the certificate names workflow {path}, the predicate {workflow}"));
        }
        if let Some(expected) = expected_issuer(&provenance.repository)
            && self.issuer.as_deref() != Some(expected)
        {
            problems.push(format!(
                "a build of {} must be certified for the issuer {expected}, not {}",
                provenance.repository,
                self.issuer.as_deref().unwrap_or("none")
            ));
        }
        // npm's SLSA v1 builder id names the runner kind (`…/actions/runner/github-hosted`).
        if let Some(runner) = &self.runner_environment
            && let Some(builder_runner) = provenance.builder_id.strip_prefix("https://github.com/actions/runner/")
            && builder_runner != runner
        {
            problems
                .push(format!("the certificate says the runner was {runner}, the builder id says {builder_runner}"));
        }
        problems
    }
}

/// The OIDC issuer a build of a repository on a public forge must have been certified by.
fn expected_issuer(repository: &str) -> Option<&'static str> {
    if repository.starts_with("https://github.com/") {
        Some(GITHUB_ACTIONS_ISSUER)
    } else if repository.starts_with("https://gitlab.com/") {
        Some(GITLAB_ISSUER)
    } else {
        // A self-managed forge: its issuer is its own URL, which the predicate cannot vouch for.
        None
    }
}

/// `https://github.com/o/r/.github/workflows/x.yml@refs/tags/v1` → `.github/workflows/x.yml`.
fn workflow_path_of(build_config: &str, repository: &str) -> Option<String> {
    let without_ref = build_config.split_once('@').map_or(build_config, |(path, _)| path);
    let lower = without_ref.to_ascii_lowercase();
    let prefix = format!("{}/", repository.trim_end_matches('/').to_ascii_lowercase());
    lower.starts_with(&prefix).then(|| without_ref[prefix.len()..].to_string())
}

pub(crate) fn same_repository(a: &str, b: &str) -> bool {
    let normalize = |url: &str| url.trim_end_matches('/').trim_end_matches(".git").to_ascii_lowercase();
    normalize(a) == normalize(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            predicate_type: crate::statement::SLSA_PROVENANCE_V1.into(),
            build_type: "t".into(),
            builder_id: "https://github.com/actions/runner/github-hosted".into(),
            repository: "https://github.com/o/r".into(),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            git_ref: Some("refs/tags/v1".into()),
            workflow_path: Some(".github/workflows/release.yml".into()),
            invocation: None,
        }
    }

    fn claims() -> CertificateClaims {
        CertificateClaims {
            issuer: Some(GITHUB_ACTIONS_ISSUER.into()),
            source_repository: Some("https://github.com/o/r".into()),
            source_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            source_ref: Some("refs/tags/v1".into()),
            build_config: Some("https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1".into()),
            build_signer: Some(
                "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder.yml@refs/tags/v2"
                    .into(),
            ),
            runner_environment: Some("github-hosted".into()),
            run_invocation: None,
            legacy_only: false,
        }
    }

    #[test]
    fn agreeing_claims_have_no_disagreements_even_with_a_generator_as_signer() {
        assert_eq!(claims().disagreements(&provenance()), Vec::<String>::new());
    }

    #[test]
    fn each_claim_is_checked() {
        type Change = fn(&mut CertificateClaims);
        let cases: Vec<(Change, &str)> = vec![
            (|c| c.source_repository = Some("https://github.com/x/r".into()), "issued to"),
            (|c| c.source_commit = Some("f".repeat(40)), "for commit"),
            (|c| c.source_ref = Some("refs/heads/main".into()), "names ref"),
            (
                |c| c.build_config = Some("https://github.com/o/r/.github/workflows/other.yml@refs/tags/v1".into()),
                "workflow",
            ),
            (|c| c.issuer = Some("https://accounts.google.com".into()), "issuer"),
            (|c| c.runner_environment = Some("self-hosted".into()), "runner"),
            (|c| c.source_repository = None, "no source repository"),
        ];
        for (change, expected) in cases {
            let mut claims = claims();
            change(&mut claims);
            let problems = claims.disagreements(&provenance());
            assert!(problems.len() == 1 && problems[0].contains(expected), "{expected}: {problems:?}");
        }
    }
}

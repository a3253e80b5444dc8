//! What the signing certificate says about the build, and the checks that tie it to the
//! provenance predicate.
//!
//! Fulcio copies these claims from the CI's identity token, so unlike the predicate (written by
//! whatever ran in the build) they are vouched for by the CA. The predicate must agree with them:
//! same repository, same commit, same ref, same workflow file, the issuer of the CI that hosts
//! the repository, and a builder id the certificate backs. A claim of the predicate the
//! certificate contradicts is a disagreement; one it says nothing about is *not vouched*, which
//! is reported and makes an `--expect-…` policy on it fail, never pass.

use serde::Serialize;
use sigstore_verify::SubjectAltName;
use sigstore_verify::crypto::CertificateInfo;

use crate::provenance::Provenance;

pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const GITLAB_ISSUER: &str = "https://gitlab.com";

/// GitHub's runner as npm's provenance names it: bare (SLSA v0.2) or with the runner kind
/// (`…/github-hosted`, SLSA v1).
const GITHUB_RUNNER: &str = "https://github.com/actions/runner";

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
    /// The certificate's URI subject alternative name: the workflow that signed. Reported as the
    /// provenance's `signer_identity`, so not repeated here.
    #[serde(skip)]
    pub san_uri: Option<String>,
}

/// Whether the certificate backs a claim of the predicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vouch {
    /// The certificate says the same thing (when it says otherwise, that is a disagreement).
    pub certified: bool,
    /// Which claim of the certificate backs it, or why none does.
    pub basis: String,
}

impl Vouch {
    fn by(basis: impl Into<String>) -> Self {
        Self { certified: true, basis: basis.into() }
    }

    fn not(basis: impl Into<String>) -> Self {
        Self { certified: false, basis: basis.into() }
    }
}

/// What the certificate backs of the predicate's builder and workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vouching {
    pub builder: Vouch,
    pub workflow: Vouch,
}

impl Default for Vouching {
    fn default() -> Self {
        let unchecked = || Vouch::not("the certificate was not cross-checked");
        Self { builder: unchecked(), workflow: unchecked() }
    }
}

/// The outcome of cross-checking a certificate with a predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossCheck {
    /// Every way the two disagree (empty when they agree).
    pub disagreements: Vec<String>,
    pub vouching: Vouching,
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
            san_uri: match &info.identity {
                Some(SubjectAltName::Uri(uri)) => Some(uri.clone()),
                _ => None,
            },
        }
    }

    /// Cross-checks the certificate with the predicate: what they disagree on, and what of the
    /// predicate's builder and workflow the certificate backs.
    pub fn cross_check(&self, provenance: &Provenance) -> CrossCheck {
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
            && !same_ref(certificate_ref, predicate_ref, self.issuer.as_deref() == Some(GITLAB_ISSUER))
        {
            problems.push(format!("the certificate names ref {certificate_ref}, the predicate {predicate_ref}"));
        }
        // The forge is read from both repositories, its host in any letter case: the two must
        // be the same repository anyway, and a predicate must not dodge the check by writing
        // `https://GitHub.com/…`.
        let expected = [self.source_repository.as_deref(), Some(provenance.repository.as_str())]
            .into_iter()
            .flatten()
            .find_map(expected_issuer);
        let issuer_rejected = expected.is_some_and(|expected| self.issuer.as_deref() != Some(expected));
        if let Some(expected) = expected
            && issuer_rejected
        {
            problems.push(format!(
                "a build of {} must be certified for the issuer {expected}, not {}",
                self.source_repository.as_deref().unwrap_or(&provenance.repository),
                self.issuer.as_deref().unwrap_or("none")
            ));
        }
        let workflow = self.vouch_workflow(provenance, &mut problems);
        let builder = self.vouch_builder(provenance, issuer_rejected, &mut problems);
        CrossCheck { disagreements: problems, vouching: Vouching { builder, workflow } }
    }

    /// Every way the certificate and the predicate disagree (empty when they agree).
    #[cfg(test)]
    fn disagreements(&self, provenance: &Provenance) -> Vec<String> {
        self.cross_check(provenance).disagreements
    }

    /// The workflow file the certificate names: its build config URI (`.18`), or for a legacy
    /// certificate, which has none, its SAN — the workflow that signed, which is the
    /// repository's own unless a reusable workflow of another repository signed.
    fn vouch_workflow(&self, provenance: &Provenance, problems: &mut Vec<String>) -> Vouch {
        let Some(workflow) = &provenance.workflow_path else {
            return Vouch::not("the predicate names no workflow");
        };
        let repository = match &self.source_repository {
            Some(repository) if same_repository(repository, &provenance.repository) => repository,
            // Already a disagreement; a workflow of another repository says nothing more.
            _ => return Vouch::not("the certificate names another source repository, or none"),
        };
        if let Some(build_config) = &self.build_config {
            return match workflow_path_of(build_config, repository) {
                Some(path) if path == *workflow => {
                    Vouch::by(format!("the certificate's build config URI (1.3.6.1.4.1.57264.1.18) is {build_config}"))
                }
                Some(path) => {
                    problems.push(format!("the certificate names workflow {path}, the predicate {workflow}"));
                    Vouch::not("the certificate names another workflow")
                }
                None => {
                    problems.push(format!(
                        "the certificate's build config {build_config} is not a file of {repository}, the predicate names {workflow}"
                    ));
                    Vouch::not("the certificate's build config is not in the repository")
                }
            };
        }
        match (&self.san_uri, self.legacy_only) {
            (Some(san), true) => match workflow_path_of(san, repository) {
                Some(path) if path == *workflow => Vouch::by(format!(
                    "the certificate's subject alternative name is {san} (a legacy certificate names no build config)"
                )),
                Some(path) => {
                    problems.push(format!("the certificate names workflow {path}, the predicate {workflow}"));
                    Vouch::not("the certificate names another workflow")
                }
                None => Vouch::not(format!(
                    "the legacy certificate names only the workflow that signed, {san}, which is not in {repository}"
                )),
            },
            _ => Vouch::not("the certificate names no build config (1.3.6.1.4.1.57264.1.18)"),
        }
    }

    /// The builder id is the predicate's say; the certificate backs it only in these shapes:
    /// GitHub's runner (the issuer, and the runner kind against the runner environment `.11`),
    /// a workflow URL (the build signer URI `.9`, or the SAN), GitLab's runners of the project
    /// (the source repository). Any other builder id is not vouched for.
    fn vouch_builder(&self, provenance: &Provenance, issuer_rejected: bool, problems: &mut Vec<String>) -> Vouch {
        let builder = provenance.builder_id.as_str();
        let issued_by_github = self.issuer.as_deref() == Some(GITHUB_ACTIONS_ISSUER);
        let not_github = |problems: &mut Vec<String>| {
            // The repository's issuer check may have said so already.
            if !issuer_rejected {
                problems.push(format!(
                    "the builder id is GitHub Actions' runner, but the certificate's issuer is {}",
                    self.issuer.as_deref().unwrap_or("none")
                ));
            }
            Vouch::not("the certificate was not issued to GitHub Actions")
        };
        if builder == GITHUB_RUNNER {
            if !issued_by_github {
                return not_github(problems);
            }
            return Vouch::by(format!(
                "the certificate was issued to a GitHub Actions run (issuer {GITHUB_ACTIONS_ISSUER})"
            ));
        }
        if let Some(kind) = builder.strip_prefix(GITHUB_RUNNER).and_then(|rest| rest.strip_prefix('/')) {
            if !issued_by_github {
                return not_github(problems);
            }
            return match &self.runner_environment {
                Some(runner) if runner == kind => {
                    Vouch::by(format!("the certificate's runner environment (1.3.6.1.4.1.57264.1.11) is {runner}"))
                }
                Some(runner) => {
                    problems.push(format!("the certificate says the runner was {runner}, the builder id says {kind}"));
                    Vouch::not("the certificate names another runner kind")
                }
                None => Vouch::not("the certificate names no runner environment (1.3.6.1.4.1.57264.1.11)"),
            };
        }
        if let Some((workflow, _)) = builder.split_once('@')
            && workflow.contains("/.github/workflows/")
        {
            let (signer, claim) = match (&self.build_signer, &self.san_uri) {
                (Some(signer), _) => (signer, "build signer URI (1.3.6.1.4.1.57264.1.9)"),
                (None, Some(san)) => (san, "subject alternative name"),
                (None, None) => return Vouch::not("the certificate names no signing workflow"),
            };
            if same_workflow_ref(builder, signer) {
                return Vouch::by(format!("the certificate's {claim} is {signer}"));
            }
            problems.push(format!("the builder id is {builder}, but the certificate was signed by {signer}"));
            return Vouch::not("the certificate names another signing workflow");
        }
        if let Some((project, runner)) = builder.split_once("/-/runners/")
            && !runner.is_empty()
            && !runner.contains('/')
        {
            // A GitLab runner's number is not in the certificate: the id is the predicate's word even
            // when its project is the certificate's. A project it contradicts is a disagreement.
            return match &self.source_repository {
                Some(repository) if same_repository(project, repository) => Vouch::not(format!(
                    "the certificate names the project ({repository}) but not the runner: the runner number is \
                     the predicate's word"
                )),
                Some(repository) => {
                    problems.push(format!(
                        "the builder id names a runner of {project}, the certificate was issued to {repository}"
                    ));
                    Vouch::not("the certificate names another project")
                }
                None => Vouch::not("the certificate names no source repository"),
            };
        }
        let what = if builder.starts_with("https://github.com/npm/cli@") {
            "names the npm CLI that wrote the provenance; the certificate does not say which npm ran"
        } else {
            "is not a builder the certificate says anything about"
        };
        Vouch::not(format!("the builder id {builder} {what}"))
    }
}

/// A certificate's ref is always full (`refs/heads/main`); GitLab's predicate names the branch
/// or tag alone (`main`, from `CI_COMMIT_REF_NAME`), which counts only for a certificate GitLab's
/// issuer issued (elsewhere a bare name would blur a tag and a branch of the same name).
fn same_ref(certificate_ref: &str, predicate_ref: &str, gitlab: bool) -> bool {
    certificate_ref == predicate_ref
        || (gitlab
            && !predicate_ref.starts_with("refs/")
            && ["refs/heads/", "refs/tags/"]
                .iter()
                .any(|prefix| certificate_ref.strip_prefix(prefix) == Some(predicate_ref)))
}

/// Two `…/path@ref` workflow references: the repository and path in any letter case (forges
/// treat them so), the ref exactly.
fn same_workflow_ref(a: &str, b: &str) -> bool {
    match (a.split_once('@'), b.split_once('@')) {
        (Some((a_path, a_ref)), Some((b_path, b_ref))) => a_path.eq_ignore_ascii_case(b_path) && a_ref == b_ref,
        _ => false,
    }
}

/// The lowercased host of a URL (`https://user@GitHub.com:443/o/r` → `github.com`).
fn host_of(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = host.split(':').next().unwrap_or_default().trim_end_matches('.');
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The OIDC issuer a build of a repository on a public forge must have been certified by.
fn expected_issuer(repository: &str) -> Option<&'static str> {
    match host_of(repository)?.as_str() {
        "github.com" | "www.github.com" => Some(GITHUB_ACTIONS_ISSUER),
        "gitlab.com" | "www.gitlab.com" => Some(GITLAB_ISSUER),
        // A self-managed forge: its issuer is its own URL, which the predicate cannot vouch for.
        _ => None,
    }
}

/// `https://github.com/o/r/.github/workflows/x.yml@refs/tags/v1` → `.github/workflows/x.yml`;
/// GitLab's `https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main` → `.gitlab-ci.yml`. `None`
/// when the file is not in `repository`.
fn workflow_path_of(build_config: &str, repository: &str) -> Option<String> {
    let without_ref = build_config.split_once('@').map_or(build_config, |(path, _)| path);
    let lower = without_ref.to_ascii_lowercase();
    let prefix = format!("{}/", repository.trim_end_matches('/').to_ascii_lowercase());
    if !lower.starts_with(&prefix) {
        return None;
    }
    let path = &without_ref[prefix.len()..];
    let path = path.strip_prefix('/').unwrap_or(path);
    (!path.is_empty()).then(|| path.to_string())
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
            san_uri: Some(
                "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder.yml@refs/tags/v2"
                    .into(),
            ),
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

    #[test]
    fn hosts_are_read_in_any_letter_case() {
        assert_eq!(host_of("https://GitHub.com/o/r").as_deref(), Some("github.com"));
        assert_eq!(host_of("https://user@GITHUB.COM.:443/o/r").as_deref(), Some("github.com"));
        assert_eq!(host_of("not a url"), None);
        assert_eq!(expected_issuer("https://GitHub.com/victim/repo"), Some(GITHUB_ACTIONS_ISSUER));
        assert_eq!(expected_issuer("https://GitLab.com/g/p"), Some(GITLAB_ISSUER));
        assert_eq!(expected_issuer("https://git.example.com/g/p"), None);
        let mut provenance = provenance();
        provenance.repository = "https://GitHub.com/o/r".into();
        let mut claims = claims();
        claims.issuer = Some("https://accounts.google.com".into());
        let problems = claims.disagreements(&provenance);
        assert!(problems.len() == 1 && problems[0].contains("must be certified"), "{problems:?}");
    }

    #[test]
    fn refs_and_workflow_paths_in_gitlab_form() {
        assert!(same_ref("refs/heads/main", "main", true));
        assert!(same_ref("refs/tags/v1", "v1", true));
        assert!(!same_ref("refs/tags/v1", "v1", false), "only GitLab names refs short");
        assert!(same_ref("refs/heads/main", "refs/heads/main", false));
        assert!(!same_ref("refs/heads/main", "refs/tags/main", true));
        assert!(!same_ref("refs/heads/main", "other", true));
        assert_eq!(
            workflow_path_of("https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main", "https://gitlab.com/g/p")
                .as_deref(),
            Some(".gitlab-ci.yml")
        );
        assert_eq!(
            workflow_path_of("https://github.com/x/r/.github/workflows/a.yml@v1", "https://github.com/o/r"),
            None
        );
    }

    #[test]
    fn what_the_certificate_vouches_for_in_a_builder_id() {
        let generator =
            "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder.yml@refs/tags/v2";
        // (builder id, certified, disagreement expected)
        let cases = [
            ("https://github.com/actions/runner/github-hosted", true, None),
            ("https://github.com/actions/runner", true, None),
            ("https://github.com/actions/runner/self-hosted", false, Some("the runner was github-hosted")),
            (generator, true, None),
            (
                "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder.yml@refs/tags/v3",
                false,
                Some("signed by"),
            ),
            ("https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1", false, Some("signed by")),
            ("https://github.com/npm/cli@9.4.2", false, None),
            ("https://example.com/builder", false, None),
        ];
        for (builder, certified, disagreement) in cases {
            let mut provenance = provenance();
            provenance.builder_id = builder.into();
            let check = claims().cross_check(&provenance);
            assert_eq!(check.vouching.builder.certified, certified, "{builder}: {:?}", check.vouching.builder);
            match disagreement {
                Some(expected) => assert!(
                    check.disagreements.len() == 1 && check.disagreements[0].contains(expected),
                    "{builder}: {:?}",
                    check.disagreements
                ),
                None => assert!(check.disagreements.is_empty(), "{builder}: {:?}", check.disagreements),
            }
        }
        // Without a runner environment, a runner kind is not vouched for, nor contradicted.
        let mut claims = claims();
        claims.runner_environment = None;
        let check = claims.cross_check(&provenance());
        assert!(!check.vouching.builder.certified && check.disagreements.is_empty());
    }

    #[test]
    fn a_legacy_certificate_vouches_for_the_workflow_by_its_san() {
        let mut claims = claims();
        claims.build_config = None;
        claims.build_signer = None;
        claims.legacy_only = true;
        claims.san_uri = Some("https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1".into());
        let check = claims.cross_check(&provenance());
        assert!(check.disagreements.is_empty() && check.vouching.workflow.certified, "{check:?}");
        claims.san_uri = Some("https://github.com/o/r/.github/workflows/other.yml@refs/tags/v1".into());
        let check = claims.cross_check(&provenance());
        assert_eq!(
            check.disagreements,
            ["the certificate names workflow .github/workflows/other.yml, the predicate .github/workflows/release.yml"]
        );
        // A reusable workflow of another repository signed: nothing to compare, not vouched.
        claims.san_uri = Some("https://github.com/x/shared/.github/workflows/release.yml@v1".into());
        let check = claims.cross_check(&provenance());
        assert!(check.disagreements.is_empty() && !check.vouching.workflow.certified, "{check:?}");
    }
}

//! Identity policy: what an auditor expects of the build (`--expect-repository`,
//! `--expect-workflow`, `--expect-ref`, `--expect-builder`, `--expect-runner`). Verified claims are
//! only worth something once compared with an expectation; npm's own check applies none.

use provdiff_core::{Code, Finding};
use serde::Serialize;

use crate::claims::{Vouch, same_repository};
use crate::verify::VerifiedProvenance;

/// A value to match: exact, or a glob when it holds `*` or `?` (`*` crosses `/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pattern(pub String);

impl Pattern {
    pub fn matches(&self, value: &str) -> bool {
        glob(self.0.as_bytes(), value.as_bytes())
    }
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative wildcard matching with a single backtrack point: linear in practice.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// The expectations; unset ones are not checked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdentityPolicy {
    pub repository: Option<Pattern>,
    pub workflow: Option<Pattern>,
    pub git_ref: Option<Pattern>,
    pub builder: Option<Pattern>,
    /// `github-hosted`, `self-hosted`, …
    pub runner: Option<String>,
}

impl IdentityPolicy {
    pub fn is_empty(&self) -> bool {
        self.repository.is_none()
            && self.workflow.is_none()
            && self.git_ref.is_none()
            && self.builder.is_none()
            && self.runner.is_none()
    }

    /// Findings for every expectation the verified provenance does not meet, and a warning for a
    /// self-hosted runner. A builder or workflow that matches but that the signing certificate
    /// does not back fails too: the predicate alone is whatever the build wrote.
    pub fn check(&self, verified: &VerifiedProvenance) -> Vec<Finding> {
        let provenance = &verified.provenance;
        let mut failures: Vec<String> = Vec::new();
        let mismatch = |what: &str, expected: &Pattern, actual: Option<&str>| {
            format!("expected {what} {}, the provenance names {}", expected.0, actual.unwrap_or("none"))
        };
        let unvouched = |what: &str, expected: &Pattern, actual: &str, vouch: &Vouch| {
            format!(
                "expected {what} {}: the provenance names {actual}, but the signing certificate does not vouch for it ({})",
                expected.0, vouch.basis
            )
        };
        if let Some(expected) = &self.repository {
            let matches = if expected.0.contains(['*', '?']) {
                expected.matches(&provenance.repository)
            } else {
                same_repository(&expected.0, &provenance.repository)
            };
            if !matches {
                failures.push(mismatch("repository", expected, Some(&provenance.repository)));
            }
        }
        if let Some(expected) = &self.workflow {
            match provenance.workflow_path.as_deref() {
                Some(workflow) if expected.matches(workflow) => {
                    if !verified.vouched.workflow.certified {
                        failures.push(unvouched("workflow", expected, workflow, &verified.vouched.workflow));
                    }
                }
                actual => failures.push(mismatch("workflow", expected, actual)),
            }
        }
        if let Some(expected) = &self.git_ref
            && !provenance.git_ref.as_deref().is_some_and(|git_ref| expected.matches(git_ref))
        {
            failures.push(mismatch("ref", expected, provenance.git_ref.as_deref()));
        }
        if let Some(expected) = &self.builder {
            if !expected.matches(&provenance.builder_id) {
                failures.push(mismatch("builder", expected, Some(&provenance.builder_id)));
            } else if !verified.vouched.builder.certified {
                failures.push(unvouched("builder", expected, &provenance.builder_id, &verified.vouched.builder));
            }
        }
        let runner = verified.certificate.runner_environment.as_deref();
        if let Some(expected) = &self.runner
            && runner != Some(expected.as_str())
        {
            failures
                .push(format!("expected a {expected} runner, the certificate says {}", runner.unwrap_or("nothing")));
        }
        let mut findings: Vec<Finding> =
            failures.into_iter().map(|detail| Finding::new(Code::IdentityPolicyFailed, detail)).collect();
        if runner == Some("self-hosted") {
            findings.push(Finding::new(
                Code::SelfHostedRunner,
                "the build ran on a self-hosted runner, whose environment the repository's owner controls",
            ));
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let pattern = |p: &str| Pattern(p.to_string());
        assert!(pattern("refs/tags/v*").matches("refs/tags/v1.2.3"));
        assert!(!pattern("refs/tags/v*").matches("refs/heads/main"));
        assert!(pattern("*").matches(""));
        assert!(pattern("a?c").matches("abc"));
        assert!(pattern("https://github.com/o/*").matches("https://github.com/o/r"));
        assert!(pattern("*.yml").matches(".github/workflows/x.yml"));
        assert!(!pattern("exact").matches("exactly"));
    }
}

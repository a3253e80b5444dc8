//! The verdict as an unsigned in-toto Statement v1, for policy engines: the subject is the
//! package tarball (its purl and sha512), the predicate (`https://provdiff.dev/verdict/v1`,
//! documented in `docs/verdict-predicate.md`) records the verdict, the source compared with, the
//! tool, the findings and the time. provdiff does not sign it; a CI system that trusts the run may.

use anyhow::{Context, Result, bail};
use provdiff_core::{Finding, Severity, Sha512, Verdict};
use serde::Serialize;

use crate::report::{FileCounts, Tool};

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://provdiff.dev/verdict/v1";

#[derive(Debug, Serialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: &'static str,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: &'static str,
    pub predicate: Predicate,
}

#[derive(Debug, Serialize)]
pub struct Subject {
    /// `pkg:npm/NAME@VERSION`, a scope's `@` percent-encoded.
    pub name: String,
    pub digest: SubjectDigest,
}

#[derive(Debug, Serialize)]
pub struct SubjectDigest {
    /// Lowercase hex.
    pub sha512: String,
}

#[derive(Debug, Serialize)]
pub struct Predicate {
    pub verdict: Verdict,
    /// What the package was compared with: the attested commit (`check`), or B when it is a git
    /// revision (`diff`); `null` when nothing was compared with a commit.
    pub source: Option<Source>,
    pub tool: Tool,
    /// Files by status.
    pub files: FileCounts,
    pub findings: Vec<PredicateFinding>,
    /// What `check --rebuild` did; absent without `--rebuild`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebuild: Option<Rebuild>,
    /// When the statement was made (RFC 3339, UTC; `SOURCE_DATE_EPOCH` when set).
    pub timestamp: String,
}

/// The rebuild the verdict rests on.
#[derive(Debug, Serialize)]
pub struct Rebuild {
    /// `built`, `failed`, `refused-by-sandbox`, or `not-needed` (the commit alone reproduced the
    /// package, so nothing ran).
    pub status: &'static str,
    /// Whether the build ran in the sandbox (`false` with `--unsandboxed`); `null` when nothing ran.
    pub sandboxed: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct Source {
    pub repository: String,
    pub commit: String,
    /// The package's directory in the repository (`""` for the root).
    pub directory: String,
}

#[derive(Debug, Serialize)]
pub struct PredicateFinding {
    pub code: &'static str,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub detail: String,
}

/// The tarball a statement is about: `name@version`, with digest `sha512`.
#[derive(Debug, Clone, Copy)]
pub struct Tarball<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub sha512: &'a Sha512,
}

/// The statement about `tarball`.
pub fn statement(
    tarball: Tarball<'_>,
    verdict: Verdict,
    source: Option<Source>,
    counts: FileCounts,
    findings: &[Finding],
    rebuild: Option<Rebuild>,
) -> Result<Statement> {
    let Tarball { name, version, sha512 } = tarball;
    if name.is_empty() || version.is_empty() {
        bail!("--attestation: the package's package.json has no name or version to name the statement's subject");
    }
    Ok(Statement {
        statement_type: STATEMENT_TYPE,
        subject: vec![Subject {
            name: provdiff_attest::npm_purl(name, version),
            digest: SubjectDigest { sha512: sha512.to_hex() },
        }],
        predicate_type: PREDICATE_TYPE,
        predicate: Predicate {
            verdict,
            source,
            tool: Tool::current(),
            files: counts,
            findings: findings
                .iter()
                .map(|finding| PredicateFinding {
                    code: finding.code.as_str(),
                    severity: finding.severity,
                    path: finding.path.clone(),
                    detail: finding.detail.clone(),
                })
                .collect(),
            rebuild,
            timestamp: timestamp()?,
        },
    })
}

/// Now, to the second; or `SOURCE_DATE_EPOCH`, so that a build can make the statement reproducible.
fn timestamp() -> Result<String> {
    let now = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => {
            let seconds: i64 = epoch
                .trim()
                .parse()
                .with_context(|| format!("SOURCE_DATE_EPOCH={epoch:?} is not a number of seconds"))?;
            jiff::Timestamp::from_second(seconds)
                .with_context(|| format!("SOURCE_DATE_EPOCH={epoch:?} is out of range"))?
        }
        Err(_) => jiff::Timestamp::now(),
    };
    let seconds = jiff::Timestamp::from_second(now.as_second())?;
    Ok(seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use provdiff_core::Code;

    #[test]
    fn a_scoped_package_is_a_percent_encoded_purl_with_a_hex_digest() {
        let sha512 = Sha512::digest(b"tgz");
        let findings = [Finding::at(Code::ContentDiffers, "a.js", "1 line differs").with_diff("+x".into())];
        let tarball = |name| Tarball { name, version: "1.0.0", sha512: &sha512 };
        let made =
            statement(tarball("@scope/pkg"), Verdict::Mismatch, None, FileCounts::default(), &findings, None).unwrap();
        let json = serde_json::to_value(&made).unwrap();
        assert_eq!(json["_type"], STATEMENT_TYPE);
        assert_eq!(json["predicateType"], PREDICATE_TYPE);
        assert_eq!(json["subject"][0]["name"], "pkg:npm/%40scope/pkg@1.0.0");
        assert_eq!(json["subject"][0]["digest"]["sha512"], sha512.to_hex());
        assert_eq!(json["predicate"]["verdict"], "mismatch");
        assert_eq!(
            json["predicate"]["findings"][0],
            serde_json::json!({"code": "content-differs", "severity": "mismatch", "path": "a.js", "detail": "1 line differs"})
        );
        assert!(json["predicate"].get("rebuild").is_none(), "only with --rebuild");
        assert!(statement(tarball(""), Verdict::Mismatch, None, FileCounts::default(), &[], None).is_err());
    }
}

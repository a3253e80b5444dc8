//! in-toto statements as npm signs them: one subject, the package's purl, with a sha512 digest.

use provdiff_core::Sha512;
use serde_json::Value;

pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPES: [&str; 2] = ["https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1"];
pub const SLSA_PROVENANCE_V02: &str = "https://slsa.dev/provenance/v0.2";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
pub const NPM_PUBLISH_V01: &str = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1";

/// What an attestation attests, by its signed predicate type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttestationKind {
    Provenance,
    Publish,
    Other,
}

impl AttestationKind {
    pub fn of(predicate_type: &str) -> Self {
        match predicate_type {
            SLSA_PROVENANCE_V02 | SLSA_PROVENANCE_V1 => Self::Provenance,
            NPM_PUBLISH_V01 => Self::Publish,
            _ => Self::Other,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Provenance => "provenance",
            Self::Publish => "publish attestation",
            Self::Other => "attestation",
        }
    }
}

/// A parsed statement. Read leniently, field by field, so that every defect can be named by the
/// checks instead of failing as one anonymous parse error.
#[derive(Debug, Clone)]
pub struct Statement {
    pub statement_type: Option<String>,
    pub predicate_type: Option<String>,
    subject: Value,
    pub predicate: Value,
}

/// Why a statement is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementProblem {
    /// The statement itself is unusable: the detail says how.
    Invalid(String),
    SubjectName {
        expected: String,
        actual: String,
    },
    SubjectDigest(String),
}

impl Statement {
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let value: Value =
            serde_json::from_slice(payload).map_err(|e| format!("the signed payload is not JSON: {e}"))?;
        let Value::Object(mut fields) = value else {
            return Err("the signed payload is not a JSON object".into());
        };
        let text = |value: Option<Value>| match value {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        Ok(Self {
            statement_type: text(fields.remove("_type")),
            predicate_type: text(fields.remove("predicateType")),
            subject: fields.remove("subject").unwrap_or(Value::Null),
            predicate: fields.remove("predicate").unwrap_or(Value::Null),
        })
    }

    /// Checks the statement's type and its one subject against the package.
    pub fn check(&self, purl: &str, sha512: &Sha512) -> Vec<StatementProblem> {
        let mut problems = Vec::new();
        match self.statement_type.as_deref() {
            Some(kind) if STATEMENT_TYPES.contains(&kind) => {}
            Some(kind) => problems.push(StatementProblem::Invalid(format!("unexpected statement `_type` {kind:?}"))),
            None => problems.push(StatementProblem::Invalid("the statement has no `_type` string".into())),
        }
        let subjects = match &self.subject {
            Value::Array(subjects) => subjects.as_slice(),
            Value::Null => &[],
            _ => {
                problems.push(StatementProblem::Invalid("the statement's `subject` is not a list".into()));
                return problems;
            }
        };
        let subject = match subjects {
            [] => {
                problems.push(StatementProblem::Invalid("the statement has no subject".into()));
                return problems;
            }
            [only] => only,
            several => {
                problems.push(StatementProblem::Invalid(format!(
                    "the statement has {} subjects; npm attests exactly one package",
                    several.len()
                )));
                return problems;
            }
        };
        let name = subject.get("name").and_then(Value::as_str).unwrap_or("");
        if name != purl {
            problems.push(StatementProblem::SubjectName { expected: purl.to_string(), actual: name.to_string() });
        }
        match subject.get("digest") {
            None | Some(Value::Null) => {
                problems.push(StatementProblem::SubjectDigest("the subject has no digest".into()))
            }
            Some(Value::Object(digests)) => match digests.get("sha512") {
                None => problems.push(StatementProblem::SubjectDigest("the subject has no sha512 digest".into())),
                Some(Value::String(hex_digits)) => match Sha512::from_hex(hex_digits) {
                    Ok(digest) if digest == *sha512 => {}
                    Ok(digest) => problems.push(StatementProblem::SubjectDigest(format!(
                        "the subject's sha512 is {}…, the tarball's is {}…",
                        &digest.to_hex()[..16],
                        &sha512.to_hex()[..16]
                    ))),
                    Err(error) => problems.push(StatementProblem::SubjectDigest(error.to_string())),
                },
                Some(_) => {
                    problems.push(StatementProblem::SubjectDigest("the subject's sha512 is not a string".into()))
                }
            },
            Some(_) => problems.push(StatementProblem::SubjectDigest("the subject's digest is not an object".into())),
        }
        problems
    }
}

/// The package URL npm puts in subjects: `pkg:npm/NAME@VERSION`, with a scope's `@` encoded.
pub fn npm_purl(name: &str, version: &str) -> String {
    let name = match name.strip_prefix('@') {
        Some(scoped) => format!("%40{scoped}"),
        None => name.to_string(),
    };
    format!("pkg:npm/{name}@{version}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        assert_eq!(npm_purl("gundam-visor", "1.0.1"), "pkg:npm/gundam-visor@1.0.1");
        assert_eq!(npm_purl("@scope/pkg", "2.0.0-rc.1"), "pkg:npm/%40scope/pkg@2.0.0-rc.1");
    }

    fn problems(json: &str) -> Vec<StatementProblem> {
        let digest = Sha512::digest(b"tarball");
        Statement::parse(json.replace("DIGEST", &digest.to_hex()).as_bytes()).unwrap().check("pkg:npm/a@1.0.0", &digest)
    }

    #[test]
    fn statement_checks() {
        let ok = r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"pkg:npm/a@1.0.0","digest":{"sha512":"DIGEST"}}],"predicateType":"p"}"#;
        assert!(problems(ok).is_empty());
        assert!(matches!(&problems(&ok.replace("Statement/v1", "Statement/v9"))[..], [StatementProblem::Invalid(_)]));
        assert!(matches!(&problems(&ok.replace("a@1.0.0", "b@1.0.0"))[..], [StatementProblem::SubjectName { .. }]));
        assert!(matches!(&problems(&ok.replace("sha512", "sha256"))[..], [StatementProblem::SubjectDigest(_)]));
        assert!(matches!(&problems(&ok.replace("DIGEST", "00"))[..], [StatementProblem::SubjectDigest(_)]));
        let none = r#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}"#;
        assert!(matches!(&problems(none)[..], [StatementProblem::Invalid(_)]));
        let digest_string = ok.replace(r#"{"sha512":"DIGEST"}"#, r#""DIGEST""#);
        assert!(matches!(&problems(&digest_string)[..], [StatementProblem::SubjectDigest(_)]));
    }
}

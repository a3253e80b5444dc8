//! Errors that stop a command (exit 2): a stable code saying which kind of input or operation
//! failed, the file or argument it concerns, and the one-line message. With `--json` they are
//! also printed on stdout as an error document (`docs/error.schema.json`), so a machine never
//! has to parse stderr.
//!
//! Errors are ordinary `anyhow` chains; [`Tag`] marks the layer that knows which input failed,
//! and [`classify`] reads the mark (or, for the libraries' own typed errors, their type).

use std::path::Path;

use serde::Serialize;

/// What kind of thing failed. Codes are part of the JSON contract: never renamed or reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The arguments do not make a command: missing, conflicting or malformed options.
    Usage,
    /// A file cannot be read at all (missing, unreadable).
    InputUnreadable,
    /// An attestations file is not JSON, or neither a registry response nor a bundle.
    AttestationsInvalid,
    /// A package tarball cannot be read (not gzip or tar, truncated, unsafe paths, no
    /// `package.json`).
    TarballInvalid,
    /// A trusted root or npm keys file given to override the embedded trust is not usable.
    TrustInvalid,
    /// A public key given to `verify-bundle --key` is not a PEM public key.
    KeyInvalid,
    /// A digest argument is not `sha512:HEX` (or an npm integrity string, or `sha256:HEX`).
    DigestInvalid,
    /// A `NAME@VERSION` argument cannot be read.
    PackageSpecInvalid,
    /// The package's directory cannot be found at the attested commit.
    PackageNotFound,
    /// The registry cannot be reached or configured, or serves something unusable.
    Registry,
    /// A repository cannot be opened or fetched, or lacks the commit.
    Git,
    /// A rebuild could not run or failed.
    Rebuild,
    /// A report file cannot be written.
    Output,
    /// Anything else.
    Error,
}

impl ErrorCode {
    #[cfg(test)]
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::Usage,
        ErrorCode::InputUnreadable,
        ErrorCode::AttestationsInvalid,
        ErrorCode::TarballInvalid,
        ErrorCode::TrustInvalid,
        ErrorCode::KeyInvalid,
        ErrorCode::DigestInvalid,
        ErrorCode::PackageSpecInvalid,
        ErrorCode::PackageNotFound,
        ErrorCode::Registry,
        ErrorCode::Git,
        ErrorCode::Rebuild,
        ErrorCode::Output,
        ErrorCode::Error,
    ];
}

/// Marks an error with its code and the input it concerns. Its message is the wrapped error's,
/// and its causes are the wrapped error's causes: a tag adds nothing to the one-line message.
#[derive(Debug)]
pub struct Tagged {
    pub code: ErrorCode,
    pub file: Option<String>,
    pub field: Option<String>,
    inner: anyhow::Error,
}

impl std::fmt::Display for Tagged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.inner, f)
    }
}

impl std::error::Error for Tagged {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

/// An error whose report has already been printed (a failed rebuild ends with the report):
/// no error document follows it, or stdout would hold two JSON documents.
#[derive(Debug)]
pub struct Reported(pub String);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Reported {}

/// Tagging results with the input that failed.
pub trait Tag<T> {
    /// The failure concerns this file.
    fn tag_file(self, code: ErrorCode, file: &Path) -> anyhow::Result<T>;
    /// The failure concerns this argument (`--digest`).
    fn tag_field(self, code: ErrorCode, field: &str) -> anyhow::Result<T>;
    /// The failure concerns no one input.
    fn tag(self, code: ErrorCode) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> Tag<T> for Result<T, E> {
    fn tag_file(self, code: ErrorCode, file: &Path) -> anyhow::Result<T> {
        self.map_err(|error| tagged(code, Some(file.display().to_string()), None, error.into()))
    }

    fn tag_field(self, code: ErrorCode, field: &str) -> anyhow::Result<T> {
        self.map_err(|error| tagged(code, None, Some(field.to_string()), error.into()))
    }

    fn tag(self, code: ErrorCode) -> anyhow::Result<T> {
        self.map_err(|error| tagged(code, None, None, error.into()))
    }
}

/// Marks an error with its code alone.
pub fn tag_code(error: anyhow::Error, code: ErrorCode) -> anyhow::Error {
    tagged(code, None, None, error)
}

/// An argument that makes no sense with the others.
pub fn tag_usage(error: anyhow::Error, field: &str) -> anyhow::Error {
    tagged(ErrorCode::Usage, None, Some(field.to_string()), error)
}

fn tagged(code: ErrorCode, file: Option<String>, field: Option<String>, inner: anyhow::Error) -> anyhow::Error {
    // The innermost tag knows best; do not cover it with a vaguer one.
    if inner.chain().any(|cause| cause.is::<Tagged>()) {
        return inner;
    }
    anyhow::Error::new(Tagged { code, file, field, inner })
}

/// An error, as the JSON error document and the one-line message say it.
#[derive(Debug, Serialize)]
pub struct ErrorReport {
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

/// The code and input of an error: its tag, else what the type of a library error says.
pub fn classify(error: &anyhow::Error) -> ErrorReport {
    let message = format!("{error:#}");
    if let Some(tag) = error.chain().find_map(|cause| cause.downcast_ref::<Tagged>()) {
        return ErrorReport { code: tag.code, file: tag.file.clone(), field: tag.field.clone(), message };
    }
    let code = error
        .chain()
        .find_map(|cause| {
            if cause.is::<provdiff_registry::SpecError>() {
                Some(ErrorCode::PackageSpecInvalid)
            } else if cause.is::<provdiff_registry::Error>() || cause.is::<provdiff_registry::ConfigError>() {
                Some(ErrorCode::Registry)
            } else if cause.is::<provdiff_git::GitError>() || cause.is::<provdiff_git::FetchError>() {
                Some(ErrorCode::Git)
            } else if cause.is::<provdiff_rebuild::RebuildError>() {
                Some(ErrorCode::Rebuild)
            } else if cause.is::<provdiff_npm::TarballError>() {
                Some(ErrorCode::TarballInvalid)
            } else {
                None
            }
        })
        .unwrap_or(ErrorCode::Error);
    ErrorReport { code, file: None, field: None, message }
}

/// The document `--json` prints on stdout when a command stops with an error.
#[derive(Debug, Serialize)]
pub struct ErrorDocument<'a> {
    pub schema_version: u32,
    pub tool: crate::report::Tool,
    pub error: &'a ErrorReport,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_changes_nothing_in_the_message_and_the_innermost_wins() {
        let error: anyhow::Result<()> = Err(anyhow::anyhow!("not JSON"));
        let error = error
            .tag_file(ErrorCode::AttestationsInvalid, Path::new("a.json"))
            .map_err(|e| e.context("cannot read attestations"))
            .tag(ErrorCode::Error)
            .unwrap_err();
        let report = classify(&error);
        assert_eq!(report.code, ErrorCode::AttestationsInvalid);
        assert_eq!(report.file.as_deref(), Some("a.json"));
        assert_eq!(report.message, "cannot read attestations: not JSON");
    }

    #[test]
    fn the_error_schema_lists_every_code() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/error.schema.json");
        let schema: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(path).unwrap()).unwrap();
        let listed = &schema["$defs"]["error"]["properties"]["code"]["enum"];
        let codes: Vec<serde_json::Value> =
            ErrorCode::ALL.iter().map(|code| serde_json::to_value(code).unwrap()).collect();
        assert_eq!(listed.as_array().unwrap(), &codes);
    }

    #[test]
    fn codes_are_kebab_case_and_distinct() {
        let names: Vec<String> = ErrorCode::ALL
            .iter()
            .map(|code| serde_json::to_value(code).unwrap().as_str().unwrap().to_string())
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(names.iter().all(|name| name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')));
    }
}

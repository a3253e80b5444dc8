//! Findings: what provdiff noticed, as data. Each has a stable kebab-case [`Code`] (documented in
//! `docs/findings.md`; a test keeps the two in step), an optional path and a human detail.
//! Findings are not errors: a signature that does not verify is a finding that makes the verdict
//! `unverified`; an unreadable input file is an error.

use serde::Serialize;

/// How a finding weighs on the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Context only; never changes the verdict.
    Info,
    /// Worth a person's attention, but does not change the verdict.
    Warning,
    /// A difference with a known, benign cause, listed so nobody has to take it on trust.
    Explained,
    /// Cannot be proven either way without rebuilding.
    Inconclusive,
    /// The attested source cannot be obtained (the commit or repository is gone).
    Unavailable,
    /// The package is not what the source produces.
    Mismatch,
    /// The attestations do not prove what they claim.
    Unverified,
}

macro_rules! codes {
    ($( $(#[$meta:meta])* $variant:ident = $name:literal, $severity:ident, $summary:literal; )*) => {
        /// Every finding code provdiff emits. Codes are part of the JSON report's contract:
        /// never rename one, only add.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum Code {
            $( $(#[$meta])* #[serde(rename = $name)] $variant, )*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable kebab-case name.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    // Attestations.
    BundleMalformed = "bundle-malformed", Unverified,
        "An attestation bundle cannot be read: bad JSON shape, unknown media type or missing parts.";
    CertificateInvalid = "certificate-invalid", Unverified,
        "The signing certificate does not chain to the trusted root, was not valid at signing time, or its SCT does not verify.";
    SignatureInvalid = "signature-invalid", Unverified,
        "The DSSE signature does not verify over the envelope's payload.";
    TlogInvalid = "tlog-invalid", Unverified,
        "The transparency-log entry, its signed entry timestamp, inclusion proof or checkpoint does not verify, or does not describe this bundle.";
    TimestampInvalid = "timestamp-invalid", Unverified,
        "An RFC 3161 timestamp does not verify, or no verified time is available.";
    StatementInvalid = "statement-invalid", Unverified,
        "The signed payload is not an in-toto statement provdiff accepts (payload type, `_type`, subjects).";
    PredicateTypeMismatch = "predicate-type-mismatch", Unverified,
        "The unsigned `predicateType` next to a bundle disagrees with the signed statement's.";
    SubjectDigestMismatch = "subject-digest-mismatch", Unverified,
        "The statement's subject digest is not the tarball's sha512, or is missing.";
    SubjectNameMismatch = "subject-name-mismatch", Unverified,
        "The statement's subject is not the package's purl (`pkg:npm/NAME@VERSION`).";
    ProvenanceMissing = "provenance-missing", Unverified,
        "No SLSA provenance attestation was found among the inputs.";
    ProvenanceAmbiguous = "provenance-ambiguous", Unverified,
        "More than one SLSA provenance attestation was given; provdiff will not pick one.";
    ProvenanceUnsupported = "provenance-unsupported", Unverified,
        "The provenance predicate does not name a source repository and commit provdiff can read.";
    PublishKeyUnknown = "publish-key-unknown", Unverified,
        "No npm registry key matches the publish attestation's key hint at its verified time.";
    PublishTimeUnverified = "publish-time-unverified", Unverified,
        "The publish attestation has no verified time (signed entry timestamp or RFC 3161 timestamp) to check npm's key window against.";
    ClaimsDisagree = "claims-disagree", Unverified,
        "The signing certificate's repository, commit, ref, workflow, issuer or builder claims contradict the provenance's, or it names no repository or commit.";
    IdentityPolicyFailed = "identity-policy-failed", Unverified,
        "The verified provenance does not meet an --expect-… identity policy (repository, workflow, ref, builder, runner), or meets it only with a claim the certificate does not vouch for.";
    SelfHostedRunner = "self-hosted-runner", Warning,
        "The build ran on a self-hosted runner, whose environment the repository's owner controls.";
    AttestationIgnored = "attestation-ignored", Info,
        "An attestation of a kind provdiff does not use (neither SLSA provenance nor npm publish) was skipped.";
    PublishAmbiguous = "publish-ambiguous", Unverified,
        "More than one npm publish attestation was given; provdiff will not pick one.";
    PublishNotChecked = "publish-not-checked", Info,
        "No npm publish attestation was given, so only the provenance was verified.";

    // The source tree.
    SubmoduleNotPacked = "submodule-not-packed", Info,
        "The source has a git submodule; its files are not in the repository, so it packs as the empty directory a plain checkout leaves.";
    SymlinkSkipped = "symlink-skipped", Info,
        "The source has a symbolic link where npm would look; npm pack skips links, and so does provdiff.";
    UnreadablePath = "unreadable-path", Info,
        "A source path provdiff cannot represent (a name that is not UTF-8, an ignore file that is a link); what npm does with it is not reproduced.";

    SourceUnavailable = "source-unavailable", Unavailable,
        "The attested commit cannot be fetched: the repository no longer has it (force-pushed away), the repository is gone, or it asks for credentials nobody gave (private or deleted: GitHub answers both alike).";
    LfsObjectVerified = "lfs-object-verified", Explained,
        "The source holds a Git LFS pointer; the package holds the object whose SHA-256 and size the pointer names.";

    // The registry.
    RegistrySignatureInvalid = "registry-signature-invalid", Warning,
        "The registry's signature over NAME@VERSION:INTEGRITY (dist.signatures) does not verify with npm's keys.";

    // The published tarball's container.
    GzipMultipleMembers = "gzip-multiple-members", Mismatch,
        "The tarball's gzip stream has more than one member; npm would extract all of them.";
    GzipTrailingData = "gzip-trailing-data", Mismatch,
        "Bytes follow the gzip stream: data no build of the source explains.";
    GzipHeaderFields = "gzip-header-fields", Mismatch,
        "The gzip header carries a file name, comment or extra field that npm never writes.";
    TarTrailingData = "tar-trailing-data", Mismatch,
        "Data follows the tar archive's end marker: bytes npm never reads and no build of the source explains.";
    TarDuplicateEntry = "tar-duplicate-entry", Mismatch,
        "The tarball holds the same path twice; extractors disagree on which copy wins.";
    TarSpecialEntry = "tar-special-entry", Mismatch,
        "The tarball holds a symlink, hard link or device entry, which npm pack never writes.";
    TarHeaderSkipped = "tar-header-skipped", Mismatch,
        "npm's tar reader skips a header block (bad checksum, no path, a link name on a file, a number it refuses) and reads the next block as a header; provdiff reads on as npm does.";
    TarDirectoryData = "tar-directory-data", Mismatch,
        "A directory entry declares data; npm reads that data as further entries, which other readers skip.";
    TarHeaderAmbiguous = "tar-header-ambiguous", Mismatch,
        "A tar header that tar readers interpret differently (lenient numbers, repeated or ignored pax keys, several extended headers, odd path components); provdiff reads it as npm does.";
    TarRootDirectory = "tar-root-directory", Info,
        "The tarball's top-level directory is not `package/` (older publishing tools).";

    // File comparison.
    ContentDiffers = "content-differs", Mismatch,
        "A file's bytes in the package differ from the file the source produces.";
    LineEndingsDiffer = "line-endings-differ", Mismatch,
        "A text file's lines are the source's, but end differently (CRLF, LF or CR): npm ships bytes as they are, so the commit does not produce these.";
    TrailingNewlineDiffers = "trailing-newline-differs", Mismatch,
        "A text file is the source's but for the whitespace at its end (a final newline added or removed, blank lines or spaces after the last line).";
    ModeDiffers = "mode-differs", Mismatch,
        "A file's permission bits in the package are not the ones the source gives (an executable bit, or any other).";
    ModeSpecialBits = "mode-special-bits", Mismatch,
        "A file in the package has the setuid, setgid or sticky bit, which npm pack never writes and npm install keeps.";
    OnlyInPackage = "only-in-package", Mismatch,
        "A file is in the package but not in the source, and nothing ties it to a build: no matching source, source map or entry point with a build step, or a rebuild did not produce it.";
    BuildOutput = "build-output", Inconclusive,
        "A file is in the package but not in the source, a source it is built from (or a source map or entry point naming it) exists, and a build step or compiler config may produce it: only a rebuild can prove it.";
    OnlyInSource = "only-in-source", Mismatch,
        "The source would publish a file that the package does not contain.";
    EncodingDiffers = "encoding-differs", Info,
        "Same files, same bytes, same modes; only the archive encoding (tar headers or deflate stream) differs.";

    // package.json and the publishing tool.
    PackageJsonFieldDiffers = "package-json-field-differs", Mismatch,
        "A package.json field differs from the source in a way no known publish-time rewrite explains (install hooks are called out).";
    PackageJsonLayoutDiffers = "package-json-layout-differs", Mismatch,
        "package.json has the values the source gives, but its bytes are not what the publishing tool writes.";
    PublishRewrite = "publish-rewrite", Explained,
        "A package.json field the publishing tool (pnpm, yarn berry) rewrites, rewritten exactly as it does.";
    PublishReformatted = "publish-reformatted", Explained,
        "package.json was re-serialised by a publishing tool that writes it anew (two-space indentation, no final newline).";
    PublishFileMode = "publish-file-mode", Explained,
        "A file's executable bit is the one the publishing tool sets (pnpm and yarn berry make exactly the package's bins executable), not the source's.";
    PublishAddedFile = "publish-added-file", Explained,
        "A file the publishing tool adds to every package (pnpm's workspace licence, yarn's always-included files), with the source's bytes.";
    // Rebuilding (`check --rebuild`).
    RebuildNeeded = "rebuild-needed", Info,
        "Files in the package can only come from a build; `--rebuild` replays the attested build in a sandbox to prove them.";
    RebuildProven = "rebuild-proven", Info,
        "Files that only a build could produce were rebuilt from the attested commit and match the package.";
    RebuildStepSkipped = "rebuild-step-skipped", Warning,
        "A step of the attested workflow (an action, a step using a secret or an expression provdiff cannot evaluate) or one of its variables was not replayed.";
    RebuildNoLockfile = "rebuild-no-lockfile", Warning,
        "The attested commit has no lockfile, so the rebuild resolved dependency versions anew.";
    RebuildNodeVersion = "rebuild-node-version", Warning,
        "The rebuild ran a different Node.js than the workflow or repository asks for.";
    RebuildNpmVersion = "rebuild-npm-version", Warning,
        "The rebuild ran a different npm than the provenance names or the workflow installs.";
    RebuildTimestamp = "rebuild-timestamp", Warning,
        "A rebuilt file differs from the package only in what look like dates or times: the build embeds the time it ran.";
    RebuildAbsolutePath = "rebuild-absolute-path", Warning,
        "A rebuilt file that differs from the package embeds an absolute path of the build machine.";
    RebuildFailed = "rebuild-failed", Inconclusive,
        "The rebuild did not finish (a step failed, or failed after the sandbox refused it something): the files only a build can produce are not proven.";
    RebuildSandboxDenied = "rebuild-sandbox-denied", Warning,
        "The build tried something the sandbox forbids (writing outside its checkout, reading the user's home, reaching a host that is not the registry).";
    RebuildUnsandboxed = "rebuild-unsandboxed", Warning,
        "The build ran without a sandbox (`--unsandboxed`): it could read and change anything the user can.";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// The package path it concerns, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// One line for people.
    pub detail: String,
    /// A unified diff, for content differences of text files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl Finding {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self { code, severity: code.severity(), path: None, detail: detail.into(), diff: None }
    }

    pub fn at(code: Code, path: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { path: Some(path.into()), ..Self::new(code, detail) }
    }

    pub fn with_diff(mut self, diff: String) -> Self {
        self.diff = Some(diff);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "duplicate code {name}");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name} is not kebab-case"
            );
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(name));
        }
    }
}

//! The verdict: one word that a person can act on and a machine can branch on.

use crate::finding::{Finding, Severity};
use serde::Serialize;

/// How far down the published tarball and provdiff's repack agree, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncodingLevel {
    /// The `.tgz` files are byte-identical.
    Compressed,
    /// The uncompressed tar streams are byte-identical; only the deflate stream differs.
    Tar,
    /// Same paths, same bytes, same executable bits; tar headers or order differ.
    Entries,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The repacked `.tgz` is byte-identical to the published one.
    Identical,
    /// Same entries, bytes and executable bits; only the archive encoding differs.
    Equivalent,
    /// Files differ, but every difference is a known, benign publish-time transformation (pnpm's
    /// or yarn's `package.json` rewrites, the files they add); each is listed.
    Explained,
    /// Files only in the package need a build to be proven; they are listed.
    Inconclusive,
    /// A file differs, or a file is unexplained.
    Mismatch,
    /// The attested commit cannot be obtained any more: nothing could be compared.
    SourceUnavailable,
    /// The attestations do not verify.
    Unverified,
}

impl Verdict {
    /// Combines the findings with how far the archives agree. `agreement` is `None` when the
    /// entries themselves differ (or were not compared); a clean verdict then is impossible,
    /// whatever the findings say, so that a forgotten finding can never turn into a match.
    ///
    /// `entries_explained` is the comparison's own positive statement that every file of both
    /// trees is either identical or explained (`TreeComparison::entries_explained` in
    /// `provdiff-diff`), counted file by file. Only with it, with no finding worse than
    /// `explained` and at least one `explained` finding, do differing entries give `explained`:
    /// explained findings alone never do, so a difference that went unreported still cannot pass.
    pub fn decide(findings: &[Finding], agreement: Option<EncodingLevel>, entries_explained: bool) -> Verdict {
        let worst = findings.iter().map(|finding| finding.severity).max();
        match worst {
            Some(Severity::Unverified) => Verdict::Unverified,
            Some(Severity::Mismatch) => Verdict::Mismatch,
            Some(Severity::Unavailable) => Verdict::SourceUnavailable,
            Some(Severity::Inconclusive) => Verdict::Inconclusive,
            Some(Severity::Info | Severity::Warning | Severity::Explained) | None => match agreement {
                Some(EncodingLevel::Compressed) => Verdict::Identical,
                Some(EncodingLevel::Tar | EncodingLevel::Entries) => Verdict::Equivalent,
                None if entries_explained && worst == Some(Severity::Explained) => Verdict::Explained,
                None => Verdict::Mismatch,
            },
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Identical => "identical",
            Verdict::Equivalent => "equivalent",
            Verdict::Explained => "explained",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Mismatch => "mismatch",
            Verdict::SourceUnavailable => "source-unavailable",
            Verdict::Unverified => "unverified",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Code;

    fn check(codes: &[Code], agreement: Option<EncodingLevel>, expected: Verdict) {
        check_explained(codes, agreement, false, expected);
    }

    fn check_explained(codes: &[Code], agreement: Option<EncodingLevel>, entries_explained: bool, expected: Verdict) {
        let findings: Vec<Finding> = codes.iter().map(|code| Finding::new(*code, "")).collect();
        assert_eq!(
            Verdict::decide(&findings, agreement, entries_explained),
            expected,
            "{codes:?} {agreement:?} {entries_explained}"
        );
    }

    #[test]
    fn verdicts() {
        use EncodingLevel::*;
        check(&[], Some(Compressed), Verdict::Identical);
        check(&[], Some(Tar), Verdict::Equivalent);
        check(&[Code::EncodingDiffers], Some(Entries), Verdict::Equivalent);
        check(&[], None, Verdict::Mismatch);
        check(&[Code::BuildOutput], None, Verdict::Inconclusive);
        check(&[Code::BuildOutput, Code::ContentDiffers], None, Verdict::Mismatch);
        check(&[Code::ContentDiffers, Code::SignatureInvalid], None, Verdict::Unverified);
        check(&[Code::PublishNotChecked], Some(Compressed), Verdict::Identical);
        check(&[Code::SourceUnavailable], None, Verdict::SourceUnavailable);
        check(&[Code::SourceUnavailable, Code::GzipTrailingData], None, Verdict::Mismatch);
        check(&[Code::SourceUnavailable, Code::SignatureInvalid], None, Verdict::Unverified);
    }

    #[test]
    fn explained_needs_the_comparisons_word_and_an_explained_finding() {
        let rewrite = Code::PublishRewrite;
        check_explained(&[rewrite, Code::PublishReformatted], None, true, Verdict::Explained);
        check_explained(&[rewrite, Code::PublishNotChecked], None, true, Verdict::Explained);
        // Explained findings without the comparison's accounting: something went unreported.
        check_explained(&[rewrite], None, false, Verdict::Mismatch);
        // The accounting without any explained finding is not an explanation either.
        check_explained(&[], None, true, Verdict::Mismatch);
        check_explained(&[Code::PublishNotChecked], None, true, Verdict::Mismatch);
        // Anything worse still wins.
        check_explained(&[rewrite, Code::PackageJsonFieldDiffers], None, true, Verdict::Mismatch);
        check_explained(&[rewrite, Code::BuildOutput], None, true, Verdict::Inconclusive);
        check_explained(&[rewrite, Code::SignatureInvalid], None, true, Verdict::Unverified);
    }
}

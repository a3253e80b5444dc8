//! Reading a packument: the version's manifest, its `dist` and its publish time.

use jiff::Timestamp;
use provdiff_core::Sha512;
use reqwest::Url;
use serde::Serialize;
use serde_json::Value;

use crate::signatures::DistSignature;

/// What `dist` says about a version, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dist {
    /// `dist.tarball`.
    #[serde(serialize_with = "serialize_url")]
    pub tarball: Url,
    /// `dist.integrity` as written: the registry signature is over this string.
    pub integrity: String,
    /// The `sha512-` digests `dist.integrity` lists (usually one).
    pub sha512: Vec<Sha512>,
    /// `dist.signatures`, empty when absent.
    pub signatures: Vec<DistSignature>,
    /// `dist.attestations.url`, when the registry advertises attestations.
    pub attestations_url: Option<String>,
    /// `dist.attestations.provenance.predicateType`, when given.
    pub provenance_predicate: Option<String>,
}

fn serialize_url<S: serde::Serializer>(url: &Url, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(url.as_str())
}

/// Why a packument does not give what a version needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lack {
    /// `versions[VERSION]` is absent.
    Version,
    /// A field is missing or malformed; the full document may have it.
    Field { field: &'static str, reason: &'static str },
}

/// The parts of one version of a packument.
#[derive(Debug, Clone)]
pub(crate) struct VersionEntry {
    pub manifest: Value,
    pub dist: Dist,
    /// `time[VERSION]`; only full documents carry it.
    pub published: Option<Timestamp>,
}

pub(crate) fn version_entry(packument: &Value, version: &str) -> Result<VersionEntry, Lack> {
    let manifest = packument.get("versions").and_then(|v| v.get(version)).ok_or(Lack::Version)?;
    let dist =
        manifest.get("dist").filter(|d| d.is_object()).ok_or(Lack::Field { field: "dist", reason: "missing" })?;
    let tarball =
        dist.get("tarball").and_then(Value::as_str).ok_or(Lack::Field { field: "dist.tarball", reason: "missing" })?;
    let tarball = Url::parse(tarball)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .ok_or(Lack::Field { field: "dist.tarball", reason: "not an http(s) URL" })?;
    let integrity = dist
        .get("integrity")
        .and_then(Value::as_str)
        .ok_or(Lack::Field { field: "dist.integrity", reason: "missing" })?
        .trim()
        .to_string();
    let sha512: Vec<Sha512> = integrity
        .split_whitespace()
        .filter(|part| part.starts_with("sha512-"))
        // Subresource-integrity options (`sha512-…?opt`) are not part of the digest.
        .filter_map(|part| Sha512::from_integrity(part.split('?').next().unwrap_or(part)).ok())
        .collect();
    if sha512.is_empty() {
        return Err(Lack::Field { field: "dist.integrity", reason: "no valid sha512 digest" });
    }
    let signatures = match dist.get("signatures") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|_| Lack::Field { field: "dist.signatures", reason: "not a list of {keyid, sig}" })?,
    };
    let attestations = dist.get("attestations").filter(|a| a.is_object());
    let attestations_url = attestations.and_then(|a| a.get("url")).and_then(Value::as_str).map(str::to_string);
    let provenance_predicate = attestations
        .and_then(|a| a.get("provenance"))
        .and_then(|p| p.get("predicateType"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let published = packument
        .get("time")
        .and_then(|time| time.get(version))
        .and_then(Value::as_str)
        .and_then(|time| time.parse::<Timestamp>().ok());
    Ok(VersionEntry {
        manifest: manifest.clone(),
        dist: Dist { tarball, integrity, sha512, signatures, attestations_url, provenance_predicate },
        published,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_version() {
        let digest = Sha512::digest(b"tarball");
        let doc = json!({
            "versions": {"1.0.0": {"name": "a", "version": "1.0.0", "dist": {
                "tarball": "http://127.0.0.1:9/a/-/a-1.0.0.tgz",
                "integrity": format!("{} sha1-AAAA", digest.to_integrity()),
                "signatures": [{"keyid": "SHA256:k", "sig": "MEUC"}],
                "attestations": {"url": "http://127.0.0.1:9/-/npm/v1/attestations/a@1.0.0",
                                 "provenance": {"predicateType": "https://slsa.dev/provenance/v1"}}
            }}},
            "time": {"1.0.0": "2024-05-01T10:00:00.000Z"}
        });
        let entry = version_entry(&doc, "1.0.0").unwrap();
        assert_eq!(entry.dist.sha512, vec![digest]);
        assert_eq!(entry.dist.signatures.len(), 1);
        assert_eq!(entry.dist.provenance_predicate.as_deref(), Some("https://slsa.dev/provenance/v1"));
        assert_eq!(entry.published, Some("2024-05-01T10:00:00Z".parse().unwrap()));
        assert_eq!(version_entry(&doc, "2.0.0").unwrap_err(), Lack::Version);
    }

    #[test]
    fn says_what_is_missing() {
        let check = |dist: Value, field: &str| {
            let doc = json!({"versions": {"1.0.0": {"dist": dist}}});
            match version_entry(&doc, "1.0.0") {
                Err(Lack::Field { field: actual, .. }) => assert_eq!(actual, field),
                other => panic!("expected a lack of {field}, got {other:?}"),
            }
        };
        check(json!({"integrity": "x"}), "dist.tarball");
        check(json!({"tarball": "file:///etc/passwd", "integrity": "x"}), "dist.tarball");
        check(json!({"tarball": "http://127.0.0.1:9/a.tgz", "shasum": "ab"}), "dist.integrity");
        check(json!({"tarball": "http://127.0.0.1:9/a.tgz", "integrity": "sha1-AAAA"}), "dist.integrity");
        let digest = Sha512::digest(b"x").to_integrity();
        check(
            json!({"tarball": "http://127.0.0.1:9/a.tgz", "integrity": digest, "signatures": "no"}),
            "dist.signatures",
        );
    }
}

//! Trust material: the Sigstore trusted root (Fulcio CAs, Rekor and CT log keys, timestamp
//! authorities) and npm's registry keys, which sign publish attestations.
//!
//! provdiff embeds both, as extracted by `cargo xtask update-trust` from the `@sigstore/tuf` npm
//! package (which ships them as TUF targets). `--trusted-root` and `--npm-keys` replace them.
//! Nothing here is fetched: trust is an input.

use base64::Engine;
use jiff::Timestamp;
use serde::Deserialize;
use sha2::Digest;
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::DerPublicKey;

const EMBEDDED: &str = include_str!("../trust/embedded-trust.json");

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{origin}: not valid JSON")]
    Json {
        origin: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{origin}: not a Sigstore trusted root")]
    TrustedRoot {
        origin: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{origin}: npm key {key_id}: {reason}")]
    NpmKey { origin: String, key_id: String, reason: String },
}

/// Where the trust material came from, for the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrustOrigin {
    pub trusted_root: String,
    pub npm_keys: String,
}

/// What a registry key may sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyUsage {
    /// Publish attestations (`npm:attestations`).
    Attestations,
    /// Registry signatures over `NAME@VERSION:INTEGRITY` (`npm:signatures`).
    Signatures,
    Other(String),
}

/// One of npm's registry keys, with its validity window.
#[derive(Debug, Clone)]
pub struct NpmKey {
    pub key_id: String,
    pub usage: KeyUsage,
    pub public_key: DerPublicKey,
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
}

impl NpmKey {
    pub fn valid_at(&self, time: Timestamp) -> bool {
        self.valid_from.is_none_or(|start| time >= start) && self.valid_until.is_none_or(|end| time < end)
    }
}

/// Everything verification trusts.
#[derive(Debug, Clone)]
pub struct TrustMaterial {
    pub trusted_root: TrustedRoot,
    pub npm_keys: Vec<NpmKey>,
    pub origin: TrustOrigin,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmbeddedTrust {
    source: EmbeddedSource,
    trusted_root: serde_json::Value,
    npm_keys: serde_json::Value,
}

/// Where the embedded trust material was extracted from.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedSource {
    pub package: String,
    pub version: String,
    pub integrity: String,
}

impl TrustMaterial {
    /// The trust material compiled into provdiff.
    pub fn embedded() -> Result<Self, TrustError> {
        let origin = "embedded trust material".to_string();
        let embedded: EmbeddedTrust =
            serde_json::from_str(EMBEDDED).map_err(|source| TrustError::Json { origin: origin.clone(), source })?;
        let source = &embedded.source;
        let described = format!("embedded, from {}@{} ({})", source.package, source.version, source.integrity);
        let trusted_root = parse_trusted_root(&embedded.trusted_root.to_string(), &described)?;
        let npm_keys = parse_npm_keys(&embedded.npm_keys.to_string(), &described)?;
        Ok(Self {
            trusted_root,
            npm_keys,
            origin: TrustOrigin { trusted_root: described.clone(), npm_keys: described },
        })
    }

    /// Where the embedded material came from.
    pub fn embedded_source() -> Option<EmbeddedSource> {
        serde_json::from_str::<EmbeddedTrust>(EMBEDDED).ok().map(|trust| trust.source)
    }

    /// Replaces the trusted root with one read from a file (`origin` names it in messages).
    pub fn with_trusted_root(mut self, json: &str, origin: &str) -> Result<Self, TrustError> {
        self.trusted_root = parse_trusted_root(json, origin)?;
        self.origin.trusted_root = origin.to_string();
        Ok(self)
    }

    /// Replaces npm's keys with ones read from a file in the registry's `keys.json` format.
    pub fn with_npm_keys(mut self, json: &str, origin: &str) -> Result<Self, TrustError> {
        self.npm_keys = parse_npm_keys(json, origin)?;
        self.origin.npm_keys = origin.to_string();
        Ok(self)
    }
}

fn parse_trusted_root(json: &str, origin: &str) -> Result<TrustedRoot, TrustError> {
    TrustedRoot::from_json(json)
        .map_err(|source| TrustError::TrustedRoot { origin: origin.to_string(), source: Box::new(source) })
}

#[derive(Deserialize)]
struct KeysFile {
    keys: Vec<KeyRecord>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyRecord {
    key_id: String,
    key_usage: String,
    public_key: PublicKeyRecord,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyRecord {
    raw_bytes: String,
    key_details: String,
    #[serde(default)]
    valid_for: Option<ValidFor>,
}

#[derive(Deserialize)]
struct ValidFor {
    #[serde(default)]
    start: Option<Timestamp>,
    #[serde(default)]
    end: Option<Timestamp>,
}

/// Parses npm's `keys.json` (`{"keys": [{keyId, keyUsage, publicKey: {rawBytes, keyDetails,
/// validFor}}]}`), checking that every key id really is the id of its key.
pub fn parse_npm_keys(json: &str, origin: &str) -> Result<Vec<NpmKey>, TrustError> {
    let file: KeysFile =
        serde_json::from_str(json).map_err(|source| TrustError::Json { origin: origin.to_string(), source })?;
    file.keys
        .into_iter()
        .map(|record| {
            let error = |reason: String| TrustError::NpmKey {
                origin: origin.to_string(),
                key_id: record.key_id.clone(),
                reason,
            };
            if record.public_key.key_details != "PKIX_ECDSA_P256_SHA_256" {
                return Err(error(format!("unsupported key type {}", record.public_key.key_details)));
            }
            let der = base64::engine::general_purpose::STANDARD
                .decode(&record.public_key.raw_bytes)
                .map_err(|e| error(format!("rawBytes is not base64: {e}")))?;
            let computed = npm_key_id(&der).ok_or_else(|| error("rawBytes is not a P-256 public key".into()))?;
            if computed != record.key_id {
                return Err(error(format!("the key's id is {computed}, not the id it is listed under")));
            }
            let usage = match record.key_usage.as_str() {
                "npm:attestations" => KeyUsage::Attestations,
                "npm:signatures" => KeyUsage::Signatures,
                other => KeyUsage::Other(other.to_string()),
            };
            let (valid_from, valid_until) =
                record.public_key.valid_for.map_or((None, None), |window| (window.start, window.end));
            Ok(NpmKey { key_id: record.key_id, usage, public_key: DerPublicKey::new(der), valid_from, valid_until })
        })
        .collect()
}

/// The DER prefix of a P-256 SubjectPublicKeyInfo, before the 65-byte uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// npm's key id: `SHA256:` and the unpadded base64 of SHA-256 over the key's OpenSSH wire
/// encoding (`string "ecdsa-sha2-nistp256"`, `string "nistp256"`, `string Q`).
pub fn npm_key_id(spki_der: &[u8]) -> Option<String> {
    let point = spki_der.strip_prefix(&P256_SPKI_PREFIX)?;
    if point.len() != 65 || point[0] != 0x04 {
        return None;
    }
    let mut wire = Vec::with_capacity(104);
    for field in [b"ecdsa-sha2-nistp256".as_slice(), b"nistp256", point] {
        wire.extend_from_slice(&(field.len() as u32).to_be_bytes());
        wire.extend_from_slice(field);
    }
    let digest = sha2::Sha256::digest(&wire);
    Some(format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_material_loads_and_key_ids_check_out() {
        let trust = TrustMaterial::embedded().unwrap();
        assert!(!trust.trusted_root.tlogs.is_empty());
        assert!(trust.npm_keys.iter().any(|key| key.usage == KeyUsage::Attestations));
        assert!(trust.origin.trusted_root.contains("@sigstore/tuf"));
    }

    #[test]
    fn a_key_listed_under_another_id_is_refused() {
        let trust = TrustMaterial::embedded().unwrap();
        let key = &trust.npm_keys[0];
        let raw = base64::engine::general_purpose::STANDARD.encode(key.public_key.as_bytes());
        let json = format!(
            r#"{{"keys":[{{"keyId":"SHA256:AAAA","keyUsage":"npm:attestations","publicKey":{{"rawBytes":"{raw}","keyDetails":"PKIX_ECDSA_P256_SHA_256"}}}}]}}"#
        );
        let error = parse_npm_keys(&json, "test").unwrap_err();
        assert!(error.to_string().contains("not the id it is listed under"), "{error}");
    }
}

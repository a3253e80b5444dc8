//! npm's registry signatures (`dist.signatures`): ECDSA P-256 with SHA-256 over
//! `NAME@VERSION:INTEGRITY`, by the registry key the `keyid` names.
//!
//! Checked as npm checks them: every signature must be by a known key of usage
//! `npm:signatures` that had not expired when the version was published, and must verify.
//! The outcome is data: a registry signature is evidence, not a condition for fetching.

use base64::Engine;
use jiff::Timestamp;
use provdiff_attest::{KeyUsage, NpmKey};
use serde::Serialize;
use sigstore_verify::crypto::{SigningScheme, verify_signature};
use sigstore_verify::types::SignatureBytes;

/// One entry of `dist.signatures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DistSignature {
    pub keyid: String,
    pub sig: String,
}

/// What the registry signatures of a version say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureReport {
    /// The signed message, `NAME@VERSION:INTEGRITY`.
    pub message: String,
    /// The version's publish time (`time[VERSION]` of the full packument), when known.
    pub published: Option<Timestamp>,
    pub outcome: SignatureOutcome,
    pub signatures: Vec<SignatureCheck>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureOutcome {
    /// At least one signature, and every one verified with a valid registry key.
    Verified,
    /// A signature did not verify, or its key is unknown or was expired at publish time.
    Failed,
    /// The version carries no `dist.signatures`.
    Absent,
    /// No `npm:signatures` keys were given, so nothing could be checked.
    NoKeys,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureCheck {
    pub key_id: String,
    pub status: SignatureStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum SignatureStatus {
    Valid,
    /// The signature does not verify with the key.
    Invalid,
    /// `sig` is not base64.
    Malformed,
    /// No `npm:signatures` key has this id.
    UnknownKey,
    /// The key had expired when the version was published.
    KeyExpired {
        expired: Timestamp,
    },
    /// The key expires and the publish time is unknown (offline without the full packument).
    PublishTimeUnknown,
}

/// npm's date for versions whose packument has no publish time.
const MISSING_TIME_CUTOFF: Timestamp = Timestamp::constant(1_420_070_400, 0);

/// Checks `signatures` over `name@version:integrity`. `published` is `None` when the publish
/// time is unknown; `publish_time_known` says whether the packument was one that would carry it
/// (the full document), in which case npm's cut-off date stands in for a missing time.
pub fn check_signatures(
    name: &str,
    version: &str,
    integrity: &str,
    signatures: &[DistSignature],
    published: Option<Timestamp>,
    publish_time_known: bool,
    keys: &[NpmKey],
) -> SignatureReport {
    let message = format!("{name}@{version}:{integrity}");
    let keys: Vec<&NpmKey> = keys.iter().filter(|key| key.usage == KeyUsage::Signatures).collect();
    let outcome_without_checks = if signatures.is_empty() {
        Some(SignatureOutcome::Absent)
    } else if keys.is_empty() {
        Some(SignatureOutcome::NoKeys)
    } else {
        None
    };
    if let Some(outcome) = outcome_without_checks {
        return SignatureReport { message, published, outcome, signatures: Vec::new() };
    }
    let effective_time = published.or(publish_time_known.then_some(MISSING_TIME_CUTOFF));
    let checks: Vec<SignatureCheck> = signatures
        .iter()
        .map(|signature| {
            let status = match keys.iter().find(|key| key.key_id == signature.keyid) {
                None => SignatureStatus::UnknownKey,
                Some(key) => check_one(key, &message, &signature.sig, effective_time),
            };
            SignatureCheck { key_id: signature.keyid.clone(), status }
        })
        .collect();
    let outcome = if checks.iter().all(|check| check.status == SignatureStatus::Valid) {
        SignatureOutcome::Verified
    } else {
        SignatureOutcome::Failed
    };
    SignatureReport { message, published, outcome, signatures: checks }
}

fn check_one(key: &NpmKey, message: &str, sig: &str, published: Option<Timestamp>) -> SignatureStatus {
    if let Some(expired) = key.valid_until {
        match published {
            None => return SignatureStatus::PublishTimeUnknown,
            Some(time) if time >= expired => return SignatureStatus::KeyExpired { expired },
            Some(_) => {}
        }
    }
    let Ok(der) = base64::engine::general_purpose::STANDARD.decode(sig.trim()) else {
        return SignatureStatus::Malformed;
    };
    match verify_signature(
        &key.public_key,
        message.as_bytes(),
        &SignatureBytes::new(der),
        SigningScheme::EcdsaP256Sha256,
    ) {
        Ok(()) => SignatureStatus::Valid,
        Err(_) => SignatureStatus::Invalid,
    }
}

//! The SHA-512 digest npm uses everywhere: `dist.integrity`, attestation subjects, lockfiles.

use base64::Engine;
use sha2::Digest;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha512([u8; 64]);

#[derive(Debug, thiserror::Error)]
#[error("{input:?} is not a sha512 digest ({reason})")]
pub struct DigestParseError {
    pub input: String,
    pub reason: &'static str,
}

impl Sha512 {
    pub fn digest(bytes: &[u8]) -> Self {
        Self(sha2::Sha512::digest(bytes).into())
    }

    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    /// 128 hex digits, as in-toto subjects carry them.
    pub fn from_hex(hex_digits: &str) -> Result<Self, DigestParseError> {
        let error = |reason| DigestParseError { input: hex_digits.to_string(), reason };
        let bytes = hex::decode(hex_digits).map_err(|_| error("not hexadecimal"))?;
        let bytes: [u8; 64] = bytes.try_into().map_err(|_| error("not 64 bytes"))?;
        Ok(Self(bytes))
    }

    /// An npm integrity string `sha512-BASE64`.
    pub fn from_integrity(integrity: &str) -> Result<Self, DigestParseError> {
        let error = |reason| DigestParseError { input: integrity.to_string(), reason };
        let encoded = integrity.strip_prefix("sha512-").ok_or_else(|| error("no sha512- prefix"))?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| error("not base64"))?;
        let bytes: [u8; 64] = bytes.try_into().map_err(|_| error("not 64 bytes"))?;
        Ok(Self(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn to_integrity(&self) -> String {
        format!("sha512-{}", base64::engine::general_purpose::STANDARD.encode(self.0))
    }
}

impl std::fmt::Debug for Sha512 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sha512({})", self.to_hex())
    }
}

impl std::fmt::Display for Sha512 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl serde::Serialize for Sha512 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let digest = Sha512::digest(b"provdiff");
        assert_eq!(Sha512::from_hex(&digest.to_hex()).unwrap(), digest);
        assert_eq!(Sha512::from_integrity(&digest.to_integrity()).unwrap(), digest);
        assert!(Sha512::from_hex("abcd").is_err());
        assert!(Sha512::from_integrity("sha1-abcd").is_err());
    }
}

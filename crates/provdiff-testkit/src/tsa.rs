//! An RFC 3161 timestamp authority for the throwaway instance: its own root CA, a timestamping
//! certificate, and tokens (CMS `SignedData` over a `TSTInfo`) over a signature's bytes, written
//! in DER by hand so that the verifier's parser is what checks them.

use std::time::SystemTime;

use sigstore_verify::crypto::KeyPair;

use crate::sha256;
use crate::x509::CertificateAuthority;

/// `id-sha256`.
const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// `ecdsa-with-SHA256`.
const ECDSA_WITH_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
/// `id-signedData`.
const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// `id-ct-TSTInfo`.
const TST_INFO: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04];
/// `id-contentType`, `id-messageDigest`.
const CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
/// The TSA policy the tokens name: the example OID 1.2.3.4.1.
const POLICY: &[u8] = &[0x2a, 0x03, 0x04, 0x01];

pub(crate) struct TimestampAuthority {
    pub ca: CertificateAuthority,
    pub leaf_der: Vec<u8>,
    key: KeyPair,
    issuer_der: Vec<u8>,
    serial_der: Vec<u8>,
}

impl TimestampAuthority {
    pub fn generate() -> Self {
        let ca = CertificateAuthority::generate("provdiff testkit TSA root - EXAMPLE ONLY - NOT TRUSTED");
        let key = KeyPair::generate_ecdsa_p256().expect("key generation works");
        let (leaf_der, issuer_der, serial_der) = ca.issue_timestamping(&key, "provdiff testkit TSA");
        Self { ca, leaf_der, key, issuer_der, serial_der }
    }

    /// A timestamp token saying that `signature` existed at `at` (whole seconds).
    pub fn timestamp(&self, signature: &[u8], at: SystemTime) -> Vec<u8> {
        let algorithm = tlv(0x30, &tlv(0x06, SHA256));
        let imprint = tlv(0x30, &[algorithm.clone(), tlv(0x04, &sha256(signature))].concat());
        let tst_info = tlv(
            0x30,
            &[tlv(0x02, &[1]), tlv(0x06, POLICY), imprint, tlv(0x02, &[0x01, 0x23]), tlv(0x18, &generalized(at))]
                .concat(),
        );
        let mut attributes = [
            tlv(0x30, &[tlv(0x06, CONTENT_TYPE), tlv(0x31, &tlv(0x06, TST_INFO))].concat()),
            tlv(0x30, &[tlv(0x06, MESSAGE_DIGEST), tlv(0x31, &tlv(0x04, &sha256(&tst_info)))].concat()),
        ];
        // DER orders a SET OF by the members' encodings.
        attributes.sort();
        let attributes = attributes.concat();
        let signed = self.key.sign(&tlv(0x31, &attributes)).expect("signing works");
        let signer_info = tlv(
            0x30,
            &[
                tlv(0x02, &[1]),
                tlv(0x30, &[self.issuer_der.clone(), self.serial_der.clone()].concat()),
                algorithm.clone(),
                tlv(0xa0, &attributes),
                tlv(0x30, &tlv(0x06, ECDSA_WITH_SHA256)),
                tlv(0x04, signed.as_bytes()),
            ]
            .concat(),
        );
        let content = tlv(0x30, &[tlv(0x06, TST_INFO), tlv(0xa0, &tlv(0x04, &tst_info))].concat());
        let signed_data =
            tlv(0x30, &[tlv(0x02, &[3]), tlv(0x31, &algorithm), content, tlv(0x31, &signer_info)].concat());
        tlv(0x30, &[tlv(0x06, SIGNED_DATA), tlv(0xa0, &signed_data)].concat())
    }
}

/// One DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes: Vec<u8> = length.to_be_bytes().into_iter().skip_while(|&byte| byte == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// `YYYYMMDDHHMMSSZ`.
fn generalized(at: SystemTime) -> Vec<u8> {
    let seconds = at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let timestamp = jiff::Timestamp::from_second(seconds as i64).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    timestamp.strftime("%Y%m%d%H%M%SZ").to_string().into_bytes()
}

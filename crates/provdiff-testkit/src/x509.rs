//! Certificates for the throwaway instance: a self-signed root CA and Fulcio-style leaf
//! certificates with CI claims and an embedded SCT, built field by field so that the SCT can be
//! signed over exactly the pre-certificate the verifier reconstructs.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use der::asn1::{BitString, Ia5String, OctetString, Utf8StringRef};
use der::{Decode, Encode};
use sigstore_verify::crypto::KeyPair;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::sct::{
    DigitallySigned, HashAlgorithm, LogId, SerializedSct, SignatureAlgorithm, SignatureAndHashAlgorithm,
    SignedCertificateTimestamp, SignedCertificateTimestampList, Version as SctVersion,
};
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

use crate::sha256;

const ECDSA_WITH_SHA256: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const CODE_SIGNING: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const TIME_STAMPING: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const SCT_LIST: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
const BASIC_CONSTRAINTS: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("2.5.29.19");
const KEY_USAGE: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("2.5.29.15");
const EXTENDED_KEY_USAGE: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("2.5.29.37");
const SUBJECT_ALT_NAME: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("2.5.29.17");
const SUBJECT_KEY_IDENTIFIER: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("2.5.29.14");
const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1";

/// How a Fulcio claim is encoded: the legacy extensions (.1.1–.1.6) hold raw strings, the newer
/// ones (.1.8 onwards) DER UTF8Strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimEncoding {
    Raw,
    Der,
}

/// One Fulcio extension: `1.3.6.1.4.1.57264.1.<arc>`.
#[derive(Debug, Clone)]
pub struct Claim {
    pub arc: u32,
    pub value: String,
    pub encoding: ClaimEncoding,
}

pub(crate) struct CertificateAuthority {
    pub key: KeyPair,
    pub cert_der: Vec<u8>,
    name: Name,
    spki_der: Vec<u8>,
}

fn spki(key: &KeyPair) -> (Vec<u8>, SubjectPublicKeyInfoOwned) {
    let der = key.public_key_der().expect("a generated key has a public key").as_bytes().to_vec();
    let info = SubjectPublicKeyInfoOwned::from_der(&der).expect("the key's SPKI parses");
    (der, info)
}

fn time(at: SystemTime) -> Time {
    Time::try_from(at).expect("test times are within X.509's range")
}

fn extension(oid: der::oid::ObjectIdentifier, critical: bool, value: &impl Encode) -> Extension {
    let bytes = value.to_der().expect("extension values encode");
    Extension { extn_id: oid, critical, extn_value: OctetString::new(bytes).expect("extension fits") }
}

fn sign(key: &KeyPair, tbs: TbsCertificate) -> Vec<u8> {
    let tbs_der = tbs.to_der().expect("the TBS certificate encodes");
    let signature = key.sign(&tbs_der).expect("signing works");
    let certificate = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA256, parameters: None },
        signature: BitString::from_bytes(signature.as_bytes()).expect("a signature is a bit string"),
    };
    certificate.to_der().expect("the certificate encodes")
}

impl CertificateAuthority {
    pub fn generate(common_name: &str) -> Self {
        let key = KeyPair::generate_ecdsa_p256().expect("key generation works");
        let name = Name::from_str(&format!("CN={common_name},O=provdiff testkit")).expect("a valid name");
        let (spki_der, info) = spki(&key);
        let epoch = SystemTime::UNIX_EPOCH;
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: SerialNumber::new(&[1]).expect("a serial number"),
            signature: AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA256, parameters: None },
            issuer: name.clone(),
            validity: Validity {
                // 2020-01-01 to 2049-12-31: every test time, whatever the clock says.
                not_before: time(epoch + Duration::from_secs(1_577_836_800)),
                not_after: time(epoch + Duration::from_secs(2_524_521_600)),
            },
            subject: name.clone(),
            subject_public_key_info: info,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(vec![
                extension(BASIC_CONSTRAINTS, true, &BasicConstraints { ca: true, path_len_constraint: None }),
                extension(KEY_USAGE, true, &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)),
                extension(
                    SUBJECT_KEY_IDENTIFIER,
                    false,
                    &SubjectKeyIdentifier(OctetString::new(sha256(&spki_der)[..20].to_vec()).expect("fits")),
                ),
            ]),
        };
        let cert_der = sign(&key, tbs);
        Self { key, cert_der, name, spki_der }
    }

    /// Issues a Fulcio-style code-signing certificate for `subject_key`, valid from `not_before`
    /// for ten minutes, with the given SAN URI and claims, and an SCT from `ct` when given.
    pub fn issue(
        &self,
        subject_key: &KeyPair,
        san_uri: &str,
        claims: &[Claim],
        not_before: SystemTime,
        ct: Option<&crate::sigstore::LogKey>,
    ) -> Vec<u8> {
        let (_, info) = spki(subject_key);
        let san = SubjectAltName(vec![GeneralName::UniformResourceIdentifier(
            Ia5String::new(san_uri).expect("the SAN is ASCII"),
        )]);
        let mut extensions = vec![
            extension(KEY_USAGE, true, &KeyUsage(KeyUsages::DigitalSignature.into())),
            extension(EXTENDED_KEY_USAGE, false, &ExtendedKeyUsage(vec![CODE_SIGNING])),
            extension(SUBJECT_ALT_NAME, true, &san),
        ];
        for claim in claims {
            let oid = der::oid::ObjectIdentifier::new(&format!("{FULCIO_ARC}.{}", claim.arc)).expect("a Fulcio OID");
            let value = match claim.encoding {
                ClaimEncoding::Raw => claim.value.as_bytes().to_vec(),
                ClaimEncoding::Der => Utf8StringRef::new(&claim.value).expect("UTF-8").to_der().expect("encodes"),
            };
            extensions.push(Extension {
                extn_id: oid,
                critical: false,
                extn_value: OctetString::new(value).expect("fits"),
            });
        }
        let serial: [u8; 8] = sha256(san_uri.as_bytes())[..8].try_into().expect("eight bytes");
        let mut tbs = TbsCertificate {
            version: Version::V3,
            serial_number: SerialNumber::new(&[&[0x01], &serial[..]].concat()).expect("a serial number"),
            signature: AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA256, parameters: None },
            issuer: self.name.clone(),
            validity: Validity { not_before: time(not_before), not_after: time(not_before + Duration::from_secs(600)) },
            subject: Name::default(),
            subject_public_key_info: info,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        };
        if let Some(ct) = ct {
            let timestamp =
                not_before.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64) + 1000;
            let sct = self.sct(ct, &tbs, timestamp);
            if let Some(extensions) = tbs.extensions.as_mut() {
                extensions.push(extension(SCT_LIST, false, &sct));
            }
        }
        sign(&self.key, tbs)
    }

    /// Issues an RFC 3161 timestamping certificate (critical `timeStamping` usage) for
    /// `subject_key`, valid 2020–2049 like the CA. Returns the certificate, and its issuer and
    /// serial number as DER (a CMS `IssuerAndSerialNumber` names the signer by them).
    pub fn issue_timestamping(&self, subject_key: &KeyPair, common_name: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (_, info) = spki(subject_key);
        let serial = SerialNumber::new(&[0x02, 0x54, 0x53, 0x41]).expect("a serial number");
        let epoch = SystemTime::UNIX_EPOCH;
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: serial.clone(),
            signature: AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA256, parameters: None },
            issuer: self.name.clone(),
            validity: Validity {
                not_before: time(epoch + Duration::from_secs(1_577_836_800)),
                not_after: time(epoch + Duration::from_secs(2_524_521_600)),
            },
            subject: Name::from_str(&format!("CN={common_name},O=provdiff testkit")).expect("a valid name"),
            subject_public_key_info: info,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(vec![
                extension(KEY_USAGE, true, &KeyUsage(KeyUsages::DigitalSignature.into())),
                extension(EXTENDED_KEY_USAGE, true, &ExtendedKeyUsage(vec![TIME_STAMPING])),
            ]),
        };
        let issuer = self.name.to_der().expect("a name encodes");
        let serial = serial.to_der().expect("a serial number encodes");
        (sign(&self.key, tbs), issuer, serial)
    }

    /// An SCT over the pre-certificate: the TBS as it is now, before the SCT list is added.
    fn sct(
        &self,
        ct: &crate::sigstore::LogKey,
        precert: &TbsCertificate,
        timestamp: u64,
    ) -> SignedCertificateTimestampList {
        let precert_der = precert.to_der().expect("the TBS certificate encodes");
        let mut signed = vec![0u8, 0u8]; // v1, certificate_timestamp
        signed.extend_from_slice(&timestamp.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
        signed.extend_from_slice(&sha256(&self.spki_der));
        signed.extend_from_slice(&(precert_der.len() as u32).to_be_bytes()[1..]);
        signed.extend_from_slice(&precert_der);
        signed.extend_from_slice(&0u16.to_be_bytes()); // no extensions
        let signature = ct.key.sign(&signed).expect("signing works");
        let sct = SignedCertificateTimestamp {
            version: SctVersion::V1,
            log_id: LogId { key_id: ct.id },
            timestamp,
            extensions: tls_codec::TlsByteVecU16::from_slice(&[]),
            signature: DigitallySigned {
                algorithm: SignatureAndHashAlgorithm {
                    hash: HashAlgorithm::Sha256,
                    signature: SignatureAlgorithm::Ecdsa,
                },
                signature: tls_codec::TlsByteVecU16::from_slice(signature.as_bytes()),
            },
        };
        let serialized = SerializedSct::new(sct).expect("the SCT serializes");
        SignedCertificateTimestampList::new(&[serialized]).expect("the SCT list serializes")
    }
}

/// PEM text of a DER certificate.
pub(crate) fn certificate_pem(der: &[u8]) -> String {
    pem("CERTIFICATE", der)
}

pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

//! Attestation inputs: the registry's attestations response
//! (`{"attestations": [{"predicateType", "bundle"}]}`) or a bare Sigstore bundle
//! (`*.sigstore.json`). Reading a file that is neither is an error; a bundle that is malformed
//! inside is a finding, raised when it is verified.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{origin}: not JSON")]
    Json {
        origin: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{origin}: {reason}")]
    Shape { origin: String, reason: String },
}

/// One attestation to verify, as found in an input.
#[derive(Debug, Clone)]
pub struct RawAttestation {
    /// Where it came from: the file name, and its position in a registry response (`#1`).
    pub origin: String,
    /// The registry response's `predicateType` next to the bundle. It is not signed, so it is
    /// only ever compared with the signed statement, never trusted.
    pub outer_predicate_type: Option<String>,
    /// The bundle, as JSON text.
    pub bundle_json: String,
}

/// Reads one attestations file.
pub fn parse_attestations(bytes: &[u8], origin: &str) -> Result<Vec<RawAttestation>, InputError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|source| InputError::Json { origin: origin.to_string(), source })?;
    let shape = |reason: &str| InputError::Shape { origin: origin.to_string(), reason: reason.to_string() };
    let object = value
        .as_object()
        .ok_or_else(|| shape("expected a JSON object (a registry attestations response or a Sigstore bundle)"))?;
    if let Some(list) = object.get("attestations") {
        let list = list.as_array().ok_or_else(|| shape("`attestations` is not a list"))?;
        if list.is_empty() {
            return Err(shape("`attestations` is empty"));
        }
        return list
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let item_origin = format!("{origin}#{index}");
                let item_shape =
                    |reason: &str| InputError::Shape { origin: item_origin.clone(), reason: reason.to_string() };
                let item = item.as_object().ok_or_else(|| item_shape("attestation is not an object"))?;
                let bundle = item.get("bundle").ok_or_else(|| item_shape("attestation has no `bundle`"))?;
                let outer_predicate_type = match item.get("predicateType") {
                    None => None,
                    Some(Value::String(text)) => Some(text.clone()),
                    Some(_) => return Err(item_shape("`predicateType` is not a string")),
                };
                Ok(RawAttestation { origin: item_origin, outer_predicate_type, bundle_json: bundle.to_string() })
            })
            .collect();
    }
    if object.contains_key("mediaType") {
        return Ok(vec![RawAttestation {
            origin: origin.to_string(),
            outer_predicate_type: None,
            bundle_json: value.to_string(),
        }]);
    }
    Err(shape("neither a registry attestations response (`attestations`) nor a Sigstore bundle (`mediaType`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let response = br#"{"attestations":[{"predicateType":"p","bundle":{"mediaType":"m"}},{"bundle":{}}]}"#;
        let parsed = parse_attestations(response, "a.json").unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].outer_predicate_type.as_deref(), Some("p"));
        assert_eq!(parsed[1].origin, "a.json#1");

        let bare = parse_attestations(br#"{"mediaType":"m"}"#, "b.json").unwrap();
        assert_eq!(bare[0].origin, "b.json");

        for bad in [&b"not json"[..], b"[]", b"{}", br#"{"attestations":[]}"#, br#"{"attestations":[1]}"#] {
            assert!(parse_attestations(bad, "x").is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}

//! `cargo xtask update-trust`: re-extract the Sigstore trusted root and npm's registry keys from
//! the `@sigstore/tuf` package, which ships them as base64 TUF targets in `seeds.json`.
//!
//! The package comes from whatever registry npm is configured with (`npm pack`), so this works
//! behind a mirror. Its version and integrity are recorded next to the data.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use base64::Engine;
use serde_json::{Value, json};

use crate::process::run;

const PACKAGE: &str = "@sigstore/tuf";
const OUTPUT: &str = "crates/provdiff-attest/trust/embedded-trust.json";

pub fn update_trust(root: &Path, version: &str) -> Result<()> {
    let scratch = tempfile::tempdir()?;
    let spec = format!("{PACKAGE}@{version}");
    let packed = run(std::process::Command::new("npm")
        .args(["pack", &spec, "--json", "--pack-destination"])
        .arg(scratch.path())
        .current_dir(scratch.path()))?;
    let packed: Value = serde_json::from_str(&packed).context("npm pack --json printed something else")?;
    let info = packed.get(0).context("npm pack --json printed an empty list")?;
    let field =
        |name: &str| info.get(name).and_then(Value::as_str).with_context(|| format!("npm pack output lacks {name}"));
    let (filename, exact_version, integrity) = (field("filename")?, field("version")?, field("integrity")?);

    let tgz = fs_err::read(scratch.path().join(filename))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz.as_slice()));
    let mut seeds = None;
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.path()?.to_string_lossy() == "package/seeds.json" {
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            seeds = Some(text);
        }
    }
    let seeds: Value = serde_json::from_str(&seeds.context("the package has no seeds.json")?)?;
    let repos = seeds.as_object().context("seeds.json is not an object")?;
    let [(tuf_repository, repo)] = repos.iter().collect::<Vec<_>>()[..] else {
        bail!("seeds.json names {} TUF repositories; expected exactly one", repos.len());
    };
    let targets = repo.get("targets").and_then(Value::as_object).context("seeds.json has no targets")?;
    let decode = |name: &str, value: &Value| -> Result<Value> {
        let encoded = value.as_str().with_context(|| format!("target {name} is not a string"))?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded)?;
        serde_json::from_slice(&bytes).with_context(|| format!("target {name} is not JSON"))
    };
    let trusted_root = targets.get("trusted_root.json").context("no trusted_root.json target")?;
    // The registry keys' target is named after the registry's host; match on the file name only.
    let keys: Vec<_> = targets.iter().filter(|(name, _)| name.ends_with("%2Fkeys.json")).collect();
    let [(keys_name, keys)] = keys[..] else {
        bail!("expected exactly one `…%2Fkeys.json` target, found {}", keys.len());
    };

    let document = json!({
        "source": {
            "package": PACKAGE,
            "version": exact_version,
            "integrity": integrity,
            "tufRepository": tuf_repository,
        },
        "trustedRoot": decode("trusted_root.json", trusted_root)?,
        "npmKeys": decode(keys_name, keys)?,
    });
    let mut text = serde_json::to_string_pretty(&document)?;
    text.push('\n');
    fs_err::write(root.join(OUTPUT), text)?;
    eprintln!("wrote {OUTPUT} from {PACKAGE}@{exact_version} ({integrity})");
    Ok(())
}

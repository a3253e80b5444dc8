//! The parts of `package.json` that decide what npm packs.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{origin}: package.json is not valid JSON")]
    Json {
        origin: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{origin}: package.json is not a JSON object")]
    NotObject { origin: String },
}

/// A parsed `package.json`; the raw JSON stays available for anything not modelled here.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub raw: Value,
}

impl Manifest {
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Self, ManifestError> {
        // npm strips a UTF-8 byte order mark before parsing.
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let raw: Value = serde_json::from_slice(bytes)
            .map_err(|source| ManifestError::Json { origin: origin.to_string(), source })?;
        if !raw.is_object() {
            return Err(ManifestError::NotObject { origin: origin.to_string() });
        }
        Ok(Self { raw })
    }

    fn string(&self, key: &str) -> Option<&str> {
        self.raw.get(key).and_then(Value::as_str)
    }

    pub fn name(&self) -> Option<&str> {
        self.string("name")
    }

    pub fn version(&self) -> Option<&str> {
        self.string("version")
    }

    pub fn main(&self) -> Option<&str> {
        self.string("main")
    }

    /// `browser` when it is a path (it may also be a replacement map, which names no file).
    pub fn browser(&self) -> Option<&str> {
        self.string("browser")
    }

    /// The `files` field, when it is a list; entries that are not strings are skipped, as npm does.
    pub fn files(&self) -> Option<Vec<&str>> {
        self.raw.get("files").and_then(Value::as_array).map(|list| list.iter().filter_map(Value::as_str).collect())
    }

    /// The package's `bin` targets, normalised as npm does (a string means one bin named after
    /// the package).
    pub fn bin_targets(&self) -> Vec<String> {
        match self.raw.get("bin") {
            Some(Value::String(path)) => vec![normalize_relative(path)],
            Some(Value::Object(bins)) => bins.values().filter_map(Value::as_str).map(normalize_relative).collect(),
            _ => Vec::new(),
        }
    }

    /// `repository.directory`: where a monorepo keeps this package.
    pub fn repository_directory(&self) -> Option<&str> {
        self.raw.pointer("/repository/directory").and_then(Value::as_str)
    }

    pub fn script(&self, name: &str) -> Option<&str> {
        self.raw.pointer(&format!("/scripts/{name}")).and_then(Value::as_str)
    }

    /// The lifecycle script that runs when npm packs or publishes, if any: where build outputs
    /// that are not in git come from.
    pub fn build_step(&self) -> Option<String> {
        ["prepack", "prepare", "prepublishOnly", "prepublish", "postpack"]
            .into_iter()
            .find(|name| self.script(name).is_some())
            .map(str::to_string)
    }

    /// The names in `bundleDependencies` (or `bundledDependencies`); `true` means every
    /// dependency.
    pub fn bundled_dependencies(&self) -> Vec<String> {
        let field = self.raw.get("bundleDependencies").or_else(|| self.raw.get("bundledDependencies"));
        match field {
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            Some(Value::Bool(true)) => self
                .raw
                .get("dependencies")
                .and_then(Value::as_object)
                .map(|deps| deps.keys().cloned().collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// `./bin/x.js` → `bin/x.js`, as npm normalises bin and main paths.
pub fn normalize_relative(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for component in path.split(['/', '\\']) {
        match component {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let manifest = Manifest::parse(
            br#"{"name":"a","bin":{"x":"./bin/x.js","y":"bin//y"},"files":["lib",3],"scripts":{"prepare":"tsc"},"repository":{"directory":"packages/a"}}"#,
            "test",
        )
        .unwrap();
        assert_eq!(manifest.bin_targets(), ["bin/x.js", "bin/y"]);
        assert_eq!(manifest.files().unwrap(), ["lib"]);
        assert_eq!(manifest.build_step().as_deref(), Some("prepare"));
        assert_eq!(manifest.repository_directory(), Some("packages/a"));
        assert!(Manifest::parse(b"[]", "x").is_err());
        assert!(Manifest::parse(b"\xef\xbb\xbf{}", "bom").is_ok());
    }
}

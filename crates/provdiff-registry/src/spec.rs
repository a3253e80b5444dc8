//! Package names and `NAME@VERSION` specs, checked and escaped the way npm puts them in URLs.

use std::fmt;

/// Why a package name or spec was refused.
#[derive(Debug, thiserror::Error)]
#[error("{input:?} is not a valid npm package {what}: {reason}")]
pub struct SpecError {
    pub input: String,
    pub what: &'static str,
    pub reason: &'static str,
}

/// A package name, unscoped (`name`) or scoped (`@scope/name`).
///
/// Every character is one `encodeURIComponent` leaves alone, as npm requires of new names, so
/// the name can go into a URL path with only the scope's `/` escaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageName(String);

impl PackageName {
    pub fn parse(input: &str) -> Result<Self, SpecError> {
        let error = |reason| SpecError { input: input.to_string(), what: "name", reason };
        if input.is_empty() {
            return Err(error("it is empty"));
        }
        if input.len() > 214 {
            return Err(error("it is longer than 214 characters"));
        }
        let parts: Vec<&str> = match input.strip_prefix('@') {
            Some(scoped) => {
                let (scope, name) = scoped.split_once('/').ok_or_else(|| error("a scoped name needs a '/'"))?;
                vec![scope, name]
            }
            None => vec![input],
        };
        for part in parts {
            if part.is_empty() {
                return Err(error("a part of it is empty"));
            }
            if part.starts_with('.') || part.starts_with('_') {
                return Err(error("a part of it starts with '.' or '_'"));
            }
            if !part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)) {
                return Err(error("it has a character that is not URL-safe"));
            }
        }
        Ok(Self(input.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `@scope` for a scoped name.
    pub fn scope(&self) -> Option<&str> {
        self.0.starts_with('@').then(|| self.0.split_once('/').map_or(self.0.as_str(), |(scope, _)| scope))
    }

    /// The name as npm writes it in a packument URL: `@scope%2fname`, or the name unchanged.
    pub fn escaped(&self) -> String {
        self.0.replacen('/', "%2f", 1)
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An exact package version: `NAME@VERSION`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageSpec {
    pub name: PackageName,
    pub version: String,
}

impl PackageSpec {
    pub fn new(name: &str, version: &str) -> Result<Self, SpecError> {
        let name = PackageName::parse(name)?;
        let error = |reason| SpecError { input: format!("{name}@{version}"), what: "version", reason };
        if version.is_empty() {
            return Err(error("the version is empty"));
        }
        if !version.bytes().all(|b| b.is_ascii_alphanumeric() || b".+-".contains(&b)) {
            return Err(error("an exact version has only letters, digits, '.', '+' and '-'"));
        }
        Ok(Self { name, version: version.to_string() })
    }

    /// Parses `NAME@VERSION` (`@scope/name@1.2.3` included). Ranges and tags are refused: the
    /// check is about one published tarball.
    pub fn parse(input: &str) -> Result<Self, SpecError> {
        let error = |reason| SpecError { input: input.to_string(), what: "spec", reason };
        let at = input.rfind('@').filter(|&at| at > 0).ok_or_else(|| error("expected NAME@VERSION"))?;
        Self::new(&input[..at], &input[at + 1..])
    }
}

impl fmt::Display for PackageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_escapes_names() {
        let scoped = PackageName::parse("@scope/name").unwrap();
        assert_eq!(scoped.scope(), Some("@scope"));
        assert_eq!(scoped.escaped(), "@scope%2fname");
        let plain = PackageName::parse("left-pad").unwrap();
        assert_eq!(plain.scope(), None);
        assert_eq!(plain.escaped(), "left-pad");
        for bad in ["", "@scope", "@/x", "@s/", ".hidden", "_under", "a b", "a/b", "@s/a/b", "é"] {
            assert!(PackageName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn parses_specs() {
        let spec = PackageSpec::parse("@scope/name@1.2.3-beta.1+build").unwrap();
        assert_eq!(spec.name.as_str(), "@scope/name");
        assert_eq!(spec.version, "1.2.3-beta.1+build");
        assert_eq!(spec.to_string(), "@scope/name@1.2.3-beta.1+build");
        for bad in ["name", "@scope/name", "name@", "name@^1.0.0", "name@1.0.0/../x", "@1.0.0"] {
            assert!(PackageSpec::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

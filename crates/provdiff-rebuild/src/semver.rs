//! Node.js and npm version requests as workflows and `package.json` write them (`16`, `18.x`,
//! `v18.17.1`, `>=18`, `^14.17.0 || ^16.13.0 || >=18.0.0`), checked against the version a rebuild
//! used. Aliases (`lts/*`, `latest`, `node`) and expressions name no version and are not judged.

type Version = (u64, u64, u64);

/// Whether `version` satisfies `request`; `None` when the request names no version provdiff can
/// check.
pub(crate) fn satisfies(request: &str, version: &str) -> Option<bool> {
    let version = parse_version(version)?;
    let mut any = false;
    for alternative in request.split("||") {
        let tokens: Vec<&str> = alternative.split_whitespace().collect();
        if tokens.is_empty() {
            return None;
        }
        let comparators: Vec<(Version, Version)> = if let [low, "-", high] = tokens.as_slice() {
            let (low, high) = (parse_partial(low)?, parse_partial(high)?);
            vec![(filled(low), upper_inclusive(high))]
        } else {
            tokens.iter().map(|token| comparator(token)).collect::<Option<_>>()?
        };
        any |= comparators.iter().all(|(low, high)| *low <= version && version < *high);
    }
    Some(any)
}

/// The lower (inclusive) and upper (exclusive) bounds a comparator allows.
fn comparator(token: &str) -> Option<(Version, Version)> {
    const MAX: Version = (u64::MAX, 0, 0);
    let (op, rest) = [">=", "<=", ">", "<", "=", "^", "~"]
        .iter()
        .find_map(|op| token.strip_prefix(op).map(|rest| (*op, rest)))
        .unwrap_or(("", token));
    let partial = parse_partial(rest)?;
    let low = filled(partial);
    Some(match op {
        ">=" => (low, MAX),
        ">" => (upper_inclusive(partial), MAX),
        "<=" => ((0, 0, 0), upper_inclusive(partial)),
        "<" => ((0, 0, 0), low),
        "~" => match partial {
            (major, None, _) => (low, (major + 1, 0, 0)),
            (major, Some(minor), _) => (low, (major, minor + 1, 0)),
        },
        "^" => match partial {
            (0, Some(0), Some(patch)) => (low, (0, 0, patch + 1)),
            (0, Some(minor), _) => (low, (0, minor + 1, 0)),
            (major, _, _) => (low, (major + 1, 0, 0)),
        },
        _ => (low, upper_inclusive(partial)),
    })
}

type Partial = (u64, Option<u64>, Option<u64>);

fn parse_partial(text: &str) -> Option<Partial> {
    let text = text.trim().trim_start_matches(['v', 'V']);
    let text = text.split(['-', '+']).next()?;
    let mut parts = text.split('.');
    let number = |part: Option<&str>| -> Option<Option<u64>> {
        match part {
            None | Some("x" | "X" | "*") => Some(None),
            Some(digits) => digits.parse().ok().map(Some),
        }
    };
    let major = number(parts.next())??;
    let minor = number(parts.next())?;
    let patch = if minor.is_some() { number(parts.next())? } else { None };
    Some((major, minor, patch))
}

fn parse_version(text: &str) -> Option<Version> {
    let (major, minor, patch) = parse_partial(text)?;
    Some((major, minor.unwrap_or(0), patch.unwrap_or(0)))
}

fn filled((major, minor, patch): Partial) -> Version {
    (major, minor.unwrap_or(0), patch.unwrap_or(0))
}

/// The first version past everything `partial` names: `16` → 17.0.0, `16.3` → 16.4.0.
fn upper_inclusive(partial: Partial) -> Version {
    match partial {
        (major, None, _) => (major + 1, 0, 0),
        (major, Some(minor), None) => (major, minor + 1, 0),
        (major, Some(minor), Some(patch)) => (major, minor, patch + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        let check = |request: &str, version: &str, expected: Option<bool>| {
            assert_eq!(satisfies(request, version), expected, "{request} against {version}");
        };
        check("16", "20.20.2", Some(false));
        check("20", "20.20.2", Some(true));
        check("20.x", "20.20.2", Some(true));
        check("v18.17.1", "18.17.1", Some(true));
        check("18.17", "18.17.9", Some(true));
        check("18.17", "18.18.0", Some(false));
        check(">=18", "20.20.2", Some(true));
        check("^14.17.0 || ^16.13.0 || >=18.0.0", "20.20.2", Some(true));
        check("^14.17.0 || ^16.13.0", "20.20.2", Some(false));
        check(">=14 <20", "20.0.0", Some(false));
        check("~9.4.0", "9.4.2", Some(true));
        check("16 - 18", "18.9.0", Some(true));
        check("9.4.2", "11.19.1", Some(false));
        check("lts/*", "20.20.2", None);
        check("latest", "20.20.2", None);
        check("${{ matrix.node }}", "20.20.2", None);
    }
}

//! JavaScript's view of JSON: what `JSON.parse` followed by `JSON.stringify` makes of a document.
//! pnpm and yarn berry write `package.json` as `JSON.stringify(manifest, null, 2)` of a parsed
//! object, so provdiff needs the same three rules to say whether a published file is exactly
//! what they write: object keys that are array indices come first, in numeric order; numbers are
//! doubles printed by `Number.prototype.toString`; strings escape only `"`, `\` and control
//! characters.

use serde_json::{Map, Number, Value};

/// The value with every object's keys in the order a JavaScript object keeps them: integer keys
/// (array indices, `0` to 2³²−2 without leading zeros) ascending, then the others as inserted.
pub fn js_order(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut indices: Vec<(u32, &String, &Value)> =
                map.iter().filter_map(|(key, value)| array_index(key).map(|index| (index, key, value))).collect();
            indices.sort_by_key(|(index, _, _)| *index);
            let mut ordered = Map::new();
            for (_, key, value) in indices {
                ordered.insert(key.clone(), js_order(value));
            }
            for (key, value) in map.iter().filter(|(key, _)| array_index(key).is_none()) {
                ordered.insert(key.clone(), js_order(value));
            }
            Value::Object(ordered)
        }
        Value::Array(items) => Value::Array(items.iter().map(js_order).collect()),
        other => other.clone(),
    }
}

fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|index| *index != u32::MAX)
}

/// `JSON.stringify(value, null, indent)`: compact when `indent` is empty.
pub fn stringify(value: &Value, indent: &str) -> String {
    let mut out = String::new();
    write_value(&mut out, value, indent, 0);
    out
}

/// The compact form, which is also how two values are compared: equal strings mean
/// `JSON.stringify` cannot tell the values apart (key order included).
pub fn compact(value: &Value) -> String {
    stringify(value, "")
}

fn write_value(out: &mut String, value: &Value, indent: &str, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&number_to_string(number)),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                write_value(out, item, indent, depth + 1);
            }
            newline(out, indent, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (position, (key, item)) in map.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                write_string(out, key);
                out.push(':');
                if !indent.is_empty() {
                    out.push(' ');
                }
                write_value(out, item, indent, depth + 1);
            }
            newline(out, indent, depth);
            out.push('}');
        }
    }
}

fn newline(out: &mut String, indent: &str, depth: usize) {
    if !indent.is_empty() {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(indent);
        }
    }
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `Number.prototype.toString()` of the double the number parses to (ECMA-262
/// Number::toString: shortest round-trip digits, plain notation for exponents −7 to 20).
pub fn number_to_string(number: &Number) -> String {
    // Every JSON number is a double in JavaScript; serde_json keeps integers exact, so convert.
    let x = match (number.as_i64(), number.as_u64(), number.as_f64()) {
        (Some(int), _, _) => int as f64,
        (_, Some(uint), _) => uint as f64,
        (_, _, Some(float)) => float,
        // Not reachable without serde_json's arbitrary precision; print what serde_json has.
        _ => return number.to_string(),
    };
    double_to_string(x)
}

fn double_to_string(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if x < 0.0 {
        return format!("-{}", double_to_string(-x));
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as JavaScript requires: `d.ddde±x`.
    let formatted = format!("{x:e}");
    let Some((mantissa, exponent)) = formatted.split_once('e') else { return formatted };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let Ok(exponent) = exponent.parse::<i32>() else { return formatted };
    let k = digits.len() as i32;
    let n = exponent + 1; // x = 0.digits × 10^n
    if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let sign = if n - 1 < 0 { '-' } else { '+' };
        let magnitude = (n - 1).abs();
        if k == 1 {
            format!("{digits}e{sign}{magnitude}")
        } else {
            format!("{}.{}e{sign}{magnitude}", &digits[..1], &digits[1..])
        }
    }
}

/// JavaScript truthiness of a JSON value (yarn hoists a `publishConfig` field only when truthy).
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|x| x != 0.0 && !x.is_nan()),
        Value::String(text) => !text.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str, expected_pretty: &str) {
        let value: Value = serde_json::from_str(json).unwrap();
        assert_eq!(stringify(&js_order(&value), "  "), expected_pretty, "{json}");
    }

    #[test]
    fn stringify_like_javascript() {
        check("{}", "{}");
        check("[]", "[]");
        check(
            r#"{"a":[1,{"b":null}],"c":{}}"#,
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}",
        );
        // Integer keys first, ascending; "01" and "-1" and 2^32-1 are not array indices.
        check(
            r#"{"b":1,"10":2,"2":3,"01":4,"-1":5,"4294967295":6,"4294967294":7}"#,
            "{\n  \"2\": 3,\n  \"10\": 2,\n  \"4294967294\": 7,\n  \"b\": 1,\n  \"01\": 4,\n  \"-1\": 5,\n  \"4294967295\": 6\n}",
        );
        check(r#"["\u0001\b\f\n\r\t\"\\/\u2028é"]"#, "[\n  \"\\u0001\\b\\f\\n\\r\\t\\\"\\\\/\u{2028}é\"\n]");
    }

    #[test]
    fn numbers_like_javascript() {
        let cases = [
            ("1.0", "1"),
            ("-0", "0"),
            ("0.1", "0.1"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("123456789012345678901234", "1.2345678901234569e+23"),
            ("12345678901234567890", "12345678901234567000"),
            ("1e-7", "1e-7"),
            ("0.000001", "0.000001"),
            ("1.5e-10", "1.5e-10"),
            ("-2.5", "-2.5"),
            ("9007199254740993", "9007199254740992"),
            ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ];
        for (json, expected) in cases {
            let value: Value = serde_json::from_str(json).unwrap();
            assert_eq!(compact(&value), expected, "{json}");
        }
    }

    #[test]
    fn truthiness() {
        for (json, expected) in
            [("null", false), ("\"\"", false), ("0", false), ("\"x\"", true), ("{}", true), ("[]", true)]
        {
            assert_eq!(truthy(&serde_json::from_str(json).unwrap()), expected, "{json}");
        }
    }
}

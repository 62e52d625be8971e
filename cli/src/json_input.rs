//! JSON given on the command line (`--properties`), read without losing meaning: from the
//! argument, from a file (`@path`, past the OS's argument-size limit) or from stdin (`-`);
//! a key given twice is an error naming it, and so is an integer that a JSON number in the
//! client would round (beyond ±2^53 is where IEEE doubles stop counting every integer).

use std::fmt;
use std::io::Read;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The largest integer every JSON consumer keeps exactly.
const EXACT_INTEGER: u64 = 1 << 53;

/// The text `--properties` names: the argument itself, `@path` (the file's contents) or `-`
/// (all of `stdin`).
pub fn source(arg: &str, stdin: &mut dyn Read) -> Result<String, String> {
    if arg == "-" {
        let mut text = String::new();
        stdin
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read --properties from stdin: {e}"))?;
        return Ok(text);
    }
    match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --properties from {path:?}: {e}")),
        None => Ok(arg.to_string()),
    }
}

/// A JSON value that refuses duplicate keys.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if out.insert(key.clone(), value).is_some() {
                return Err(de::Error::custom(format!("the key {key:?} is given twice")));
            }
        }
        Ok(Value::Object(out))
    }
}

/// The first integer literal outside strings that doubles would round, if any.
fn inexact_integer(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let (mut i, mut in_string) = (0, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b.is_ascii_digit() || b == b'-' {
            let start = i;
            i += 1;
            while i < bytes.len()
                && (bytes[i].is_ascii_digit()
                    || matches!(bytes[i], b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                i += 1;
            }
            let literal = &text[start..i];
            let is_integer = !literal.contains(['.', 'e', 'E']);
            let digits = literal.trim_start_matches('-');
            if is_integer && digits.parse::<u64>().map_or(true, |n| n > EXACT_INTEGER) {
                return Some(literal);
            }
            continue;
        }
        i += 1;
    }
    None
}

/// Parses `text` as a JSON object, refusing duplicate keys and integers that would lose digits.
pub fn object(text: &str) -> Result<Map<String, Value>, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let Strict(value) = serde::Deserialize::deserialize(&mut deserializer)
        .and_then(|v| deserializer.end().map(|()| v))
        .map_err(|e| format!("--properties is not valid JSON ({e}); quote it, e.g. '{{\"OrderId\": \"ORD-123\"}}'"))?;
    if let Some(literal) = inexact_integer(text) {
        return Err(format!(
            "--properties holds the integer {literal}, beyond the ±2^53 that JSON numbers keep exactly: send it as a string, e.g. \"{literal}\""
        ));
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => Err("--properties must be a JSON object, e.g. '{\"OrderId\": \"ORD-123\"}'".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_argument_a_file_or_stdin() {
        let dir = std::env::temp_dir().join(format!("kb-props-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.json");
        let big = format!("{{\"blob\": \"{}\"}}", "x".repeat(200_000));
        std::fs::write(&path, &big).unwrap();
        let from_file = source(&format!("@{}", path.display()), &mut std::io::empty()).unwrap();
        assert_eq!(
            object(&from_file).unwrap()["blob"].as_str().unwrap().len(),
            200_000
        );
        let mut stdin = "{\"a\": 1}".as_bytes();
        assert_eq!(object(&source("-", &mut stdin).unwrap()).unwrap()["a"], 1);
        assert_eq!(
            source("{\"a\": 1}", &mut std::io::empty()).unwrap(),
            "{\"a\": 1}"
        );
        assert!(
            source("@/no/such/file.json", &mut std::io::empty())
                .unwrap_err()
                .contains("/no/such/file.json")
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn duplicate_keys_and_inexact_integers_are_refused_by_name() {
        let err = object(r#"{"a": 1, "nested": {"b": 1, "b": 2}}"#).unwrap_err();
        assert!(err.contains("the key \"b\" is given twice"), "{err}");
        let err = object(r#"{"id": 123456789012345678901234567890}"#).unwrap_err();
        assert!(
            err.contains("123456789012345678901234567890") && err.contains("as a string"),
            "{err}"
        );
        assert!(object(r#"{"id": -9007199254740993}"#).is_err());
        // Digits inside strings, exact integers and floats are fine.
        let ok = object(r#"{"id": "123456789012345678901234567890", "n": 9007199254740992, "x": 1.5e300, "neg": -3}"#).unwrap();
        assert_eq!(ok["n"], 9007199254740992u64);
        assert!(
            object("[1, 2]")
                .unwrap_err()
                .contains("must be a JSON object")
        );
        assert!(
            object("{\"a\": 1} trailing")
                .unwrap_err()
                .contains("not valid JSON")
        );
    }
}

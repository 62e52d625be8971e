//! `multipart/form-data` bodies (RFC 7578) for the one operation that uploads a file
//! (`upload_image_from_file`): `file` is the path of the file to send, the other members are
//! sent as text fields.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// An encoded body and its `Content-Type` (which carries the boundary).
#[derive(Debug)]
pub struct Multipart {
    /// The body.
    pub body: Vec<u8>,
    /// `multipart/form-data; boundary=...`.
    pub content_type: String,
}

fn escape(name: &str) -> String {
    name.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(['\r', '\n'], " ")
}

/// Encodes `fields`; `file` is read from the path it names.
pub fn encode(method: &str, fields: &Map<String, Value>) -> Result<Multipart> {
    let path = fields.get("file").and_then(Value::as_str).ok_or_else(|| {
        Error::InvalidInput(format!(
            "{method}: body.file must be the path of the file to upload"
        ))
    })?;
    let bytes = std::fs::read(path).map_err(|e| {
        Error::InvalidInput(format!("{method}: cannot read body.file {path:?}: {e}"))
    })?;
    let file_name = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload".into());
    // A boundary that occurs nowhere in the content.
    let mut counter = 0u64;
    let boundary = loop {
        let candidate = format!(
            "klaviyo-bridge-{:016x}{counter:04x}",
            crc32fast::hash(&bytes) as u64
        );
        if !bytes
            .windows(candidate.len())
            .any(|w| w == candidate.as_bytes())
        {
            break candidate;
        }
        counter += 1;
    };
    let mut body = Vec::with_capacity(bytes.len() + 512);
    for (name, value) in fields {
        if name == "file" || value.is_null() {
            continue;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{text}\r\n",
                escape(name)
            )
            .as_bytes(),
        );
    }
    let media = match Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("jpg" | "jpeg") => "image/jpeg",
        _ => "application/octet-stream",
    };
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: {media}\r\n\r\n",
            escape(&file_name)
        )
        .as_bytes(),
    );
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok(Multipart {
        body,
        content_type: format!("multipart/form-data; boundary={boundary}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_the_file_and_text_fields_with_a_boundary_absent_from_the_content() {
        let dir = std::env::temp_dir().join(format!("kb-multipart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("logo.png");
        std::fs::write(&path, b"\x89PNG fake").unwrap();
        let fields = json!({"file": path.to_str().unwrap(), "name": "Logo", "hidden": true});
        let encoded = encode("upload_image_from_file", fields.as_object().unwrap()).unwrap();
        let boundary = encoded.content_type.split("boundary=").nth(1).unwrap();
        let text = String::from_utf8_lossy(&encoded.body);
        assert!(
            text.contains("name=\"file\"; filename=\"logo.png\"\r\nContent-Type: image/png"),
            "{text}"
        );
        assert!(
            text.contains("name=\"name\"\r\n\r\nLogo\r\n")
                && text.contains("name=\"hidden\"\r\n\r\ntrue\r\n"),
            "{text}"
        );
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
        let missing = json!({"file": dir.join("nope.png").to_str().unwrap()});
        assert!(
            encode("x", missing.as_object().unwrap())
                .unwrap_err()
                .to_string()
                .contains("cannot read body.file")
        );
        std::fs::remove_dir_all(dir).ok();
    }
}

//! Images: `upload_image_from_url` keeps the URL as the image's address (the sandbox fetches
//! nothing); `upload_image_from_file` takes the spec's multipart/form-data upload (`file`,
//! `name`, `hidden`), checks the format (jpeg, png, gif, by content) and the 5 MB limit, and
//! answers with the size it received. Uploaded images get an address under
//! `https://images.klaviyo-sandbox.invalid/`, which no one serves.

use axum::http::StatusCode;
use axum::response::Response;
use klaviyo_bridge::operations::Operation;
use serde_json::{Value, json};

use super::{answer, keep_linked};
use crate::{Store, error};

/// The largest image Klaviyo takes.
const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

fn invalid(detail: impl Into<String>, pointer: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid",
        detail,
        Some(json!({"pointer": pointer})),
    )
}

/// The format of image bytes, by their signature.
fn format_of(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some("jpeg"),
        [0x89, b'P', b'N', b'G', ..] => Some("png"),
        [b'G', b'I', b'F', b'8', ..] => Some("gif"),
        _ => None,
    }
}

fn keep_image(
    store: &mut Store,
    name: &str,
    url: Option<String>,
    format: &str,
    size: usize,
    hidden: bool,
) -> Value {
    let id = store.new_id('I');
    let url =
        url.unwrap_or_else(|| format!("https://images.klaviyo-sandbox.invalid/{id}.{format}"));
    keep_linked(
        store,
        "image",
        &id,
        json!({"name": name, "image_url": url, "format": format, "size": size, "hidden": hidden, "updated_at": crate::store::now_iso()}),
        json!({}),
    )
}

/// `upload_image_from_url`.
pub(super) fn from_url(store: &mut Store, op: &Operation, data: &Value) -> Response {
    let url = data["attributes"]["import_from_url"]
        .as_str()
        .unwrap_or_default();
    if !(url.starts_with("https://")
        || url.starts_with("http://")
        || url.starts_with("data:image/"))
    {
        return invalid(
            "import_from_url must be an http(s) URL or a data: URI of an image.",
            "/data/attributes/import_from_url",
        );
    }
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let format = ["jpeg", "jpg", "png", "gif"]
        .into_iter()
        .find(|ext| path.to_ascii_lowercase().ends_with(&format!(".{ext}")))
        .map_or("jpeg", |ext| if ext == "jpg" { "jpeg" } else { ext });
    let name = data["attributes"]["name"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| path.rsplit('/').next().unwrap_or("image").to_string());
    let image = keep_image(
        store,
        &name,
        Some(url.to_string()),
        format,
        0,
        data["attributes"]["hidden"].as_bool().unwrap_or(false),
    );
    answer(op, Some(json!({"data": image})))
}

/// One part of a multipart body: its field name, file name, and bytes.
struct Part<'a> {
    name: String,
    filename: Option<String>,
    body: &'a [u8],
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Splits a multipart/form-data body by its boundary (RFC 7578).
fn parts<'a>(body: &'a [u8], boundary: &str) -> Vec<Part<'a>> {
    let delimiter = format!("--{boundary}");
    let mut found = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        let content = &rest[head_end + 4..];
        let end = find(content, format!("\r\n{delimiter}").as_bytes()).unwrap_or(content.len());
        let disposition = head
            .lines()
            .find(|line| {
                line.to_ascii_lowercase()
                    .starts_with("content-disposition:")
            })
            .unwrap_or_default();
        let field = |key: &str| {
            disposition.split(';').find_map(|p| {
                p.trim()
                    .strip_prefix(&format!("{key}="))
                    .map(|v| v.trim_matches('"').to_string())
            })
        };
        found.push(Part {
            name: field("name").unwrap_or_default(),
            filename: field("filename"),
            body: &content[..end],
        });
        rest = &content[end..];
    }
    found
}

/// `upload_image_from_file`, from its multipart body.
pub(super) fn from_file(
    store: &mut Store,
    op: &Operation,
    content_type: &str,
    body: &[u8],
) -> Response {
    let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
    else {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid",
            "Send the image as multipart/form-data with a `file` part.",
            None,
        );
    };
    let parts = parts(body, boundary);
    let Some(file) = parts.iter().find(|p| p.name == "file") else {
        return invalid("'file' is a required field.", "/file");
    };
    if file.body.len() > MAX_IMAGE_BYTES {
        return invalid(
            format!(
                "The image is {} bytes; at most {MAX_IMAGE_BYTES} are allowed.",
                file.body.len()
            ),
            "/file",
        );
    }
    let Some(format) = format_of(file.body) else {
        return invalid("The file is not a jpeg, png or gif image.", "/file");
    };
    let text = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(p.body).to_string())
    };
    let name = text("name")
        .or_else(|| file.filename.clone())
        .unwrap_or_else(|| "image".into());
    let image = keep_image(
        store,
        &name,
        None,
        format,
        file.body.len(),
        text("hidden").is_some_and(|h| h == "true"),
    );
    answer(op, Some(json!({"data": image})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts_are_split_by_their_boundary() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nLogo\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--XyZ--\r\n";
        let found = parts(body, "XyZ");
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[0].name.as_str(), found[0].body),
            ("name", &b"Logo"[..])
        );
        assert_eq!(
            (found[1].filename.as_deref(), found[1].body),
            (Some("logo.png"), &b"\x89PNG\r\n\x1a\n"[..])
        );
        assert_eq!(format_of(found[1].body), Some("png"));
        assert_eq!(format_of(b"hello"), None);
    }
}

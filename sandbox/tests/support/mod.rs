//! What more than one test needs: a sandbox with a client pointed at it, request bodies.

use klaviyo_bridge::{Client, ClientBuilder};
use klaviyo_sandbox::{Options, Sandbox, start};
use serde_json::{Value, json};

/// A sandbox started with `options`, and a client builder pointed at it (its key, its address
/// and its public key), for the test to adjust and build.
#[allow(dead_code)]
pub async fn sandbox_with(options: Options) -> (Sandbox, ClientBuilder) {
    let sandbox = start(options).await.unwrap();
    let builder = Client::builder()
        .api_key(sandbox.api_key())
        .public_key(sandbox.public_key())
        .base_url(sandbox.base_url());
    (sandbox, builder)
}

/// A flow whose definition sends one email after a delay (the email listed first).
#[allow(dead_code)]
pub fn welcome_flow(list_id: &str) -> Value {
    json!({"data": {"type": "flow", "attributes": {"name": "Welcome", "definition": {
        "triggers": [{"type": "list", "id": list_id}],
        "actions": [
            {"temporary_id": "mail", "type": "send-email", "links": {"next": null}, "data": {"status": "draft", "message": {"from_email": "shop@example.com", "from_label": "Shop", "subject_line": "Welcome!", "smart_sending_enabled": true, "transactional": false, "add_tracking_params": false}}},
            {"temporary_id": "wait", "type": "time-delay", "links": {"next": "mail"}, "data": {"unit": "days", "value": 1, "secondary_value": 0, "timezone": "profile", "delay_until_weekdays": ["monday"]}}
        ],
        "entry_action_id": "wait"}}}})
}

/// A multipart/form-data body for `upload_image_from_file`: (content type, body).
#[allow(dead_code)]
pub fn image_upload(name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "sandbox-test-boundary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{name}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}.png\"\r\nContent-Type: image/png\r\n\r\n").into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A tiny PNG's first bytes (the signature is what the sandbox checks), padded to `size`.
#[allow(dead_code)]
pub fn png(size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(size.max(8), 0);
    bytes
}

//! Every operation of the spec called through its typed Rust method
//! (`client.<tag>().<operation_id>(..)`, generated in `every_operation/calls.rs`) against the
//! sandbox: each reaches it as that operation and answers with a document, a page or a typed
//! API error, never a refusal of the client's own.

use klaviyo_bridge::Error;
use klaviyo_sandbox::{Options, RateLimits, Sandbox, example_request_body};
use serde_json::{Value, json};

mod support;

// Written by klaviyo-codegen, whose drift test compares it byte for byte: rustfmt leaves it be.
#[rustfmt::skip]
#[path = "every_operation/calls.rs"]
mod calls;

pub struct Sweep {
    sandbox: Sandbox,
    answered: usize,
    image: std::path::PathBuf,
}

impl Sweep {
    /// An example body that fits the operation's schema; a real file for the upload.
    pub fn body(&self, operation_id: &str) -> Value {
        if operation_id == "upload_image_from_file" {
            return json!({"file": self.image.to_str().unwrap(), "name": "logo"});
        }
        example_request_body(operation_id).expect("an example body")
    }

    /// The call reached the sandbox as `operation_id` and was answered, or refused by the API.
    pub fn check(&mut self, operation_id: &str, method: &str, outcome: Result<(), Error>) {
        match outcome {
            Ok(()) => self.answered += 1,
            Err(e @ (Error::InvalidInput(_) | Error::Config(_))) => {
                panic!("{operation_id}: refused by the client: {e}")
            }
            Err(e) => assert!(e.status().is_some(), "{operation_id}: {e}"),
        }
        let last = self.sandbox.requests().pop().expect("a request");
        assert_eq!(
            (last.operation, last.method.as_str()),
            (Some(operation_id), method),
            "{operation_id}"
        );
    }
}

/// `Custom Objects` → `custom_objects`: the documented rule, restated here on purpose, so the
/// check does not lean on the generator it checks.
fn snake(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

#[test]
fn every_operation_of_the_spec_is_a_method_named_by_the_rule() {
    let spec_path = std::env::var_os("KLAVIYO_OPENAPI_SPEC")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/klaviyo-openapi/stable.json")
        });
    let Ok(text) = std::fs::read_to_string(&spec_path) else {
        eprintln!("skipping: no spec at {}", spec_path.display());
        return;
    };
    let spec: Value = serde_json::from_str(&text).unwrap();
    // The calls file is compiled with this test: each call names a method that exists on its
    // namespace, or the test would not build.
    let calls = include_str!("every_operation/calls.rs");
    let mut count = 0;
    for (_, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "post", "patch", "put", "delete"] {
            let Some(op) = item.get(method) else { continue };
            count += 1;
            let id = op["operationId"].as_str().unwrap();
            let namespace = snake(op["tags"][0].as_str().unwrap());
            let call = format!("client.{namespace}().{id}(");
            assert!(calls.contains(&call), "no typed method {call}..)");
            let paginated = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == "page[cursor]");
            // Paginated operations answer with a pager.
            assert_eq!(calls.contains(&format!("match {call}")), paginated, "{id}");
        }
    }
    assert_eq!(count, 345);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_reaches_the_sandbox_through_its_typed_method() {
    let (sandbox, builder) = support::sandbox_with(Options {
        rate_limits: RateLimits::Off,
        seed_data: Some("demo".into()),
        ..Options::default()
    })
    .await;
    let client = builder.build().unwrap();
    let image = std::env::temp_dir().join(format!("kb-sweep-{}.png", std::process::id()));
    std::fs::write(&image, b"\x89PNG\r\n\x1a\n0000000000000000").unwrap();
    let mut sweep = Sweep {
        sandbox,
        answered: 0,
        image,
    };
    calls::call_every_operation(&client, &mut sweep).await;
    std::fs::remove_file(&sweep.image).ok();
    assert_eq!(calls::OPERATIONS, 345);
    // Placeholder ids answer 404 and some example bodies a 400; the rest succeed.
    assert!(sweep.answered >= 80, "{} answered", sweep.answered);
}

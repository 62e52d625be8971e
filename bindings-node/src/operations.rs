//! Every operation by id, for the generated surface (`operations.js`): the options object goes
//! to the core as JSON, which checks and sends it; the answer comes back as `{resource}`,
//! `{resources}` or `{value}` for `index.js` to shape, or as a pager.

use std::collections::HashMap;
use std::sync::Arc;

use napi_derive::napi;
use serde_json::{Map, Value, json};

use klaviyo_bridge::api::Call;
use klaviyo_bridge::resource::Answer;

use crate::errors::js_error;
use crate::{NativeClient, PageCursor, cancel};

fn arguments(args: Value) -> Map<String, Value> {
    match args {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A response document shaped for `index.js`: `{resource}`, `{resources}` or `{value}`.
fn shaped(document: klaviyo_bridge::Document) -> Value {
    match document.into_answer() {
        Answer::Many(items) => json!({ "resources": items }),
        Answer::One(data) => json!({ "resource": data }),
        Answer::Nothing => json!({ "value": null }),
        Answer::Other(raw) => json!({ "value": raw }),
    }
}

/// A response as `callRaw` answers it: header names in lower case, the body as text.
#[napi(object)]
pub struct RawResponse {
    pub status: u32,
    pub headers: HashMap<String, String>,
    pub body: String,
}

#[napi]
impl NativeClient {
    /// Calls a non-paginated operation by id; `args` holds path parameters, `body`, query
    /// parameters and per-call options by camelCase name.
    #[napi]
    pub async fn call(
        &self,
        operation_id: String,
        args: Value,
        cancel: Option<u32>,
    ) -> napi::Result<Value> {
        let call = Call::from_args(&self.core, &operation_id, arguments(args)).map_err(js_error)?;
        let core = self.core.clone();
        cancel::run(cancel, async move { call.send(&core).await.map(shaped) }).await
    }

    /// Calls an operation by id and answers the response unparsed: status, headers and the
    /// body as text, which `klaviyo-bridge/compat` hands to `JSON.parse` (V8 parses faster
    /// than the addon converts). A paginated operation sends one page (`pageCursor` may be
    /// a `links.next` URL).
    #[napi]
    pub async fn call_raw(
        &self,
        operation_id: String,
        args: Value,
        cancel: Option<u32>,
    ) -> napi::Result<RawResponse> {
        let call = Call::from_args(&self.core, &operation_id, arguments(args)).map_err(js_error)?;
        let core = self.core.clone();
        cancel::run(cancel, async move {
            let response = call.send_raw(&core).await?;
            let mut headers: HashMap<String, String> = HashMap::new();
            for (name, value) in &response.headers {
                let value = String::from_utf8_lossy(value.as_bytes());
                headers
                    .entry(name.as_str().to_string())
                    .and_modify(|joined| {
                        joined.push_str(", ");
                        joined.push_str(&value);
                    })
                    .or_insert_with(|| value.into_owned());
            }
            Ok(RawResponse {
                status: u32::from(response.status),
                headers,
                body: String::from_utf8_lossy(&response.body).into_owned(),
            })
        })
        .await
    }

    /// A pager over a paginated operation by id.
    #[napi]
    pub fn operation_pager(&self, operation_id: String, args: Value) -> napi::Result<PageCursor> {
        let call = Call::from_args(&self.core, &operation_id, arguments(args)).map_err(js_error)?;
        let pager = call.pager(&self.core).map_err(js_error)?;
        Ok(PageCursor {
            pager: Arc::new(tokio::sync::Mutex::new(pager)),
        })
    }
}

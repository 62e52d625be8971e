//! Admission, for every request under `/api` and `/client`: match the operation in the
//! table, then check `revision`, the credential, injected faults and the operation's rate
//! limits, as Klaviyo would, before any handler runs. Every request is logged.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use klaviyo_bridge::operations::{OPERATIONS, Operation};
use serde_json::json;

use crate::{ACCOUNT_ID, Fault, LoggedRequest, RateLimits, Shared, error};

/// The operation a method and path belong to; literal segments win over parameters.
pub(crate) fn match_operation(method: &Method, path: &str) -> Option<&'static Operation> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    OPERATIONS
        .iter()
        .filter(|op| op.method.as_str() == method.as_str())
        .filter_map(|op| {
            let template: Vec<&str> = op.path.split('/').collect();
            if template.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (t, s) in template.iter().zip(&segments) {
                if t.starts_with('{') {
                    if s.is_empty() {
                        return None;
                    }
                } else if t == s {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, op))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, op)| op)
}

/// Headers whose whole value is a credential.
const SECRET_HEADERS: [&str; 4] = ["x-api-key", "api-key", "cookie", "x-klaviyo-api-key"];
/// Query parameters whose value is a credential.
const SECRET_PARAMS: [&str; 8] = [
    "api_key",
    "apikey",
    "private_key",
    "access_token",
    "refresh_token",
    "client_secret",
    "token",
    "code",
];
/// Authorization schemes shown before `<redacted>`.
const SCHEMES: [&str; 3] = ["Klaviyo-API-Key", "Bearer", "Basic"];

fn redacted_headers(headers: &HeaderMap) -> std::collections::HashMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let text = value.to_str().unwrap_or("<binary>");
            let shown = match name.as_str() {
                // Only a known scheme is shown: a bare key (`Authorization: pk_…`) is all secret.
                "authorization" | "proxy-authorization" => match text.split_whitespace().next() {
                    Some(scheme) if SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) => {
                        format!("{scheme} <redacted>")
                    }
                    _ => "<redacted>".to_string(),
                },
                secret if SECRET_HEADERS.contains(&secret) => "<redacted>".to_string(),
                _ => text.to_string(),
            };
            (name.to_string(), shown)
        })
        .collect()
}

/// The path and query, with the values of credential parameters redacted.
fn redacted_uri(uri: &axum::http::Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let secret = |key: &str| SECRET_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(key));
    if !url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| secret(&k)) {
        return uri.to_string();
    }
    let mut shown = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        shown.append_pair(&key, if secret(&key) { "<redacted>" } else { &value });
    }
    format!("{}?{}", uri.path(), shown.finish())
}

/// The middleware.
pub(crate) async fn admit(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let uri = redacted_uri(request.uri());
    let headers = redacted_headers(request.headers());
    let op = match_operation(&method, request.uri().path());
    let origin = crate::pagination::origin(
        request.headers().get("host").and_then(|h| h.to_str().ok()),
        shared.addr,
    );
    let mut entry = LoggedRequest {
        method: method.to_string(),
        uri,
        operation: op.map(|o| o.id),
        headers,
        status: 0,
    };
    let response = run(&shared, op, request, next, &entry).await;
    entry.status = response.status().as_u16();
    // Inspection is not traffic: reading the log does not fill it.
    if !entry.uri.starts_with("/__sandbox/") {
        shared.log_request(entry);
    }
    with_absolute_links(klaviyo_shaped(response).await, &origin).await
}

/// Errors that the HTTP layer produced itself (an oversize body, a method no route has) in
/// Klaviyo's JSON:API error shape.
async fn klaviyo_shaped(response: Response) -> Response {
    let status = response.status();
    let is_json = response.headers().get("content-type").is_some_and(|v| {
        v.as_bytes().starts_with(b"application/vnd.api+json")
            || v.as_bytes().starts_with(b"application/json")
    });
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => error(
            status,
            "payload_too_large",
            format!(
                "The request body is larger than {} bytes, the most Klaviyo accepts: send fewer items per request.",
                crate::max_body_bytes()
            ),
            Some(json!({"pointer": "/"})),
        ),
        StatusCode::METHOD_NOT_ALLOWED => error(
            status,
            "method_not_allowed",
            "This method is not allowed on this path.",
            None,
        ),
        _ => error(
            status,
            if status.is_server_error() {
                "error"
            } else {
                "invalid"
            },
            if text.is_empty() {
                status.canonical_reason().unwrap_or("Error").to_string()
            } else {
                text
            },
            None,
        ),
    }
}

/// Resources keep their links relative to the API root; responses carry them absolute, on
/// the address the request came to, as Klaviyo's do.
async fn with_absolute_links(response: Response, origin: &str) -> Response {
    let is_json_api = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/vnd.api+json"));
    if !is_json_api {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let text = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| crate::pagination::absolute_links(text, origin));
    match text {
        Some(text) => {
            parts.headers.remove("content-length");
            Response::from_parts(parts, axum::body::Body::from(text))
        }
        None => Response::from_parts(parts, axum::body::Body::from(bytes)),
    }
}

async fn run(
    shared: &Shared,
    op: Option<&'static Operation>,
    request: Request,
    next: Next,
    entry: &LoggedRequest,
) -> Response {
    if !shared.options.latency.is_zero() {
        tokio::time::sleep(shared.options.latency).await;
    }
    let Some(op) = op else {
        return next.run(request).await;
    };
    let headers = request.headers();
    match headers.get("revision").map(|v| v.to_str().unwrap_or("")) {
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "Missing required header: revision (e.g. revision: 2026-07-15).",
                Some(json!({"header": "revision"})),
            );
        }
        Some(r) if klaviyo_bridge::config::validate_revision(r).is_err() => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("Invalid revision {r:?}: use YYYY-MM-DD."),
                Some(json!({"header": "revision"})),
            );
        }
        _ => {}
    }
    let credential = match credential(shared, op, &request) {
        Ok(c) => c,
        Err(response) => return response,
    };
    match shared.faults.draw() {
        Some(Fault::Status(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = error(
                status,
                if status == StatusCode::TOO_MANY_REQUESTS {
                    "throttled"
                } else {
                    "error"
                },
                "Injected fault.",
                None,
            );
            if status == StatusCode::TOO_MANY_REQUESTS {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static("1"));
            }
            return response;
        }
        // Unwinding out of the connection task drops the connection without an answer;
        // resume_unwind skips the panic hook, so nothing is printed. Logged as status 0.
        Some(Fault::Reset) => {
            shared.log_request(entry.clone());
            std::panic::resume_unwind(Box::new("injected connection reset"))
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let rate_headers = match count(shared, &credential, op) {
        Ok(h) => h,
        Err(response) => return response,
    };
    let mut response = next.run(request).await;
    for (name, value) in rate_headers {
        response
            .headers_mut()
            .insert(name, HeaderValue::from(value));
    }
    response
}

/// The credential the request is counted under, or the 401/403 response.
fn credential(shared: &Shared, op: &Operation, request: &Request) -> Result<String, Response> {
    if op.client_side {
        let company = request.uri().query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "company_id")
                .map(|(_, v)| v.into_owned())
        });
        return match company {
            Some(id) if id == ACCOUNT_ID => Ok(format!("public:{id}")),
            Some(_) => Err(error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "Invalid company_id.",
                Some(json!({"parameter": "company_id"})),
            )),
            None => Err(error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "company_id is required.",
                Some(json!({"parameter": "company_id"})),
            )),
        };
    }
    let auth = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(key) = auth.strip_prefix("Klaviyo-API-Key ") {
        return if key == shared.options.api_key {
            Ok(format!("key:{key}"))
        } else {
            Err(error(
                StatusCode::UNAUTHORIZED,
                "authentication_failed",
                "Incorrect authentication credentials.",
                None,
            ))
        };
    }
    if let Some(token) = auth.strip_prefix("Bearer ") {
        let expiry = shared.tokens.lock().unwrap().get(token).copied();
        return if expiry.is_some_and(|e| e.is_none_or(|at| std::time::Instant::now() < at)) {
            Ok(format!("token:{token}"))
        } else {
            Err(error(
                StatusCode::UNAUTHORIZED,
                "not_authenticated",
                "The access token is invalid or expired.",
                None,
            ))
        };
    }
    Err(error(
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
        "Authentication credentials were not provided.",
        None,
    ))
}

/// Counts the request in its fixed windows; the rate-limit headers, or the 429 response.
fn count(
    shared: &Shared,
    credential: &str,
    op: &'static Operation,
) -> Result<Vec<(&'static str, u64)>, Response> {
    let scale = match shared.options.rate_limits {
        RateLimits::Off => return Ok(Vec::new()),
        RateLimits::Real => 1.0,
        RateLimits::Scale(n) => n,
    };
    let scaled = |limit: u32| ((f64::from(limit) * scale).floor() as u64).max(1);
    let limits = [
        (1u64, scaled(op.rate_limit.burst)),
        (60u64, scaled(op.rate_limit.steady)),
    ];
    let now = shared.started.elapsed().as_secs();
    let mut windows = shared.windows.lock().unwrap();
    if windows.len() > 10_000 {
        windows.retain(|(_, _, span, window), _| (window + 1) * span >= now);
    }
    for (span, limit) in limits {
        let used = windows
            .get(&(credential.to_string(), op.id, span, now / span))
            .copied()
            .unwrap_or(0);
        if u64::from(used) >= limit {
            let reset = span - now % span;
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                format!(
                    "Request was throttled. Expected available in {reset} second{}.",
                    if reset == 1 { "" } else { "s" }
                ),
                None,
            );
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(reset));
            return Err(response);
        }
    }
    let mut headers = Vec::new();
    for (span, limit) in limits {
        let used = windows
            .entry((credential.to_string(), op.id, span, now / span))
            .or_default();
        *used += 1;
        if span == 60 {
            headers = vec![
                ("ratelimit-limit", limit),
                ("ratelimit-remaining", limit - u64::from(*used)),
                ("ratelimit-reset", span - now % span),
            ];
        }
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_request_log() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "pk_bare_key_000"),
            ("proxy-authorization", "Bearer tok"),
            ("x-api-key", "pk_x"),
            ("revision", "2026-07-15"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        let shown = redacted_headers(&headers);
        assert_eq!(shown["authorization"], "<redacted>");
        assert_eq!(shown["proxy-authorization"], "Bearer <redacted>");
        assert_eq!(shown["x-api-key"], "<redacted>");
        assert_eq!(shown["revision"], "2026-07-15");
        let uri: axum::http::Uri = "/api/profiles?api_key=pk_q&page%5Bsize%5D=5&Access_Token=t"
            .parse()
            .unwrap();
        let logged = redacted_uri(&uri);
        assert!(
            !logged.contains("pk_q")
                && !logged.contains("=t")
                && logged.contains("page%5Bsize%5D=5"),
            "{logged}"
        );
        assert_eq!(
            redacted_uri(&"/api/profiles?sort=email".parse().unwrap()),
            "/api/profiles?sort=email"
        );
    }

    #[test]
    fn matches_operations_by_method_and_path_preferring_literals() {
        let id = |m: Method, p: &str| match_operation(&m, p).map(|o| o.id);
        assert_eq!(id(Method::GET, "/api/profiles"), Some("get_profiles"));
        assert_eq!(id(Method::GET, "/api/profiles/P1"), Some("get_profile"));
        assert_eq!(
            id(Method::PATCH, "/api/profiles/P1"),
            Some("update_profile")
        );
        assert_eq!(
            id(Method::POST, "/api/lists/L1/relationships/profiles"),
            Some("add_profiles_to_list")
        );
        assert_eq!(
            id(
                Method::GET,
                "/api/catalog-items/$custom:::$default:::1/variants"
            ),
            Some("get_variants_for_catalog_item")
        );
        assert_eq!(id(Method::GET, "/api/nothing-here"), None);
        assert_eq!(id(Method::PUT, "/api/profiles"), None);
    }
}

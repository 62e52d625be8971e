//! The operation table: every operation in Klaviyo's OpenAPI spec with its method, path,
//! per-operation rate limits and page-size bounds. `generated.rs` is written by
//! `klaviyo-codegen`; `bulk_limits.rs` holds the limits the spec gives only in prose.

mod bulk_limits;
pub mod multipart;
pub mod schema;
// Written by klaviyo-codegen, whose drift test compares it byte for byte: rustfmt leaves it be.
#[rustfmt::skip]
mod generated;

pub use bulk_limits::{BULK_LIMITS, BulkLimit, bulk_limit};
pub use generated::{OPERATIONS, SPEC_REVISION};

use crate::error::Error;

/// HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PATCH`
    Patch,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
}

impl HttpMethod {
    /// The method as reqwest wants it.
    pub fn as_reqwest(self) -> reqwest::Method {
        match self {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Delete => reqwest::Method::DELETE,
        }
    }

    /// Upper-case name, e.g. `"GET"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// Klaviyo's published limits for one operation (`x-klaviyo-ratelimit`): requests per
/// 1-second burst window, per 60-second steady window, and per day where a cap exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// Requests allowed per 1 s window.
    pub burst: u32,
    /// Requests allowed per 60 s window.
    pub steady: u32,
    /// Requests allowed per day, where the spec sets a daily cap.
    pub daily: Option<u32>,
}

/// `page[size]` bounds of a paginated operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageSize {
    /// The size the API uses when none is sent.
    pub default: u32,
    /// The largest size the API accepts.
    pub max: u32,
}

/// One operation of the Klaviyo API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operation {
    /// The spec's `operationId`, e.g. `get_profiles`.
    pub id: &'static str,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path template, e.g. `/api/profiles/{id}`.
    pub path: &'static str,
    /// Per-operation rate limits.
    pub rate_limit: RateLimit,
    /// `page[size]` bounds, where the operation takes a page size.
    pub page_size: Option<PageSize>,
    /// Whether the operation is cursor-paginated (`page[cursor]`).
    pub paginated: bool,
    /// A `/client/*` operation: authenticated by the public key (`company_id`), not a private key.
    pub client_side: bool,
    /// Whether the operation takes a request body.
    pub has_body: bool,
    /// The namespace: the spec's tag in snake_case (`campaigns`, `custom_objects`).
    pub namespace: &'static str,
    /// The spec's one-line summary.
    pub summary: &'static str,
    /// Query parameters (`company_id` of `/client/*` operations is added by the client).
    pub params: &'static [QueryParam],
    /// The request body's schema name in the spec (see [`schema`]).
    pub body_schema: Option<&'static str>,
    /// The body is `multipart/form-data` (an image upload), not JSON:API.
    pub multipart: bool,
}

/// What a query parameter is; decides how its value is checked and sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// `fields[type]`: field names, sent comma-separated.
    Fields,
    /// `additional-fields[type]`: names, sent comma-separated.
    AdditionalFields,
    /// `include`: relationship names, sent comma-separated.
    Include,
    /// `sort`: one field, `-field` for descending.
    Sort,
    /// `filter`: a filter expression.
    Filter,
    /// `page[size]`.
    PageSize,
    /// `page[cursor]` of a pager, or a report's `page_cursor`.
    PageCursor,
    /// Any other scalar (`group_by`, `timeframe`, `statistics`).
    Scalar,
}

impl ParamKind {
    /// Whether the value is a list of names.
    pub fn is_list(self) -> bool {
        matches!(
            self,
            ParamKind::Fields | ParamKind::AdditionalFields | ParamKind::Include
        )
    }
}

/// One query parameter of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryParam {
    /// The name on the wire, e.g. `fields[campaign]`.
    pub wire: &'static str,
    /// The argument name: snake_case (`fields_campaign`); Node takes its camelCase.
    pub name: &'static str,
    /// What it is.
    pub kind: ParamKind,
    /// Whether the operation requires it.
    pub required: bool,
    /// Allowed values (empty: any).
    pub allowed: &'static [&'static str],
}

/// Looks an operation up by its `operationId`.
pub fn operation(id: &str) -> Option<&'static Operation> {
    OPERATIONS
        .binary_search_by(|op| op.id.cmp(id))
        .ok()
        .map(|i| &OPERATIONS[i])
}

/// Looks an operation up, or returns a typed error naming close matches.
pub fn require_operation(id: &str) -> Result<&'static Operation, Error> {
    operation(id).ok_or_else(|| {
        let hint: Vec<&str> = OPERATIONS.iter().map(|op| op.id).filter(|known| known.contains(id) || id.contains(*known)).take(5).collect();
        let hint = if hint.is_empty() { String::new() } else { format!(" (did you mean: {})", hint.join(", ")) };
        Error::InvalidInput(format!("unknown operation id {id:?}{hint}; operation ids are the spec's operationId, e.g. \"get_profiles\""))
    })
}

impl Operation {
    /// Names of the path parameters, in order (`{id}`, `{related_id}`…).
    pub fn path_params(&self) -> impl Iterator<Item = &'static str> {
        let path: &'static str = self.path;
        path.split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }

    /// Fills the path template. Every parameter must be given exactly once; values are
    /// percent-encoded as one path segment.
    pub fn render_path(&self, params: &[(&str, &str)]) -> Result<String, Error> {
        for (name, _) in params {
            if !self.path_params().any(|p| p == *name) {
                return Err(Error::InvalidInput(format!(
                    "{}: unknown path parameter {name:?}; expected {:?}",
                    self.id,
                    self.path_params().collect::<Vec<_>>()
                )));
            }
        }
        let mut out = String::with_capacity(self.path.len() + 32);
        for seg in self.path.split('/').skip(1) {
            out.push('/');
            match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => {
                    let value = params
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| *v)
                        .ok_or_else(|| {
                            Error::InvalidInput(format!(
                                "{}: missing path parameter {name:?} for {}",
                                self.id, self.path
                            ))
                        })?;
                    if value.is_empty() {
                        return Err(Error::InvalidInput(format!(
                            "{}: path parameter {name:?} is empty",
                            self.id
                        )));
                    }
                    out.extend(
                        url::form_urlencoded::byte_serialize(value.as_bytes())
                            .map(|s| s.replace('+', "%20")),
                    );
                }
                None => out.push_str(seg),
            }
        }
        Ok(out)
    }

    /// Clamps a requested page size to this operation's bounds (`None` where it takes none).
    pub fn clamp_page_size(&self, requested: Option<u32>) -> Option<u32> {
        self.page_size
            .map(|bounds| requested.unwrap_or(bounds.default).clamp(1, bounds.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_holds_every_operation_of_the_spec_sorted() {
        assert_eq!(OPERATIONS.len(), 345);
        assert!(OPERATIONS.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(OPERATIONS.iter().filter(|op| op.client_side).count(), 12);
        assert!(
            OPERATIONS
                .iter()
                .filter(|op| op.client_side)
                .all(|op| op.path.starts_with("/client/"))
        );
    }

    #[test]
    fn looks_up_limits_and_page_bounds_from_the_spec() {
        let events = operation("get_events").unwrap();
        assert_eq!(
            events.page_size,
            Some(PageSize {
                default: 200,
                max: 1000
            })
        );
        assert!(events.paginated);
        let profiles = operation("get_profiles").unwrap();
        assert_eq!(
            profiles.rate_limit,
            RateLimit {
                burst: 75,
                steady: 750,
                daily: None
            }
        );
        assert_eq!(operation("create_event").unwrap().rate_limit.steady, 3500);
        assert_eq!(
            operation("query_campaign_values").unwrap().rate_limit.daily,
            Some(225)
        );
        assert!(
            operation("get_metrics").unwrap().paginated
                && operation("get_metrics").unwrap().page_size.is_none()
        );
        assert!(operation("no_such_op").is_none());
        let err = require_operation("get_profile_typo").unwrap_err();
        assert!(err.to_string().contains("unknown operation id"), "{err}");
    }

    #[test]
    fn renders_paths_with_encoding_and_rejects_missing_or_unknown_params() {
        let op = operation("get_profile").unwrap();
        assert_eq!(
            op.render_path(&[("id", "01H/X Y")]).unwrap(),
            "/api/profiles/01H%2FX%20Y"
        );
        assert!(
            op.render_path(&[])
                .unwrap_err()
                .to_string()
                .contains("missing path parameter \"id\"")
        );
        assert!(
            op.render_path(&[("id", "1"), ("nope", "2")])
                .unwrap_err()
                .to_string()
                .contains("unknown path parameter")
        );
        assert!(op.render_path(&[("id", "")]).is_err());
    }

    #[test]
    fn clamps_page_size_to_operation_maximum() {
        let op = operation("get_profiles").unwrap();
        assert_eq!(op.clamp_page_size(None), Some(20));
        assert_eq!(op.clamp_page_size(Some(5000)), Some(100));
        assert_eq!(op.clamp_page_size(Some(0)), Some(1));
        assert_eq!(
            operation("get_metrics").unwrap().clamp_page_size(Some(50)),
            None
        );
    }
}

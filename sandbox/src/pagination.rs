//! Cursor pages for every list endpoint: the filter and sort of the request, keyset cursors
//! that stay valid while records are added, and `links` that repeat the whole query.

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use klaviyo_bridge::filter::{Condition, Filter, FilterValue};
use serde_json::{Value, json};

use crate::error;
use crate::table::{Position, SortKey, Source, field_value};

/// The query of a request, in order as sent, with its path: what a list needs to answer and
/// to build links that repeat the request. Derefs to the parameters by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    params: HashMap<String, String>,
    pairs: Vec<(String, String)>,
    path: String,
}

impl std::ops::Deref for ListQuery {
    type Target = HashMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.params
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let pairs: Vec<(String, String)> = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Ok(ListQuery {
            params: pairs.iter().cloned().collect(),
            pairs,
            path: parts.uri.path().trim_end_matches('/').to_string(),
        })
    }
}

impl ListQuery {
    /// The same request, evaluated with `filter` in place of its own (empty for none), while
    /// its links still repeat the filter as sent: for conditions the caller has applied.
    pub(crate) fn evaluating_filter(mut self, filter: String) -> ListQuery {
        if filter.is_empty() {
            self.params.remove("filter");
        } else {
            self.params.insert("filter".into(), filter);
        }
        self
    }

    /// `path/?query` with `page[cursor]` replaced by `cursor` (or left out), every other
    /// parameter kept in its place, form-encoded as Klaviyo encodes links. Relative: the
    /// admission layer makes links absolute on the address the request came to.
    fn link(&self, cursor: Option<&str>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let mut placed = false;
        for (key, value) in &self.pairs {
            if key == "page[cursor]" {
                if let (Some(cursor), false) = (cursor, placed) {
                    query.append_pair(key, cursor);
                    placed = true;
                }
            } else {
                query.append_pair(key, value);
            }
        }
        if let (Some(cursor), false) = (cursor, placed) {
            query.append_pair("page[cursor]", cursor);
        }
        let query = query.finish();
        if query.is_empty() {
            format!("{}/", self.path)
        } else {
            format!("{}/?{query}", self.path)
        }
    }
}

/// The scheme and authority links point at: the `Host` the request came to, when it is a
/// plain host name or address, else the address the sandbox listens on.
pub(crate) fn origin(host: Option<&str>, listening: std::net::SocketAddr) -> String {
    let plain = |h: &&str| {
        !h.is_empty()
            && h.len() <= 255
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    };
    match host.filter(plain) {
        Some(host) => format!("http://{host}"),
        None => format!("http://{listening}"),
    }
}

/// Makes the relative links of a JSON:API body (`"self":"/api/…"`, `related`, `next`,
/// `prev`, `first`, `last`) absolute on `origin`; None when there are none.
pub(crate) fn absolute_links(body: &str, origin: &str) -> Option<String> {
    const LINK_KEYS: [&str; 6] = ["self", "related", "next", "prev", "first", "last"];
    let mut out = String::new();
    let mut copied = 0;
    for (at, marker) in body.match_indices("\":\"/") {
        let Some(open) = body[..at].rfind('"') else {
            continue;
        };
        if LINK_KEYS.contains(&&body[open + 1..at]) {
            if out.is_empty() {
                out.reserve(body.len() + body.len() / 8);
            }
            let value_start = at + marker.len() - 1;
            out.push_str(&body[copied..value_start]);
            out.push_str(origin);
            copied = value_start;
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&body[copied..]);
    Some(out)
}

/// Which way a cursor points from its position.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Direction {
    After,
    Before,
}

/// A cursor: the direction, the sort it was made for, and the row it starts from.
fn encode_cursor(direction: Direction, sort: &str, (key, id): &Position) -> String {
    let key = match key {
        SortKey::Missing => "m".to_string(),
        SortKey::Bool(b) => format!("b{}", u8::from(*b)),
        SortKey::Number(n) => format!("n{n}"),
        SortKey::Time(t) => format!("t{t}"),
        SortKey::Text(s) => format!("s{s}"),
    };
    let dir = if direction == Direction::After {
        'a'
    } else {
        'b'
    };
    URL_SAFE_NO_PAD.encode(format!("{dir}\x1f{sort}\x1f{id}\x1f{key}"))
}

fn decode_cursor(cursor: &str) -> Option<(Direction, String, Position)> {
    // A whole `links.next` URL where a cursor belongs (as the official Python SDK sends for
    // non-https links) means its cursor.
    if cursor.starts_with("http://") || cursor.starts_with("https://") {
        let url = url::Url::parse(cursor).ok()?;
        let inner = url
            .query_pairs()
            .find(|(k, _)| k == "page[cursor]")?
            .1
            .into_owned();
        return decode_cursor(&inner);
    }
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let mut parts = text.splitn(4, '\x1f');
    let direction = match parts.next()? {
        "a" => Direction::After,
        "b" => Direction::Before,
        _ => return None,
    };
    let (sort, id, key) = (
        parts.next()?.to_string(),
        parts.next()?.to_string(),
        parts.next()?,
    );
    let key = match key.split_at_checked(1)? {
        ("m", "") => SortKey::Missing,
        ("b", b) => SortKey::Bool(b == "1"),
        ("n", n) => SortKey::Number(n.parse().ok()?),
        ("t", t) => SortKey::Time(t.parse().ok()?),
        ("s", s) => SortKey::Text(s.to_string()),
        _ => return None,
    };
    Some((direction, sort, (key, id)))
}

fn invalid(parameter: &str, detail: impl Into<String>) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid",
        detail,
        Some(json!({"parameter": parameter})),
    )
}

/// One page of list operation `op` over `source`, filtered, sorted and sparse as the request
/// asks, with `links` for it and its neighbours. Only the returned rows are cloned.
pub(crate) fn page(
    op: &'static str,
    source: &dyn Source,
    query: &ListQuery,
) -> Result<Value, Response> {
    let operation =
        klaviyo_bridge::operations::operation(op).expect("handlers name real operations");
    let filter = match query.get("filter") {
        Some(text) => Filter::parse(text).map_err(|e| invalid("filter", e.to_string()))?,
        None => Filter::new(),
    };
    let conditions = filter.conditions();
    let sort = query.get("sort").map(String::as_str).unwrap_or("");
    check_allowed(op, conditions, sort)?;
    let (field, ascending) = match sort.strip_prefix('-') {
        Some(field) => (Some(field), false),
        None => (Some(sort).filter(|s| !s.is_empty()), true),
    };
    let size = match (operation.page_size, query.get("page[size]")) {
        (Some(bounds), Some(text)) => match text.parse::<u32>() {
            Ok(n) if (1..=bounds.max).contains(&n) => n as usize,
            _ => {
                return Err(invalid(
                    "page[size]",
                    format!(
                        "page[size] must be an integer between 1 and {}.",
                        bounds.max
                    ),
                ));
            }
        },
        (Some(bounds), None) => bounds.default as usize,
        // Operations without page[size] use a fixed page, as Klaviyo does.
        (None, _) => 200,
    };
    let cursor = match query.get("page[cursor]") {
        Some(text) => {
            let (direction, made_for, position) = decode_cursor(text)
                .ok_or_else(|| invalid("page[cursor]", "Invalid page cursor."))?;
            if made_for != sort {
                return Err(invalid(
                    "page[cursor]",
                    format!(
                        "This page cursor was made for sort {made_for:?}, not {sort:?}: follow links.next, or start again without page[cursor]."
                    ),
                ));
            }
            Some((direction, position))
        }
        None => None,
    };
    let matching = |forward: bool, from: Option<&Position>| {
        let along = forward == ascending;
        source
            .walk(field, along, from, conditions)
            .filter(move |(_, row)| conditions.iter().all(|c| matches(row, c)))
    };
    let position = |(key, row): &(SortKey, Cow<Value>)| {
        (
            key.clone(),
            row["id"].as_str().unwrap_or_default().to_string(),
        )
    };
    let (rows, has_prev, has_next) = match &cursor {
        Some((Direction::Before, from)) => {
            let mut rows: Vec<(SortKey, Cow<Value>)> =
                matching(false, Some(from)).take(size + 1).collect();
            let has_prev = rows.len() > size;
            rows.truncate(size);
            rows.reverse();
            let has_next = rows
                .last()
                .is_some_and(|last| matching(true, Some(&position(last))).next().is_some());
            (rows, has_prev, has_next)
        }
        after => {
            let from = after.as_ref().map(|(_, p)| p);
            let mut rows: Vec<(SortKey, Cow<Value>)> =
                matching(true, from).take(size + 1).collect();
            let has_next = rows.len() > size;
            rows.truncate(size);
            let has_prev = from.is_some()
                && rows
                    .first()
                    .is_some_and(|first| matching(false, Some(&position(first))).next().is_some());
            (rows, has_prev, has_next)
        }
    };
    let mut links = json!({"self": query.link(query.get("page[cursor]").map(String::as_str))});
    if let (true, Some(last)) = (has_next, rows.last()) {
        links["next"] = json!(query.link(Some(&encode_cursor(
            Direction::After,
            sort,
            &position(last)
        ))));
    }
    if let (true, Some(first)) = (has_prev, rows.first()) {
        links["prev"] = json!(query.link(Some(&encode_cursor(
            Direction::Before,
            sort,
            &position(first)
        ))));
    }
    let data: Vec<Value> = rows
        .into_iter()
        .map(|(_, row)| sparse(row.into_owned(), query))
        .collect();
    Ok(json!({"data": data, "links": links}))
}

/// Refuses filter fields, operators and sorts the operation does not allow, as Klaviyo does,
/// naming what is allowed.
fn check_allowed(op: &str, conditions: &[Condition], sort: &str) -> Result<(), Response> {
    let Some(shape) = crate::emulation::SHAPES.operation(op) else {
        return Ok(());
    };
    if let Some(allowed) = &shape.filters {
        for condition in conditions {
            match allowed.get(&condition.field) {
                None => {
                    let mut fields: Vec<&str> = allowed.keys().map(String::as_str).collect();
                    fields.sort_unstable();
                    return Err(invalid(
                        "filter",
                        format!(
                            "{op} cannot filter on {:?}; it filters on {}.",
                            condition.field,
                            fields.join(", ")
                        ),
                    ));
                }
                Some(operators) if !operators.contains(&condition.operator) => {
                    return Err(invalid(
                        "filter",
                        format!(
                            "{op} allows {} on {:?}, not {:?}.",
                            operators.join(", "),
                            condition.field,
                            condition.operator
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    if let Some(sorts) = shape
        .sorts
        .as_ref()
        .filter(|sorts| !sort.is_empty() && !sorts.iter().any(|s| s == sort))
    {
        return Err(invalid(
            "sort",
            format!("{op} sorts by {}, not {sort:?}.", sorts.join(", ")),
        ));
    }
    Ok(())
}

/// Applies `fields[type]=a,b` to one resource.
pub(crate) fn sparse(mut item: Value, query: &HashMap<String, String>) -> Value {
    let kind = item["type"].as_str().unwrap_or_default().to_string();
    if let Some(fields) = query.get(&format!("fields[{kind}]")) {
        let keep: Vec<&str> = fields.split(',').map(str::trim).collect();
        if let Some(attributes) = item.get_mut("attributes").and_then(Value::as_object_mut) {
            attributes.retain(|k, _| keep.contains(&k.as_str()));
        }
    }
    item
}

/// Whether a row meets one filter condition, comparing as the indexes order.
pub(crate) fn matches(row: &Value, condition: &Condition) -> bool {
    let Condition {
        operator,
        field,
        value,
    } = condition;
    let actual = field_value(row, field);
    let key = SortKey::of(field, actual);
    let text = |v: &FilterValue| match v {
        FilterValue::Str(s) | FilterValue::DateTime(s) => Some(if field == "email" {
            s.to_lowercase()
        } else {
            s.clone()
        }),
        _ => None,
    };
    let actual_text = actual.as_str().map(|s| {
        if field == "email" {
            s.to_lowercase()
        } else {
            s.to_string()
        }
    });
    let equal = |v: &FilterValue| match v {
        FilterValue::Null => actual.is_null(),
        v => SortKey::of_filter(field, v).is_some_and(|k| k == key),
    };
    match (operator.as_str(), value) {
        ("equals", v) => equal(v),
        ("any" | "contains-any", FilterValue::List(options)) => options.iter().any(equal),
        ("contains", v) => match actual {
            Value::Array(items) => items.iter().any(|item| {
                SortKey::of(field, item) == SortKey::of_filter(field, v).unwrap_or(SortKey::Missing)
            }),
            _ => actual_text
                .zip(text(v))
                .is_some_and(|(a, b)| a.contains(&b)),
        },
        ("starts-with", v) => actual_text
            .zip(text(v))
            .is_some_and(|(a, b)| a.starts_with(&b)),
        ("ends-with", v) => actual_text
            .zip(text(v))
            .is_some_and(|(a, b)| a.ends_with(&b)),
        ("has", _) => !actual.is_null(),
        (op, v) => {
            if actual.is_null() {
                return false;
            }
            let Some(other) = SortKey::of_filter(field, v) else {
                return false;
            };
            // Keys of different kinds (a number against a date) do not compare.
            if std::mem::discriminant(&key) != std::mem::discriminant(&other) {
                return false;
            }
            match op {
                "greater-than" => key > other,
                "greater-or-equal" => key >= other,
                "less-than" => key < other,
                "less-or-equal" => key <= other,
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> ListQuery {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
            .into_owned()
            .collect();
        ListQuery {
            params: pairs.iter().cloned().collect(),
            pairs,
            path: "/api/events".into(),
        }
    }

    #[test]
    fn links_keep_every_parameter_in_place_and_replace_only_the_cursor() {
        let q = query(
            "filter=greater-than(datetime,2024-01-01T00:00:00Z)&page%5Bcursor%5D=old&sort=-datetime&fields%5Bevent%5D=datetime",
        );
        assert_eq!(
            q.link(Some("new")),
            "/api/events/?filter=greater-than%28datetime%2C2024-01-01T00%3A00%3A00Z%29&page%5Bcursor%5D=new&sort=-datetime&fields%5Bevent%5D=datetime"
        );
        assert_eq!(
            query("include=metric").link(Some("c")),
            "/api/events/?include=metric&page%5Bcursor%5D=c"
        );
        assert_eq!(query("").link(None), "/api/events/");
    }

    #[test]
    fn links_become_absolute_on_the_request_address() {
        let body = json!({"data": [{"id": "P1", "attributes": {"note": "/api/x", "self": "text"}, "links": {"self": "/api/profiles/P1/"}}], "links": {"self": "/api/profiles/", "next": "/api/profiles/?page%5Bcursor%5D=c"}}).to_string();
        let out: Value =
            serde_json::from_str(&absolute_links(&body, "http://127.0.0.1:7").unwrap()).unwrap();
        assert_eq!(
            out["links"]["next"],
            "http://127.0.0.1:7/api/profiles/?page%5Bcursor%5D=c"
        );
        assert_eq!(
            out["data"][0]["links"]["self"],
            "http://127.0.0.1:7/api/profiles/P1/"
        );
        assert_eq!(out["data"][0]["attributes"]["note"], "/api/x");
        assert_eq!(absolute_links("{\"data\":[]}", "http://h"), None);
        let addr: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            origin(Some("localhost:8080"), addr),
            "http://localhost:8080"
        );
        assert_eq!(
            origin(Some("evil.com/\"><script>"), addr),
            "http://127.0.0.1:9"
        );
        assert_eq!(origin(None, addr), "http://127.0.0.1:9");
    }

    #[test]
    fn cursors_round_trip_and_whole_links_count_as_their_cursor() {
        let position = (SortKey::Time(-5), "E1".to_string());
        let cursor = encode_cursor(Direction::Before, "-datetime", &position);
        assert_eq!(
            decode_cursor(&cursor),
            Some((Direction::Before, "-datetime".into(), position.clone()))
        );
        let link = format!("http://127.0.0.1:9/api/events/?page%5Bcursor%5D={cursor}");
        assert_eq!(decode_cursor(&link), decode_cursor(&cursor));
        assert_eq!(decode_cursor("bz5a5b"), None);
        assert_eq!(decode_cursor("http://127.0.0.1:9/api/events/"), None);
    }

    #[test]
    fn conditions_compare_instants_numbers_and_emails_as_klaviyo_does() {
        let row = json!({"id": "P1", "attributes": {"email": "Jane@Example.com", "created": "2024-01-01T00:00:00+00:00", "n": 5}});
        let check = |f: &str| {
            Filter::parse(f)
                .unwrap()
                .conditions()
                .iter()
                .all(|c| matches(&row, c))
        };
        assert!(check("equals(email,\"jane@example.COM\")"));
        assert!(check("equals(created,2024-01-01T00:00:00Z)"));
        assert!(check("greater-than(created,2023-12-31T23:59:59Z)"));
        assert!(!check("less-than(created,2024-01-01T00:00:00Z)"));
        assert!(check("greater-or-equal(n,5)") && !check("greater-than(n,5)"));
        assert!(!check("greater-than(n,2024-01-01T00:00:00Z)"));
        assert!(check("any(id,[\"P2\",\"P1\"])") && !check("equals(id,\"P2\")"));
    }
}

//! The typed surface of every operation, read from the spec once: namespace (the spec's tag),
//! path and query parameters with their allowed values, the request body's schema, the shape
//! of the response. Every generated file (the core's table, the Rust, Python and TypeScript
//! surfaces) is rendered from this model, so the names follow one rule everywhere:
//!
//! - namespace: the operation's tag in snake_case (Python, Rust) or camelCase (Node):
//!   `Custom Objects` → `custom_objects` / `customObjects`;
//! - method: the `operationId` (Python, Rust) or its camelCase (Node): `get_campaigns` /
//!   `getCampaigns`, as the official SDKs name them;
//! - parameter: the query name with brackets, dashes and dots turned into `_` (Python, Rust) or
//!   camelCase (Node): `fields[campaign-message]` → `fields_campaign_message` /
//!   `fieldsCampaignMessage`, `page[size]` → `page_size` / `pageSize`.

use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "patch", "put", "delete"];

/// What a query parameter is, which decides how its value is checked and sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `fields[type]`: a list of allowed field names.
    Fields,
    /// `additional-fields[type]`: a list of allowed names.
    AdditionalFields,
    /// `include`: a list of allowed relationships.
    Include,
    /// `sort`: one allowed value.
    Sort,
    /// `filter`: a filter expression.
    Filter,
    /// `page[size]`.
    PageSize,
    /// `page[cursor]` (a pager's cursor) or a POST report's `page_cursor`.
    PageCursor,
    /// Any other scalar (`group_by`, `timeframe`, `statistics`).
    Scalar,
}

impl Kind {
    pub fn rust(self) -> &'static str {
        match self {
            Kind::Fields => "Fields",
            Kind::AdditionalFields => "AdditionalFields",
            Kind::Include => "Include",
            Kind::Sort => "Sort",
            Kind::Filter => "Filter",
            Kind::PageSize => "PageSize",
            Kind::PageCursor => "PageCursor",
            Kind::Scalar => "Scalar",
        }
    }

    /// Whether the value is a list of names (sent comma-separated).
    pub fn is_list(self) -> bool {
        matches!(self, Kind::Fields | Kind::AdditionalFields | Kind::Include)
    }
}

/// One query parameter.
#[derive(Debug, Clone)]
pub struct Param {
    /// The name on the wire, e.g. `fields[campaign]`.
    pub wire: String,
    /// snake_case name (Python, Rust).
    pub name: String,
    pub kind: Kind,
    pub required: bool,
    /// Allowed values (empty: any).
    pub allowed: Vec<String>,
}

/// What a successful call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// `data` is one resource.
    One,
    /// `data` is a list.
    Many,
    /// No body (202/204).
    Nothing,
}

/// One operation's typed surface.
#[derive(Debug, Clone)]
pub struct Op {
    pub id: String,
    /// The spec's tag, e.g. `Custom Objects`.
    pub tag: String,
    pub summary: String,
    /// The description's first paragraph, as plain text.
    pub description: String,
    pub method: String,
    pub path: String,
    pub path_params: Vec<String>,
    pub params: Vec<Param>,
    /// The request body's schema name.
    pub body: Option<String>,
    pub multipart: bool,
    pub paginated: bool,
    pub returns: Returns,
    pub deprecated: bool,
}

/// `Custom Objects` → `custom_objects`; `fields[catalog-variant]` → `fields_catalog_variant`.
pub fn snake(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// `get_campaign_messages` → `getCampaignMessages`.
pub fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `get_campaign_messages` → `GetCampaignMessages`.
pub fn pascal(snake: &str) -> String {
    let camel = camel(snake);
    let mut chars = camel.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn ref_name(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(|r| r.rsplit('/').next().unwrap_or_default().to_string())
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// First paragraph of a description, tags and markdown links reduced to text, one line.
fn first_paragraph(text: &str) -> String {
    let paragraph = text
        .split("<br>")
        .next()
        .unwrap_or_default()
        .split("\n\n")
        .next()
        .unwrap_or_default();
    let mut out = String::new();
    let mut in_tag = false;
    for c in paragraph.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            '\n' | '\r' | '\t' => out.push(' '),
            _ => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn returns(op: &Value, spec: &Value) -> Returns {
    let Some(responses) = op["responses"].as_object() else {
        return Returns::Nothing;
    };
    for (code, response) in responses {
        if !code.starts_with('2') {
            continue;
        }
        let Some(media) = response["content"]
            .as_object()
            .and_then(|c| c.values().next())
        else {
            continue;
        };
        let mut schema = &media["schema"];
        if let Some(name) = ref_name(&schema["$ref"]) {
            schema = &spec["components"]["schemas"][name.as_str()];
        }
        let mut data = &schema["properties"]["data"];
        if let Some(name) = ref_name(&data["$ref"]) {
            data = &spec["components"]["schemas"][name.as_str()];
        }
        return if data["type"] == "array" {
            Returns::Many
        } else {
            Returns::One
        };
    }
    Returns::Nothing
}

/// The model of every operation, sorted by operation id.
pub fn operations(spec: &Value) -> Result<Vec<Op>, String> {
    let paths = spec["paths"].as_object().ok_or("spec has no paths")?;
    let mut ops = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"]
                .as_str()
                .ok_or_else(|| format!("{method} {path}: no operationId"))?
                .to_string();
            let tag = op["tags"][0]
                .as_str()
                .ok_or_else(|| format!("{id}: no tag"))?
                .to_string();
            let mut params = Vec::new();
            let mut path_params = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let wire = p["name"].as_str().unwrap_or_default().to_string();
                match p["in"].as_str() {
                    Some("path") => path_params.push(wire),
                    // The core adds the public key as company_id to every /client/* call.
                    Some("query") if wire == "company_id" => {}
                    Some("query") => {
                        let schema = &p["schema"];
                        let kind = if wire.starts_with("fields[") {
                            Kind::Fields
                        } else if wire.starts_with("additional-fields[") {
                            Kind::AdditionalFields
                        } else {
                            match wire.as_str() {
                                "include" => Kind::Include,
                                "sort" => Kind::Sort,
                                "filter" => Kind::Filter,
                                "page[size]" => Kind::PageSize,
                                "page[cursor]" | "page_cursor" => Kind::PageCursor,
                                _ => Kind::Scalar,
                            }
                        };
                        let allowed = if kind.is_list() {
                            strings(&schema["items"]["enum"])
                        } else {
                            strings(&schema["enum"])
                        };
                        params.push(Param {
                            name: snake(&wire),
                            wire,
                            kind,
                            required: p["required"] == true,
                            allowed,
                        });
                    }
                    // Headers (revision, X-Klaviyo-API-Filters) are the client's business.
                    _ => {}
                }
            }
            let body_content = op["requestBody"]["content"].as_object();
            let multipart = body_content.is_some_and(|c| c.contains_key("multipart/form-data"));
            let body = body_content
                .and_then(|c| c.values().next())
                .and_then(|media| ref_name(&media["schema"]["$ref"]));
            if op.get("requestBody").is_some() && body.is_none() {
                return Err(format!("{id}: request body without a schema $ref"));
            }
            ops.push(Op {
                paginated: params.iter().any(|p| p.wire == "page[cursor]"),
                returns: returns(op, spec),
                summary: op["summary"].as_str().unwrap_or(&id).to_string(),
                description: first_paragraph(op["description"].as_str().unwrap_or_default()),
                deprecated: op["deprecated"] == true,
                id,
                tag,
                method: method.to_string(),
                path: path.clone(),
                path_params,
                params,
                body,
                multipart,
            });
        }
    }
    ops.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ops)
}

/// The namespaces (tags), sorted, each with its operations in id order.
pub fn namespaces(ops: &[Op]) -> Vec<(String, Vec<&Op>)> {
    let mut tags: Vec<String> = ops.iter().map(|op| op.tag.clone()).collect();
    tags.sort();
    tags.dedup();
    tags.into_iter()
        .map(|tag| {
            let members = ops.iter().filter(|op| op.tag == tag).collect();
            (tag, members)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_rule() {
        assert_eq!(snake("Custom Objects"), "custom_objects");
        assert_eq!(snake("fields[catalog-variant]"), "fields_catalog_variant");
        assert_eq!(
            snake("additional-fields[profile]"),
            "additional_fields_profile"
        );
        assert_eq!(snake("page[size]"), "page_size");
        assert_eq!(camel("fields_catalog_variant"), "fieldsCatalogVariant");
        assert_eq!(pascal("get_campaigns"), "GetCampaigns");
        assert_eq!(
            first_paragraph("Get a <b>campaign</b>.<br><br>*Rate limits*:\nmore"),
            "Get a campaign."
        );
    }
}

//! The drop-in surface for code written for Klaviyo's official Python SDK (`klaviyo-api`):
//! `klaviyo_bridge/compat/_groups.py`, one class per API group with the official SDK's method
//! names (every operationId and its aliases), parameter names and order, each handing its
//! arguments to klaviyo-bridge's core. The names follow the official generator's rules:
//!
//! - group: the tag with spaces as `_` (`Custom Objects` → `klaviyo.Custom_Objects`), its class
//!   the tag in PascalCase with `Api` (`CustomObjectsApi`);
//! - parameters: path parameters, then the body (named after its schema in snake_case:
//!   `ProfileCreateQuery` → `profile_create_query`; a multipart body's required fields
//!   instead), then required and then optional query parameters, each group sorted by wire
//!   name, then a multipart body's optional fields in the schema's order;
//! - then the generator's own keywords (`_request_timeout`, `_request_auth`, `_content_type`,
//!   `_headers`, `_host_index`) and `options`.

use std::fmt::Write as _;

use crate::model::{Op, generated_header, namespaces};

pub const PYTHON_COMPAT_PATH: &str = "bindings-python/python/klaviyo_bridge/compat/_groups.py";

/// `ProfileCreateQuery` → `profile_create_query`; `SMSChannel` → `sms_channel`.
pub fn schema_snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The group's attribute on `KlaviyoAPI` and its class name.
pub fn group_names(tag: &str) -> (String, String) {
    let attribute = tag.replace(' ', "_");
    let class = tag.split(' ').collect::<String>() + "Api";
    (attribute, class)
}

/// The method's parameters in the official order: (Python name, how the core names it,
/// whether it is required).
fn parameters(op: &Op) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> = op
        .path_params
        .iter()
        .map(|p| (p.clone(), p.clone(), true))
        .collect();
    // Where the spec makes a /client/* call's company_id optional, the official SDK lists it
    // and the revision header right after the path; where required, it is a required
    // parameter like the others.
    if op.company_id == Some(false) {
        out.push(("company_id".into(), "company_id".into(), false));
        out.push(("revision".into(), "revision".into(), false));
    }
    if op.multipart {
        // A multipart body's fields are the method's parameters; the core takes them as `body`.
        out.extend(
            op.form_fields
                .iter()
                .filter(|(_, required)| *required)
                .map(|(f, _)| (f.clone(), format!("body.{f}"), true)),
        );
    } else if let Some(schema) = &op.body {
        out.push((schema_snake(schema), "body".into(), true));
    }
    let mut required_params: Vec<_> = op.params.iter().filter(|p| p.required).collect();
    let mut optional: Vec<_> = op.params.iter().filter(|p| !p.required).collect();
    // By the name on the wire, as the official generator sorts: `fields[campaign-message]`
    // before `fields[campaign]`.
    required_params.sort_by(|a, b| a.wire.cmp(&b.wire));
    optional.sort_by(|a, b| a.wire.cmp(&b.wire));
    let mut required: Vec<(String, String, bool)> = required_params
        .iter()
        .map(|p| (p.wire.clone(), p.name.clone(), true))
        .collect();
    if op.company_id == Some(true) {
        required.push(("company_id".into(), "company_id".into(), true));
    }
    required.sort();
    out.extend(
        required
            .into_iter()
            .map(|(_, name, r)| (name.clone(), name, r)),
    );
    let mut tail: Vec<(String, String, bool)> = optional
        .iter()
        .map(|p| (p.name.clone(), p.name.clone(), false))
        .collect();
    if op.multipart {
        tail.extend(
            op.form_fields
                .iter()
                .filter(|(_, required)| !*required)
                .map(|(f, _)| (f.clone(), format!("body.{f}"), false)),
        );
    }
    out.extend(tail);
    out
}

fn method(out: &mut String, name: &str, op: &Op) {
    let params = parameters(op);
    let mut signature = String::from("self");
    for (python, _, required) in &params {
        signature.push_str(", ");
        signature.push_str(python);
        if !required {
            signature.push_str("=None");
        }
    }
    signature.push_str(
        ", _request_timeout=None, _request_auth=None, _content_type=None, _headers=None, _host_index=0, options=None",
    );
    let arguments: Vec<String> = params
        .iter()
        .map(|(python, core, _)| format!("{core:?}: {python}"))
        .collect();
    let _ = writeln!(out, "    def {name}({signature}):");
    let _ = writeln!(
        out,
        "        \"\"\"{} ({} {}; klaviyo-bridge: `{}`).\"\"\"",
        op.summary.replace('"', "'"),
        op.method.to_uppercase(),
        op.path,
        op.id
    );
    let _ = writeln!(
        out,
        "        return self._call({:?}, {{{}}}, _request_timeout, options, _request_auth)",
        op.id,
        arguments.join(", ")
    );
    let _ = writeln!(out);
}

pub fn render_python_compat(ops: &[Op], revision: &str) -> String {
    let mut out = generated_header("#", revision);
    out.push_str(
        "\"\"\"The official SDK's API groups, every method by its official name (and aliases), sent\n\
         by klaviyo-bridge's core. See `klaviyo_bridge.compat`.\"\"\"\n\n\
         from ._call import _Group\n\n",
    );
    let mut groups = Vec::new();
    for (tag, members) in namespaces(ops) {
        let (attribute, class) = group_names(&tag);
        let _ = writeln!(out, "\nclass {class}(_Group):");
        let _ = writeln!(
            out,
            "    \"\"\"`klaviyo.{attribute}`: the official SDK's {tag} methods.\"\"\"\n"
        );
        let _ = writeln!(out, "    __slots__ = ()\n");
        let mut names: Vec<(String, &Op)> = Vec::new();
        for op in &members {
            names.push((op.id.clone(), op));
            for alias in &op.aliases {
                names.push((alias.clone(), op));
            }
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        names.dedup_by(|a, b| a.0 == b.0);
        for (name, op) in names {
            method(&mut out, &name, op);
        }
        groups.push((attribute, class));
    }
    out.push_str("\n# The groups as `KlaviyoAPI` attributes.\nGROUPS = {\n");
    for (attribute, class) in groups {
        let _ = writeln!(out, "    {attribute:?}: {class},");
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_parameters_are_named_after_their_schema_as_the_official_generator_does() {
        assert_eq!(schema_snake("ProfileCreateQuery"), "profile_create_query");
        assert_eq!(schema_snake("SMSChannel"), "sms_channel");
        assert_eq!(
            schema_snake("CampaignCreateQueryV2"),
            "campaign_create_query_v2"
        );
        assert_eq!(group_names("Custom Objects").0, "Custom_Objects");
        assert_eq!(group_names("Custom Objects").1, "CustomObjectsApi");
    }
}

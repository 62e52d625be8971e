//! The drop-in surface for code written for Klaviyo's official Node SDK (`klaviyo-api` on
//! npm), `klaviyo-bridge/compat`:
//!
//! - `bindings-node/compat/apis.js` (and `.d.ts`): one `XxxApi` class per tag with the
//!   official method names (every operationId in camelCase and its aliases) and argument
//!   order: path parameters, the body (named after its schema), then the multipart form's
//!   fields, then required query parameters, then an `options` object with the rest;
//! - `bindings-node/compat/schemas.js`: every schema a request or response body reaches, as
//!   the official ObjectSerializer reads it: for each property its name on the wire, its
//!   camelCase name, and what it holds (as is, a date-time, another schema, a list of one).
//!   A union of JSON:API resources is told apart by `type`; any other union merges its
//!   variants' properties. Free-form objects (custom properties) are kept as they are.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::model::{Kind, Op, camel, generated_header, namespaces};
use crate::render_compat::group_names;

pub const NODE_COMPAT_APIS_PATH: &str = "bindings-node/compat/apis.js";
pub const NODE_COMPAT_TYPES_PATH: &str = "bindings-node/compat/apis.d.ts";
pub const NODE_COMPAT_SCHEMAS_PATH: &str = "bindings-node/compat/schemas.js";
pub const NODE_COMPAT_ESM_PATH: &str = "bindings-node/compat/index.mjs";
pub const NODE_COMPAT_ENUMS_PATH: &str = "bindings-node/compat/enums.js";
pub const NODE_COMPAT_ENUM_TYPES_PATH: &str = "bindings-node/compat/enums.d.ts";

/// The spec's one-word enums (`ProfileEnum`, …) as the official SDK exports them.
fn enums(spec: &Value) -> Vec<(String, Vec<String>)> {
    spec["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, schema)| name.ends_with("Enum") && schema["enum"].is_array())
        .map(|(name, schema)| {
            let values = schema["enum"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            (name.clone(), values)
        })
        .collect()
}

/// `catalog-item` → `CatalogItem`, as TypeScript enum members are named.
fn enum_member(value: &str) -> String {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// An enum's members both ways, as JSON strings: (`"Profile"`, `"profile"`), then
/// (`"profile"`, `"Profile"`), as TypeScript compiles them.
fn reverse_mapped(values: &[String]) -> impl Iterator<Item = (Value, Value)> + '_ {
    values.iter().flat_map(|v| {
        let member = Value::from(enum_member(v));
        let value = Value::from(v.as_str());
        [(member.clone(), value.clone()), (value, member)]
    })
}

/// `compat/enums.d.ts`: their types.
pub fn render_node_compat_enum_types(spec: &Value, revision: &str) -> String {
    let mut out = generated_header("//", revision);
    out.push_str("// Types of compat/enums.js.\n\n");
    for (name, values) in enums(spec) {
        let members: Vec<String> = reverse_mapped(&values)
            .map(|(k, v)| format!("readonly {k}: {v}"))
            .collect();
        let _ = writeln!(
            out,
            "export declare const {name}: {{ {} }}",
            members.join("; ")
        );
    }
    out
}

/// `compat/enums.js`: each enum with TypeScript's reverse mapping (`{ Profile: 'profile',
/// profile: 'Profile' }`), as the official SDK's compiled enums are.
pub fn render_node_compat_enums(spec: &Value, revision: &str) -> String {
    let mut out = String::from("'use strict'\n");
    out.push_str(&generated_header("//", revision));
    out.push_str("// The spec's enums as the official SDK exports them.\n\nmodule.exports = {\n");
    for (name, values) in enums(spec) {
        let members: Vec<String> = reverse_mapped(&values)
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(
            out,
            "  {name}: Object.freeze({{ {} }}),",
            members.join(", ")
        );
    }
    out.push_str("}\n");
    out
}

/// What compat/index.js exports beside the Api classes and their global instances.
const HAND_WRITTEN_EXPORTS: [&str; 16] = [
    "BaseApi",
    "RetryWithExponentialBackoff",
    "ApiKeySession",
    "OAuthBasicSession",
    "OAuthSession",
    "OAuthApi",
    "GlobalApiKeySettings",
    "GlobalApiKeySession",
    "ConfigWrapper",
    "Pkce",
    "KlaviyoTokenError",
    "isKlaviyoTokenError",
    "KlaviyoErrorName",
    "FilterBuilder",
    "Auth",
    "Klaviyo",
];

/// `compat/index.mjs`: the CommonJS module's names as ESM named exports (Node cannot see
/// through its generated spread).
pub fn render_node_compat_esm(spec: &Value, ops: &[Op], revision: &str) -> String {
    let mut names: Vec<String> = HAND_WRITTEN_EXPORTS.iter().map(|n| n.to_string()).collect();
    for (tag, _) in namespaces(ops) {
        let (_, class) = group_names(&tag);
        names.push(class.trim_end_matches("Api").to_string());
        names.push(class);
    }
    names.extend(enums(spec).into_iter().map(|(name, _)| name));
    let mut out = generated_header("//", revision);
    out.push_str(
        "import compat from './index.js'

export const {
",
    );
    for name in &names {
        let _ = writeln!(out, "  {name},");
    }
    out.push_str(
        "} = compat
export default compat
",
    );
    out
}

/// Names the official generator escapes with a leading `_` (its reserved words).
const RESERVED: [&str; 64] = [
    "abstract",
    "await",
    "boolean",
    "break",
    "byte",
    "case",
    "catch",
    "char",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "double",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "final",
    "finally",
    "float",
    "for",
    "function",
    "goto",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "int",
    "interface",
    "let",
    "long",
    "native",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "short",
    "static",
    "super",
    "switch",
    "synchronized",
    "this",
    "throw",
    "transient",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "volatile",
    "while",
    "with",
    "yield",
    "formParams",
    "varLocalPath",
    "queryParameters",
];

/// A property name as the official generator camelCases it: `first_name` → `firstName`,
/// `campaign-messages` → `campaignMessages`, `_kx` → `kx`, `default` → `_default`.
pub fn property_camel(wire: &str) -> String {
    let camel = camel_words(wire);
    if RESERVED.contains(&camel.as_str()) {
        format!("_{camel}")
    } else {
        camel
    }
}

fn camel_words(wire: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in wire.chars() {
        if !c.is_ascii_alphanumeric() {
            upper = !out.is_empty();
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// What a property holds, as the serializer walks it.
#[derive(Debug, Clone, PartialEq)]
enum Held {
    /// Sent and read as it is (strings, numbers, enums, free-form objects).
    AsIs,
    /// A date-time: a `Date` in JS, an ISO string on the wire.
    Date,
    /// An object of a schema in the table.
    Schema(String),
    /// A list.
    List(Box<Held>),
}

impl Held {
    fn js(&self) -> String {
        match self {
            Held::AsIs => "0".into(),
            Held::Date => "1".into(),
            Held::Schema(name) => Value::from(name.as_str()).to_string(),
            Held::List(inner) => format!("[{}]", inner.js()),
        }
    }
}

/// One table entry.
#[derive(Debug, Clone)]
enum Entry {
    /// Properties: wire name, camelCase name, what it holds.
    Properties(Vec<(String, String, Held)>),
    /// A union of resources, by the value of their `type`.
    ByType(Vec<(String, String)>),
}

struct Table<'a> {
    schemas: &'a Map<String, Value>,
    entries: BTreeMap<String, Entry>,
    /// Each entry's schema, so a merge reads every property even of an entry whose own
    /// build is still in progress (a recursive schema).
    sources: BTreeMap<String, Value>,
}

impl<'a> Table<'a> {
    fn named(&self, name: &str) -> Result<&'a Value, String> {
        self.schemas
            .get(name)
            .ok_or_else(|| format!("schema {name} is referenced but not defined"))
    }

    /// Whether a schema is an object with properties (or a union or composition of some).
    fn structured(&self, schema: &Value) -> bool {
        if let Some(name) = ref_of(schema) {
            return self.named(name).is_ok_and(|s| self.structured(s));
        }
        schema.get("properties").is_some()
            || ["allOf", "oneOf", "anyOf"].iter().any(|k| {
                schema[*k]
                    .as_array()
                    .is_some_and(|variants| variants.iter().any(|v| self.structured(v)))
            })
    }

    /// What `schema` holds; `context` names an inline object's entry.
    fn held(&mut self, schema: &Value, context: &str) -> Result<Held, String> {
        if let Some(name) = ref_of(schema) {
            let target = self.named(name)?;
            if self.structured(target) {
                self.entry(name, target)?;
                return Ok(Held::Schema(name.to_string()));
            }
            return self.held(target, name);
        }
        if schema["type"] == "array" {
            let inner = self.held(&schema["items"], &format!("{context}[]"))?;
            return Ok(if inner == Held::AsIs {
                Held::AsIs
            } else {
                Held::List(Box::new(inner))
            });
        }
        if schema["format"] == "date-time" {
            return Ok(Held::Date);
        }
        if self.structured(schema) {
            self.entry(context, schema)?;
            return Ok(Held::Schema(context.to_string()));
        }
        Ok(Held::AsIs)
    }

    /// Builds the entry for `name` once (recursive schemas stop at the placeholder).
    fn entry(&mut self, name: &str, schema: &Value) -> Result<(), String> {
        if self.entries.contains_key(name) {
            return Ok(());
        }
        self.entries
            .insert(name.to_string(), Entry::Properties(Vec::new()));
        self.sources.insert(name.to_string(), schema.clone());
        let entry = match self.by_type(name, schema)? {
            Some(by_type) => Entry::ByType(by_type),
            None => Entry::Properties(self.properties(schema, name)?),
        };
        self.entries.insert(name.to_string(), entry);
        Ok(())
    }

    /// A union whose every variant is a schema with a one-value `type` enum.
    fn by_type(
        &mut self,
        union: &str,
        schema: &Value,
    ) -> Result<Option<Vec<(String, String)>>, String> {
        let Some(variants) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for variant in variants {
            let Some(name) = ref_of(variant) else {
                return Ok(None);
            };
            let target = self.named(name)?;
            let kinds = &target["properties"]["type"]["enum"];
            let Some([kind]) = kinds.as_array().map(Vec::as_slice) else {
                return Ok(None);
            };
            let Some(kind) = kind.as_str() else {
                return Ok(None);
            };
            out.push((kind.to_string(), name.to_string()));
        }
        for (_, name) in &out {
            let target = self.named(name)?;
            self.entry(name, target)?;
        }
        // Variants that share a `type` (filters of one type with different operators) are
        // one entry with every field any of them has, so no field is dropped.
        let mut by_kind: Vec<(String, Vec<String>)> = Vec::new();
        for (kind, name) in out {
            match by_kind.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, names)) => names.push(name),
                None => by_kind.push((kind, vec![name])),
            }
        }
        let mut merged = Vec::new();
        for (kind, names) in by_kind {
            if let [only] = names.as_slice() {
                merged.push((kind, only.clone()));
                continue;
            }
            let entry_name = format!("{union}#{kind}");
            let mut properties = Vec::new();
            for name in &names {
                let target = self.named(name)?;
                for (wire, _, held) in self.properties(target, name)? {
                    self.add(&mut properties, &wire, held, &entry_name)?;
                }
            }
            self.entries
                .insert(entry_name.clone(), Entry::Properties(properties));
            merged.push((kind, entry_name));
        }
        Ok(Some(merged))
    }

    /// The properties of an object, a composition (allOf) or a merged union.
    fn properties(
        &mut self,
        schema: &Value,
        context: &str,
    ) -> Result<Vec<(String, String, Held)>, String> {
        if let Some(name) = ref_of(schema) {
            let target = self.named(name)?;
            return self.properties(target, name);
        }
        let mut out: Vec<(String, String, Held)> = Vec::new();
        for (wire, property) in schema["properties"].as_object().into_iter().flatten() {
            let held = self.held(property, &format!("{context}.{wire}"))?;
            self.add(&mut out, wire, held, context)?;
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            for (i, part) in schema[key].as_array().into_iter().flatten().enumerate() {
                if !self.structured(part) {
                    continue;
                }
                for (wire, _, held) in self.properties(part, &format!("{context}.{key}{i}"))? {
                    self.add(&mut out, &wire, held, context)?;
                }
            }
        }
        Ok(out)
    }

    /// Adds a property; one that is already there is merged with it (the parts of an allOf
    /// each add some of a nested object's properties).
    fn add(
        &mut self,
        out: &mut Vec<(String, String, Held)>,
        wire: &str,
        held: Held,
        context: &str,
    ) -> Result<(), String> {
        match out.iter().position(|(w, _, _)| w == wire) {
            Some(i) => {
                let existing = out[i].2.clone();
                out[i].2 = self.merge(existing, held, &format!("{context}.{wire}"))?;
            }
            None => out.push((wire.to_string(), property_camel(wire), held)),
        }
        Ok(())
    }

    /// An entry's properties: from its schema, or (a merge) as the entry has them.
    fn listed(&mut self, name: &str) -> Result<Vec<(String, String, Held)>, String> {
        if let Some(source) = self.sources.get(name).cloned() {
            return self.properties(&source, name);
        }
        Ok(match self.entries.get(name) {
            Some(Entry::Properties(list)) => list.clone(),
            _ => Vec::new(),
        })
    }

    fn merge(&mut self, a: Held, b: Held, context: &str) -> Result<Held, String> {
        Ok(match (a, b) {
            (Held::AsIs, other) | (other, Held::AsIs) => other,
            (Held::Schema(x), Held::Schema(y)) if x != y => {
                // One entry with the fields of both (a third variant extends it).
                let name = format!("{context}+");
                let mut merged = Vec::new();
                for side in [&x, &y] {
                    for (wire, _, held) in self.listed(side)? {
                        self.add(&mut merged, &wire, held, &name)?;
                    }
                }
                self.entries.insert(name.clone(), Entry::Properties(merged));
                Held::Schema(name)
            }
            (Held::List(x), Held::List(y)) => {
                Held::List(Box::new(self.merge(*x, *y, &format!("{context}[]"))?))
            }
            (a, _) => a,
        })
    }
}

fn ref_of(schema: &Value) -> Option<&str> {
    schema["$ref"]
        .as_str()
        .map(|r| r.rsplit('/').next().unwrap_or_default())
}

/// `schemas.js`: every schema the operations' bodies reach, one per line, sorted.
pub fn render_node_compat_schemas(
    spec: &Value,
    ops: &[Op],
    revision: &str,
) -> Result<String, String> {
    let schemas = spec["components"]["schemas"]
        .as_object()
        .ok_or("spec has no components.schemas")?;
    let mut table = Table {
        schemas,
        entries: BTreeMap::new(),
        sources: BTreeMap::new(),
    };
    for op in ops {
        for name in op.body.iter().chain(op.response.iter()) {
            let schema = table.named(name)?;
            table.entry(name, schema)?;
        }
    }
    let mut out = String::from("'use strict'\n");
    out.push_str(&generated_header("//", revision));
    out.push_str(
        "// Each schema: [wire name, camelCase name, what it holds] per property, where 0 is as is,\n\
         // 1 a date-time, a string another schema, [x] a list; or { byType } for a union of\n\
         // resources told apart by `type`. Read by compat/serializer.js.\n\n\
         module.exports = {\n",
    );
    for (name, entry) in &table.entries {
        let body = match entry {
            Entry::Properties(properties) => {
                let items: Vec<String> = properties
                    .iter()
                    .map(|(wire, camel, held)| {
                        format!(
                            "[{},{},{}]",
                            Value::from(wire.as_str()),
                            Value::from(camel.as_str()),
                            held.js()
                        )
                    })
                    .collect();
                format!("[{}]", items.join(","))
            }
            Entry::ByType(variants) => {
                let items: Vec<String> = variants
                    .iter()
                    .map(|(kind, schema)| {
                        format!(
                            "{}:{}",
                            Value::from(kind.as_str()),
                            Value::from(schema.as_str())
                        )
                    })
                    .collect();
                format!("{{byType:{{{}}}}}", items.join(","))
            }
        };
        let _ = writeln!(out, "  {}: {},", Value::from(name.as_str()), body);
    }
    out.push_str("}\n");
    Ok(out)
}

/// `ProfileCreateQuery` → `profileCreateQuery`.
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// A positional argument: its JS name, the core's name for it, whether it is required, its
/// TypeScript type.
struct Positional {
    js: String,
    core: String,
    required: bool,
    ts: &'static str,
}

/// The official SDK's positional arguments, in its order.
fn positionals(op: &Op) -> Vec<Positional> {
    let mut out: Vec<Positional> = op
        .path_params
        .iter()
        .map(|p| Positional {
            js: camel(p),
            core: p.clone(),
            required: true,
            ts: "string",
        })
        .collect();
    if op.multipart {
        out.extend(op.form_fields.iter().map(|(field, required)| Positional {
            js: camel(field),
            core: format!("body.{field}"),
            required: *required,
            ts: if field == "file" {
                "string | { path: string | Buffer }"
            } else {
                "any"
            },
        }));
    } else if let Some(schema) = &op.body {
        out.push(Positional {
            js: lower_first(schema),
            core: "body".into(),
            required: true,
            ts: "any",
        });
    }
    let mut required: Vec<(&str, String)> = op
        .params
        .iter()
        .filter(|p| p.required)
        .map(|p| (p.wire.as_str(), p.name.clone()))
        .collect();
    required.sort();
    out.extend(required.into_iter().map(|(_, name)| Positional {
        js: camel(&name),
        core: name,
        required: true,
        ts: "string",
    }));
    // A /client/* call's public key comes after the path as the official SDK takes it,
    // whether the spec requires it or not.
    if let Some(required) = op.company_id {
        out.push(Positional {
            js: "companyId".into(),
            core: "company_id".into(),
            required,
            ts: "string",
        });
    }
    out
}

/// The methods of one group: (official name, operation), aliases included, sorted.
fn methods<'o>(members: &[&'o Op]) -> Vec<(String, &'o Op)> {
    let mut names: Vec<(String, &Op)> = Vec::new();
    for op in members {
        names.push((camel(&op.id), op));
        for alias in &op.aliases {
            names.push((camel(alias), op));
        }
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    names.dedup_by(|a, b| a.0 == b.0);
    names
}

pub fn render_node_compat_apis(ops: &[Op], revision: &str) -> String {
    let mut out = String::from("'use strict'\n");
    out.push_str(&generated_header("//", revision));
    out.push_str(
        "// The official SDK's Api classes, every method by its official name (and aliases), sent\n\
         // by klaviyo-bridge's core. See compat/index.js.\n\n\
         const { BaseApi } = require('./api.js')\n",
    );
    let mut classes = Vec::new();
    for (tag, members) in namespaces(ops) {
        let (_, class) = group_names(&tag);
        let _ = writeln!(out, "\n/** The official SDK's {tag} methods. */");
        let _ = writeln!(out, "class {class} extends BaseApi {{");
        for (name, op) in methods(&members) {
            let positional = positionals(op);
            let mut signature: Vec<String> = positional.iter().map(|p| p.js.clone()).collect();
            // As the official SDK: an options object only where there are optional parameters.
            let options = op.params.iter().any(|p| !p.required);
            if options {
                signature.push("options = {}".into());
            }
            let given: Vec<String> = positional
                .iter()
                .map(|p| format!("{:?}: {}", p.core, p.js))
                .collect();
            let required: Vec<String> = positional
                .iter()
                .filter(|p| p.required)
                .map(|p| format!("{:?}: {:?}", p.core, p.js))
                .collect();
            let _ = writeln!(
                out,
                "  /** {} (`{} {}`; klaviyo-bridge: `{}`). */",
                op.summary.replace("*/", "* /"),
                op.method.to_uppercase(),
                op.path,
                op.id
            );
            let _ = writeln!(out, "  {name}({}) {{", signature.join(", "));
            let option_names: Vec<String> = op
                .params
                .iter()
                .filter(|p| !p.required)
                .map(|p| format!("{:?}", camel(&p.name)))
                .collect();
            let _ = writeln!(
                out,
                "    return this._send({:?}, {:?}, {{ {} }}, {{ {} }}, {}, {}, {}, [{}])",
                name,
                op.id,
                given.join(", "),
                required.join(", "),
                if options { "options" } else { "{}" },
                op.body
                    .as_deref()
                    .filter(|_| !op.multipart)
                    .map_or("null".into(), |b| format!("{b:?}")),
                op.response
                    .as_deref()
                    .map_or("null".into(), |r| format!("{r:?}")),
                option_names.join(", "),
            );
            let _ = writeln!(out, "  }}");
        }
        let _ = writeln!(out, "}}");
        classes.push(class);
    }
    let _ = writeln!(out, "\nmodule.exports = {{ {} }}", classes.join(", "));
    out
}

fn option_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Fields | Kind::AdditionalFields | Kind::Include => "string[]",
        Kind::PageSize => "number",
        _ => "string",
    }
}

pub fn render_node_compat_types(ops: &[Op], revision: &str) -> String {
    let mut out = generated_header("//", revision);
    out.push_str(
        "// Types of compat/apis.js: the official SDK's Api classes on klaviyo-bridge.\n\n\
         import { BaseApi, CompatResult } from './api'\n",
    );
    for (tag, members) in namespaces(ops) {
        let (_, class) = group_names(&tag);
        let _ = writeln!(out, "\n/** The official SDK's {tag} methods. */");
        let _ = writeln!(out, "export declare class {class} extends BaseApi {{");
        for (name, op) in methods(&members) {
            let mut args: Vec<String> = positionals(op)
                .iter()
                .map(|p| format!("{}{}: {}", p.js, if p.required { "" } else { "?" }, p.ts))
                .collect();
            let options: Vec<String> = op
                .params
                .iter()
                .filter(|p| !p.required)
                .map(|p| format!("{}?: {}", camel(&p.name), option_type(p.kind)))
                .collect();
            if !options.is_empty() {
                args.push(format!("options?: {{ {} }}", options.join("; ")));
            }
            let _ = writeln!(
                out,
                "  /** {} (`{} {}`). */",
                op.summary.replace("*/", "* /"),
                op.method.to_uppercase(),
                op.path
            );
            let _ = writeln!(out, "  {name}({}): Promise<CompatResult>", args.join(", "));
        }
        let _ = writeln!(out, "}}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_names_are_camelcased_as_the_official_generator_does() {
        assert_eq!(property_camel("first_name"), "firstName");
        assert_eq!(property_camel("campaign-messages"), "campaignMessages");
        assert_eq!(property_camel("_kx"), "kx");
        assert_eq!(property_camel("email"), "email");
        assert_eq!(property_camel("default"), "_default");
    }
}

//! The Rust surface, `core/src/api/generated.rs`: for every operation a method on its
//! namespace (`client.campaigns().get_campaigns(params)`) and a parameter struct.

use std::fmt::Write as _;

use crate::model::{Kind, Op, Returns, generated_header, namespaces, pascal, snake};

/// Where the Rust surface lives, relative to the workspace root.
pub const RUST_API_PATH: &str = "core/src/api/generated.rs";

/// Namespaces whose struct is hand-written in the core (with its ergonomic verbs); the
/// generated methods are added to it. Every other namespace gets a generated struct.
const HAND_STRUCTS: [(&str, &str); 7] = [
    ("accounts", "crate::accounts::Accounts"),
    ("data_privacy", "crate::data_privacy::DataPrivacy"),
    ("events", "crate::events::Events"),
    ("lists", "crate::lists::Lists"),
    ("metrics", "crate::metrics::Metrics"),
    ("profiles", "crate::profiles::Profiles"),
    ("webhooks", "crate::webhooks::Webhooks"),
];

fn rust_ident(name: &str) -> String {
    match name {
        "type" | "match" | "ref" | "move" | "fn" | "struct" => format!("r#{name}"),
        _ => name.to_string(),
    }
}

fn doc_lines(out: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(
                out,
                "{indent}/// {}",
                line.replace('[', "\\[").replace(']', "\\]")
            );
        }
    }
}

fn param_struct(out: &mut String, op: &Op) {
    let name = format!("{}Params", pascal(&op.id));
    let _ = writeln!(
        out,
        "/// Parameters of [`{}`](#method.{}): {}.",
        op.id, op.id, op.summary
    );
    let _ = writeln!(out, "#[derive(Debug, Clone, Default, Serialize)]");
    let _ = writeln!(out, "pub struct {name} {{");
    for p in &op.params {
        let ty = match p.kind {
            k if k.is_list() => "Option<Vec<String>>",
            Kind::PageSize => "Option<u32>",
            _ => "Option<String>",
        };
        let mut doc = format!(
            "`{}`{}",
            p.wire,
            if p.required { " (required)" } else { "" }
        );
        if !p.allowed.is_empty() {
            let shown: Vec<String> = p.allowed.iter().map(|a| format!("`{a}`")).collect();
            doc.push_str(&format!(": one of {}", shown.join(", ")));
        }
        doc_lines(out, "    ", &doc);
        let _ = writeln!(
            out,
            "    #[serde(skip_serializing_if = \"Option::is_none\")]"
        );
        let _ = writeln!(out, "    pub {}: {ty},", rust_ident(&p.name));
    }
    if op.paginated {
        let _ = writeln!(out, "    /// Stop after this many items.");
        let _ = writeln!(
            out,
            "    #[serde(skip_serializing_if = \"Option::is_none\")]"
        );
        let _ = writeln!(out, "    pub max_items: Option<usize>,");
        let _ = writeln!(out, "    /// Stop after this many pages.");
        let _ = writeln!(
            out,
            "    #[serde(skip_serializing_if = \"Option::is_none\")]"
        );
        let _ = writeln!(out, "    pub max_pages: Option<usize>,");
    }
    let _ = writeln!(
        out,
        "    /// Per-request options (timeout, revision, retries)."
    );
    let _ = writeln!(out, "    #[serde(skip)]");
    let _ = writeln!(out, "    pub options: RequestOptions,");
    let _ = writeln!(out, "}}");
    let _ = writeln!(out);
}

fn method(out: &mut String, op: &Op) {
    let mut doc = op.summary.clone();
    if !op.description.is_empty() {
        doc.push_str("\n\n");
        doc.push_str(&op.description);
    }
    doc.push_str(&format!(
        "\n\n`{} {}`{}",
        op.method.to_uppercase(),
        op.path,
        if op.deprecated {
            " (deprecated by Klaviyo)"
        } else {
            ""
        }
    ));
    doc_lines(out, "    ", &doc);
    let mut args = String::new();
    let mut path = Vec::new();
    for p in &op.path_params {
        let _ = write!(args, ", {}: &str", rust_ident(p));
        path.push(format!("(\"{p}\", {})", rust_ident(p)));
    }
    if op.body.is_some() {
        args.push_str(", body: Value");
    }
    let _ = write!(args, ", params: {}Params", pascal(&op.id));
    let body = if op.body.is_some() {
        "Some(body)"
    } else {
        "None"
    };
    let call = format!(
        "Call::prepare(self.client, {:?}, &[{}], {body}, to_args(&params)?, params.options)?",
        op.id,
        path.join(", ")
    );
    if op.paginated {
        let _ = writeln!(out, "    pub fn {}(&self{args}) -> Result<Pager> {{", op.id);
        let _ = writeln!(out, "        {call}.pager(self.client)");
    } else {
        let returns = match op.returns {
            Returns::One => "one resource",
            Returns::Many => "a list of resources",
            Returns::Nothing => "no body",
        };
        let _ = writeln!(out, "    /// Answers with {returns}.");
        let _ = writeln!(
            out,
            "    pub async fn {}(&self{args}) -> Result<Document> {{",
            op.id
        );
        let _ = writeln!(out, "        {call}.send(self.client).await");
    }
    let _ = writeln!(out, "    }}");
}

/// Renders the Rust surface.
pub fn render_rust(ops: &[Op], revision: &str) -> String {
    let mut out = String::new();
    out.push_str(&generated_header("//", revision));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "//! Every operation of the API as a typed method on its namespace (the spec's tag):"
    );
    let _ = writeln!(
        out,
        "//! `client.campaigns().get_campaigns(GetCampaignsParams {{ filter: Some(..), ..Default::default() }})`."
    );
    let _ = writeln!(
        out,
        "//! Paginated operations return a [`Pager`]; the others a [`Document`]. Arguments are checked"
    );
    let _ = writeln!(
        out,
        "//! (allowed values, required parameters, the body against its schema) before anything is sent."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "#![allow(clippy::too_many_arguments)]");
    let _ = writeln!(out);
    let _ = writeln!(out, "use serde::Serialize;");
    let _ = writeln!(out, "use serde_json::Value;");
    let _ = writeln!(out);
    let _ = writeln!(out, "use super::call::{{Call, to_args}};");
    let _ = writeln!(out, "use crate::client::{{Client, RequestOptions}};");
    let _ = writeln!(out, "use crate::error::Result;");
    let _ = writeln!(out, "use crate::pagination::Pager;");
    let _ = writeln!(out, "use crate::resource::Document;");
    let _ = writeln!(out);
    for op in ops {
        param_struct(&mut out, op);
    }
    let mut accessors = String::new();
    for (tag, members) in namespaces(ops) {
        let ns = snake(&tag);
        let hand = HAND_STRUCTS
            .iter()
            .find(|(name, _)| *name == ns)
            .map(|(_, path)| *path);
        let ty = match hand {
            Some(path) => format!("{path}<'_>"),
            None => {
                let name = format!("{}Api", pascal(&ns));
                let _ = writeln!(out, "/// The `{tag}` operations.");
                let _ = writeln!(out, "#[derive(Debug, Clone, Copy)]");
                let _ = writeln!(out, "pub struct {name}<'a> {{");
                let _ = writeln!(out, "    pub(crate) client: &'a Client,");
                let _ = writeln!(out, "}}");
                let _ = writeln!(out);
                let _ = writeln!(accessors, "    /// The `{tag}` operations.");
                let _ = writeln!(
                    accessors,
                    "    pub fn {}(&self) -> {name}<'_> {{",
                    rust_ident(&ns)
                );
                let _ = writeln!(accessors, "        {name} {{ client: self }}");
                let _ = writeln!(accessors, "    }}");
                format!("{name}<'_>")
            }
        };
        let _ = writeln!(out, "impl {ty} {{");
        for (i, op) in members.iter().enumerate() {
            if i > 0 {
                let _ = writeln!(out);
            }
            method(&mut out, op);
        }
        let _ = writeln!(out, "}}");
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "impl Client {{");
    out.push_str(&accessors);
    let _ = writeln!(out, "}}");
    out
}

/// Where the Rust sweep's calls live (included by `sandbox/tests/every_operation.rs`).
pub const RUST_SWEEP_PATH: &str = "sandbox/tests/every_operation/calls.rs";

/// Values for the few required query parameters without a list of allowed values.
fn required_value(name: &str) -> &'static str {
    match name {
        "filter" => "equals(id,'X')",
        "statistics" => "average_rating",
        _ => "X",
    }
}

/// Renders the sweep's calls: every operation through its typed Rust method, each outcome
/// handed to `Sweep::check` (which asserts it reached the sandbox as that operation).
pub fn render_rust_sweep(ops: &[Op], revision: &str) -> String {
    let mut out = String::new();
    out.push_str(&generated_header("//", revision));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "//! One call of every operation through its typed method."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "use klaviyo_bridge::Client;");
    let _ = writeln!(out, "use klaviyo_bridge::api::*;");
    let _ = writeln!(out);
    let _ = writeln!(out, "use super::Sweep;");
    let _ = writeln!(out);
    let _ = writeln!(out, "/// Number of operations called.");
    let _ = writeln!(out, "pub const OPERATIONS: usize = {};", ops.len());
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "pub async fn call_every_operation(client: &Client, s: &mut Sweep) {{"
    );
    for op in ops {
        let ns = rust_ident(&snake(&op.tag));
        let mut args: Vec<String> = op
            .path_params
            .iter()
            .map(|_| "\"NOPE\"".to_string())
            .collect();
        if op.body.is_some() {
            args.push(format!("s.body({:?})", op.id));
        }
        let required: Vec<String> = op
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| {
                let value = p
                    .allowed
                    .first()
                    .map(String::as_str)
                    .unwrap_or_else(|| required_value(&p.name));
                format!("{}: Some({value:?}.into()), ", rust_ident(&p.name))
            })
            .collect();
        args.push(format!(
            "{}Params {{ {}..Default::default() }}",
            pascal(&op.id),
            required.join("")
        ));
        let call = format!("client.{ns}().{}({})", op.id, args.join(", "));
        let outcome = if op.paginated {
            format!(
                "match {call} {{ Ok(mut pager) => pager.next_page().await.map(|_| ()), Err(e) => Err(e) }}"
            )
        } else {
            format!("{call}.await.map(|_| ())")
        };
        // Boxed, so the sweep's future holds one call at a time (345 inline would overflow).
        let _ = writeln!(
            out,
            "    let outcome = Box::pin(async {{ {outcome} }}).await;"
        );
        let _ = writeln!(
            out,
            "    s.check({:?}, {:?}, outcome);",
            op.id,
            op.method.to_uppercase()
        );
    }
    let _ = writeln!(out, "}}");
    out
}

//! The Node surface: `bindings-node/operations.js` (every operation as a camelCase method that
//! hands its arguments to the native core) and `operations.d.ts` (option interfaces with
//! string-literal unions, body interfaces, return types).

use std::fmt::Write as _;

use serde_json::Value;

use crate::model::{Kind, Op, Param, Returns, camel, generated_header, namespaces, pascal, snake};
use crate::types::{Def, Ty, Types};

pub const NODE_PATH: &str = "bindings-node/operations.js";
pub const NODE_TYPES_PATH: &str = "bindings-node/operations.d.ts";

fn positional(op: &Op) -> Vec<String> {
    let mut names: Vec<String> = op.path_params.iter().map(|p| camel(p)).collect();
    if op.body.is_some() {
        names.push("body".into());
    }
    names
}

fn class_name(tag: &str) -> String {
    pascal(&snake(tag))
}

fn js_doc(op: &Op) -> String {
    let mut doc = op.summary.clone();
    if !op.description.is_empty() {
        doc.push_str("\n   *\n   * ");
        doc.push_str(&op.description);
    }
    let _ = write!(
        doc,
        "\n   *\n   * `{} {}`",
        op.method.to_uppercase(),
        op.path
    );
    if op.deprecated {
        doc.push_str("\n   * @deprecated by Klaviyo");
    }
    format!("  /** {} */", doc.replace("*/", "* /"))
}

/// Renders `operations.js`.
pub fn render_node(ops: &[Op], revision: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "'use strict'");
    out.push_str(&generated_header("//", revision));
    let _ = writeln!(
        out,
        "// Every operation as a method on its namespace (the spec's tag), named by its operationId in"
    );
    let _ = writeln!(
        out,
        "// camelCase. Path parameters and the body are positional; query parameters and per-call"
    );
    let _ = writeln!(
        out,
        "// options go in the trailing options object. The core checks them before anything is sent."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "const CALL = Symbol.for('klaviyo-bridge.call')");
    let groups = namespaces(ops);
    for (tag, members) in &groups {
        let _ = writeln!(out);
        let _ = writeln!(out, "/** The `{tag}` operations. */");
        let _ = writeln!(out, "class {} {{", class_name(tag));
        let _ = writeln!(out, "  constructor(call) {{");
        let _ = writeln!(out, "    this[CALL] = call");
        let _ = writeln!(out, "  }}");
        for op in members {
            let names = positional(op);
            let mut args = names.clone();
            args.push("options".into());
            let given: Vec<String> = op
                .path_params
                .iter()
                .map(|p| format!("{p}: {}", camel(p)))
                .chain(op.body.iter().map(|_| "body".to_string()))
                .collect();
            let _ = writeln!(out);
            let _ = writeln!(out, "{}", js_doc(op));
            let _ = writeln!(out, "  {}({}) {{", camel(&op.id), args.join(", "));
            let call = if op.paginated { "pager" } else { "call" };
            let _ = writeln!(
                out,
                "    return this[CALL].{call}('{}', {{ {} }}, options)",
                op.id,
                given.join(", ")
            );
            let _ = writeln!(out, "  }}");
        }
        let _ = writeln!(out, "}}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "/** Namespace name → class, one per tag. */");
    let _ = writeln!(out, "const NAMESPACES = {{");
    for (tag, _) in &groups {
        let _ = writeln!(out, "  {}: {},", camel(&snake(tag)), class_name(tag));
    }
    let _ = writeln!(out, "}}");
    let _ = writeln!(out);
    let _ = writeln!(out, "module.exports = {{ CALL, NAMESPACES }}");
    out
}

fn ts_literal(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{}'", s.replace('\'', "\\'")),
        other => other.to_string(),
    }
}

fn ts_type(ty: &Ty) -> String {
    match ty {
        Ty::Str => "string".into(),
        Ty::Int | Ty::Float => "number".into(),
        Ty::Bool => "boolean".into(),
        Ty::Any => "unknown".into(),
        Ty::Literal(values) => {
            let shown: Vec<String> = values.iter().map(ts_literal).collect();
            shown.join(" | ")
        }
        Ty::List(item) => format!("Array<{}>", ts_type(item)),
        Ty::Map(value) => format!("Record<string, {}>", ts_type(value)),
        Ty::Named(name) => name.clone(),
        Ty::Union(options) => {
            let shown: Vec<String> = options
                .iter()
                .map(|o| format!("({})", ts_type(o)))
                .collect();
            shown.join(" | ")
        }
        Ty::Nullable(inner) => format!("({}) | null", ts_type(inner)),
    }
}

fn ts_key(name: &str) -> String {
    if name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        name.to_string()
    } else {
        format!("'{name}'")
    }
}

fn param_type(p: &Param) -> String {
    let union = |values: &[String]| {
        values
            .iter()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    match p.kind {
        k if k.is_list() && !p.allowed.is_empty() => format!("Array<{}>", union(&p.allowed)),
        k if k.is_list() => "string[]".into(),
        Kind::PageSize => "number".into(),
        _ if !p.allowed.is_empty() => union(&p.allowed),
        _ => "string".into(),
    }
}

fn options_name(op: &Op) -> String {
    format!("{}Options", pascal(&op.id))
}

/// Renders `operations.d.ts`.
pub fn render_node_types(ops: &[Op], types: &Types, revision: &str) -> String {
    let mut out = String::new();
    out.push_str(&generated_header("//", revision));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "import type {{ Resource as KlaviyoResource, Pager as KlaviyoPager }} from './index'"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "/** Options every call takes. */");
    let _ = writeln!(out, "export interface OperationCallOptions {{");
    let _ = writeln!(
        out,
        "  /** Seconds for the whole call (per page request for pagers), retries included. */"
    );
    let _ = writeln!(out, "  timeout?: number");
    let _ = writeln!(out, "  /** The `revision` header for this call. */");
    let _ = writeln!(out, "  revision?: string");
    let _ = writeln!(out, "  signal?: AbortSignal");
    let _ = writeln!(out, "}}");
    let _ = writeln!(out, "/** Options every paginated call takes. */");
    let _ = writeln!(
        out,
        "export interface OperationPageOptions extends OperationCallOptions {{"
    );
    let _ = writeln!(out, "  /** Stop after this many items. */");
    let _ = writeln!(out, "  maxItems?: number");
    let _ = writeln!(out, "  /** Stop after this many pages. */");
    let _ = writeln!(out, "  maxPages?: number");
    let _ = writeln!(out, "}}");
    let _ = writeln!(out);
    for (name, def) in &types.defs {
        match def {
            Def::Alias(ty) => {
                let _ = writeln!(out, "export type {name} = {}", ts_type(ty));
            }
            Def::Object(fields) => {
                let _ = writeln!(out, "export interface {name} {{");
                for f in fields {
                    if !f.doc.is_empty() {
                        let _ = writeln!(out, "  /** {} */", f.doc.replace("*/", "* /"));
                    }
                    let _ = writeln!(
                        out,
                        "  {}{}: {}",
                        ts_key(&f.name),
                        if f.required { "" } else { "?" },
                        ts_type(&f.ty)
                    );
                }
                let _ = writeln!(out, "}}");
            }
        }
    }
    let _ = writeln!(out);
    for op in ops {
        let base = if op.paginated {
            "OperationPageOptions"
        } else {
            "OperationCallOptions"
        };
        let _ = writeln!(out, "/** Options of `{}`. */", camel(&op.id));
        let _ = writeln!(
            out,
            "export interface {} extends {base} {{",
            options_name(op)
        );
        for p in &op.params {
            let _ = writeln!(out, "  /** `{}` */", p.wire);
            let _ = writeln!(
                out,
                "  {}{}: {}",
                camel(&p.name),
                if p.required { "" } else { "?" },
                param_type(p)
            );
        }
        let _ = writeln!(out, "}}");
    }
    let _ = writeln!(out);
    for (tag, members) in namespaces(ops) {
        let _ = writeln!(out, "/** The `{tag}` operations. */");
        let _ = writeln!(out, "export interface {}Operations {{", class_name(&tag));
        for op in members {
            let mut args: Vec<String> = op
                .path_params
                .iter()
                .map(|p| format!("{}: string", camel(p)))
                .collect();
            if let Some(body) = &op.body {
                args.push(format!("body: {body}"));
            }
            let required = op.params.iter().any(|p| p.required);
            args.push(format!(
                "options{}: {}",
                if required { "" } else { "?" },
                options_name(op)
            ));
            let returns = if op.paginated {
                "KlaviyoPager".to_string()
            } else {
                match op.returns {
                    Returns::One => "Promise<KlaviyoResource>".into(),
                    Returns::Many => "Promise<KlaviyoResource[]>".into(),
                    Returns::Nothing => "Promise<null>".into(),
                }
            };
            let _ = writeln!(
                out,
                "  /** {}{} */",
                op.summary.replace("*/", "* /"),
                if op.deprecated {
                    " @deprecated by Klaviyo"
                } else {
                    ""
                }
            );
            let _ = writeln!(out, "  {}({}): {returns}", camel(&op.id), args.join(", "));
        }
        let _ = writeln!(out, "}}");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "/** A client's namespaces, one per tag of the spec. */"
    );
    let _ = writeln!(out, "export interface Namespaces {{");
    for (tag, _) in namespaces(ops) {
        let _ = writeln!(
            out,
            "  readonly {}: {}Operations",
            camel(&snake(&tag)),
            class_name(&tag)
        );
    }
    let _ = writeln!(out, "}}");
    out
}

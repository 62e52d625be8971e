//! The Python surface: the package `klaviyo_bridge/_operations` (every operation as a method
//! that hands its arguments to the native module, so `help()` and `inspect.signature()` show
//! them; one module per tag, imported on first use), its stub `__init__.pyi` (literals for sort,
//! include and fields) and `_bodies.pyi` (TypedDicts for request bodies).

use std::fmt::Write as _;

use serde_json::Value;

use crate::model::{Kind, Op, Param, Returns, generated_header, namespaces, pascal, snake};
use crate::types::{Def, Ty, Types};

/// The runtime surface: a package with one module per tag.
pub const PYTHON_PACKAGE: &str = "bindings-python/python/klaviyo_bridge/_operations";
pub const PYTHON_STUB_PATH: &str = "bindings-python/python/klaviyo_bridge/_operations/__init__.pyi";
/// Request-body TypedDicts: a stub-only module (types for checkers; nothing at run time).
pub const PYTHON_BODIES_PATH: &str = "bindings-python/python/klaviyo_bridge/_bodies.pyi";

fn docstring(op: &Op) -> String {
    let mut doc = op.summary.clone();
    if !op.description.is_empty() {
        doc.push_str("\n\n        ");
        doc.push_str(&op.description);
    }
    let _ = write!(doc, "\n\n        {} {}", op.method.to_uppercase(), op.path);
    if op.paginated {
        doc.push_str(" (paginated: returns a pager)");
    }
    if op.deprecated {
        doc.push_str(" (deprecated by Klaviyo)");
    }
    doc.replace('\\', "\\\\").replace("\"\"\"", "'''")
}

/// Required query parameters come first (positional or keyword), the rest keyword-only.
fn ordered(op: &Op) -> (Vec<&Param>, Vec<&Param>) {
    op.params.iter().partition(|p| p.required)
}

fn literal(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    format!("Literal[{}]", quoted.join(", "))
}

fn param_type(p: &Param) -> String {
    match p.kind {
        k if k.is_list() && !p.allowed.is_empty() => format!("Sequence[{}]", literal(&p.allowed)),
        k if k.is_list() => "Sequence[str]".into(),
        Kind::PageSize => "int".into(),
        _ if !p.allowed.is_empty() => literal(&p.allowed),
        _ => "str".into(),
    }
}

fn signature(op: &Op, typed: bool) -> String {
    let mut args = vec!["self".to_string()];
    for p in &op.path_params {
        args.push(if typed {
            format!("{p}: str")
        } else {
            p.clone()
        });
    }
    if let Some(body) = &op.body {
        args.push(if typed {
            format!("body: {body}")
        } else {
            "body".into()
        });
    }
    let (required, optional) = ordered(op);
    for p in &required {
        args.push(if typed {
            format!("{}: {}", p.name, param_type(p))
        } else {
            p.name.clone()
        });
    }
    args.push("*".into());
    let mut keyword = |name: &str, ty: &str| {
        args.push(if typed {
            format!("{name}: Optional[{ty}] = None")
        } else {
            format!("{name}=None")
        });
    };
    for p in &optional {
        keyword(&p.name, &param_type(p));
    }
    if op.paginated {
        keyword("max_items", "int");
        keyword("max_pages", "int");
    }
    keyword("timeout", "float");
    keyword("revision", "str");
    args.join(", ")
}

fn arguments(op: &Op) -> String {
    let mut names: Vec<String> = op.path_params.clone();
    if op.body.is_some() {
        names.push("body".into());
    }
    names.extend(op.params.iter().map(|p| p.name.clone()));
    if op.paginated {
        names.extend(["max_items".into(), "max_pages".into()]);
    }
    names.extend(["timeout".into(), "revision".into()]);
    let pairs: Vec<String> = names.iter().map(|n| format!("\"{n}\": {n}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

fn class_name(tag: &str, asynchronous: bool) -> String {
    format!(
        "{}{}",
        if asynchronous { "Async" } else { "" },
        pascal(&snake(tag))
    )
}

/// Renders the runtime surface: `_operations/__init__.py` (the namespace base, the client's
/// namespaces, imported lazily) and one module per tag with its blocking and asyncio classes.
/// A namespace's module is imported the first time a client touches it, so a script that
/// uses two namespaces loads two modules, not 345 operations.
pub fn render_python(ops: &[Op], revision: &str) -> Vec<(String, String)> {
    let header = generated_header("#", revision);
    let groups = namespaces(ops);
    let mut files = Vec::new();
    let mut init = header.clone();
    init.push_str(r#""""Every operation of the Klaviyo API as a method on its namespace (the spec's tag), named by
its operationId: `client.campaigns.get_campaigns(filter=..., fields_campaign=[...])`.

Each method hands its arguments to the native core, which checks them (allowed values, required
parameters, the body against its schema) before anything is sent. Paginated operations return
a pager (`for item in ...`, `.pages()`, `max_items`, `max_pages`, a resumable `.cursor`). Each
namespace's module is imported when a client first uses it.
"""

from __future__ import annotations

from functools import cached_property
from importlib import import_module
from typing import Any


class _Namespace:
    """Operations of one tag; the hand-written verbs of the namespace (create, list, ...),
    where there are any, are reached through `_verbs`."""

    __slots__ = ("_native", "_verbs")

    def __init__(self, native: Any, verbs: Any = None) -> None:
        self._native = native
        self._verbs = verbs

    def __getattr__(self, name: str) -> Any:
        verbs = object.__getattribute__(self, "_verbs")
        if verbs is None or name.startswith("__"):
            raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")
        return getattr(verbs, name)

    def __dir__(self) -> list:
        verbs = object.__getattribute__(self, "_verbs")
        hand = [n for n in dir(verbs) if not n.startswith("_")] if verbs is not None else []
        return sorted(set(object.__dir__(self)) | set(hand))

    def __repr__(self) -> str:
        return f"<klaviyo_bridge {type(self).__name__} operations>"


def _load(module: str, name: str) -> Any:
    return getattr(import_module(f"{__name__}.{module}"), name)

"#);
    // Class name → module, for `from klaviyo_bridge._operations import Campaigns`.
    let _ = writeln!(init);
    let _ = writeln!(init, "_MODULES = {{");
    for (tag, _) in &groups {
        let module = snake(tag);
        for asynchronous in [false, true] {
            let _ = writeln!(init, "    {:?}: {module:?},", class_name(tag, asynchronous));
        }
    }
    let _ = writeln!(init, "}}");
    let _ = writeln!(init);
    let _ = writeln!(init);
    let _ = writeln!(init, "def __getattr__(name: str) -> Any:");
    let _ = writeln!(init, "    if name in _MODULES:");
    let _ = writeln!(init, "        return _load(_MODULES[name], name)");
    let _ = writeln!(
        init,
        "    raise AttributeError(f\"module {{__name__!r}} has no attribute {{name!r}}\")"
    );
    for asynchronous in [false, true] {
        let mixin = if asynchronous {
            "AsyncNamespaces"
        } else {
            "Namespaces"
        };
        let _ = writeln!(init);
        let _ = writeln!(init);
        let _ = writeln!(init, "class {mixin}:");
        let _ = writeln!(
            init,
            "    \"\"\"The namespaces of a{} client, one per tag of the spec.\"\"\"",
            if asynchronous {
                "n asyncio"
            } else {
                " blocking"
            }
        );
        let _ = writeln!(init);
        let _ = writeln!(init, "    _native: Any");
        let _ = writeln!(init);
        let _ = writeln!(init, "    def _verbs(self, namespace: str) -> Any:");
        let _ = writeln!(init, "        return None");
        for (tag, members) in &groups {
            let ns = snake(tag);
            let names: Vec<&str> = members.iter().map(|op| op.id.as_str()).collect();
            let _ = writeln!(init);
            let _ = writeln!(init, "    @cached_property");
            let _ = writeln!(init, "    def {ns}(self) -> Any:");
            let _ = writeln!(init, "        \"\"\"{tag}: {}.\"\"\"", names.join(", "));
            let _ = writeln!(
                init,
                "        return _load({ns:?}, {:?})(self._native, self._verbs({ns:?}))",
                class_name(tag, asynchronous)
            );
        }
    }
    files.push((PYTHON_PACKAGE.to_string() + "/__init__.py", init));
    for (tag, members) in &groups {
        let mut out = header.clone();
        let _ = writeln!(out, "\"\"\"The `{tag}` operations.\"\"\"");
        let _ = writeln!(out);
        let _ = writeln!(out, "from . import _Namespace");
        for asynchronous in [false, true] {
            let _ = writeln!(out);
            let _ = writeln!(out);
            let _ = writeln!(out, "class {}(_Namespace):", class_name(tag, asynchronous));
            let _ = writeln!(
                out,
                "    \"\"\"The `{tag}` operations{}.\"\"\"",
                if asynchronous { " (asyncio)" } else { "" }
            );
            let _ = writeln!(out);
            let _ = writeln!(out, "    __slots__ = ()");
            for op in members {
                let _ = writeln!(out);
                let prefix = if asynchronous && !op.paginated {
                    "async "
                } else {
                    ""
                };
                let _ = writeln!(out, "    {prefix}def {}({}):", op.id, signature(op, false));
                let _ = writeln!(out, "        \"\"\"{}\"\"\"", docstring(op));
                let call = if op.paginated { "pager" } else { "call" };
                let wait = if asynchronous && !op.paginated {
                    "await "
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "        return {wait}self._native.{call}({:?}, {})",
                    op.id,
                    arguments(op)
                );
            }
        }
        files.push((format!("{PYTHON_PACKAGE}/{}.py", snake(tag)), out));
    }
    files
}

fn py_literal(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

fn py_type(ty: &Ty) -> String {
    match ty {
        Ty::Str => "str".into(),
        Ty::Int => "int".into(),
        Ty::Float => "float".into(),
        Ty::Bool => "bool".into(),
        Ty::Any => "Any".into(),
        Ty::Literal(values) => {
            let shown: Vec<String> = values.iter().map(py_literal).collect();
            format!("Literal[{}]", shown.join(", "))
        }
        Ty::List(item) => format!("Sequence[{}]", py_type(item)),
        Ty::Map(value) => format!("Mapping[str, {}]", py_type(value)),
        Ty::Named(name) => format!("\"{name}\""),
        Ty::Union(options) => {
            let shown: Vec<String> = options.iter().map(py_type).collect();
            format!("Union[{}]", shown.join(", "))
        }
        Ty::Nullable(inner) => format!("Optional[{}]", py_type(inner)),
    }
}

fn is_identifier(name: &str) -> bool {
    const KEYWORDS: [&str; 8] = [
        "from", "class", "def", "import", "global", "lambda", "is", "in",
    ];
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

fn render_types(out: &mut String, types: &Types) {
    for (name, def) in &types.defs {
        match def {
            Def::Alias(ty) => {
                let _ = writeln!(out, "{name} = {}", py_type(ty).trim_matches('"'));
            }
            Def::Object(fields) if fields.iter().all(|f| is_identifier(&f.name)) => {
                let _ = writeln!(out, "class {name}(TypedDict):");
                if fields.is_empty() {
                    let _ = writeln!(out, "    pass");
                }
                for f in fields {
                    let ty = py_type(&f.ty);
                    let ty = if f.required {
                        ty
                    } else {
                        format!("NotRequired[{ty}]")
                    };
                    let _ = writeln!(out, "    {}: {ty}", f.name);
                }
            }
            Def::Object(fields) => {
                let members: Vec<String> = fields
                    .iter()
                    .map(|f| {
                        let ty = py_type(&f.ty);
                        let ty = if f.required {
                            ty
                        } else {
                            format!("NotRequired[{ty}]")
                        };
                        format!("{:?}: {ty}", f.name)
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "{name} = TypedDict({name:?}, {{{}}})",
                    members.join(", ")
                );
            }
        }
        let _ = writeln!(out);
    }
}

fn returns(op: &Op, asynchronous: bool) -> String {
    if op.paginated {
        return if asynchronous {
            "AsyncPager".into()
        } else {
            "Pager".into()
        };
    }
    let value = match op.returns {
        Returns::One => "Resource",
        Returns::Many => "List[Resource]",
        Returns::Nothing => "None",
    };
    value.to_string()
}

/// Renders `_bodies.pyi`: a TypedDict (or alias) for every schema a request body reaches.
pub fn render_python_bodies(types: &Types, revision: &str) -> String {
    let mut out = String::new();
    out.push_str(&generated_header("#", revision));
    let _ = writeln!(
        out,
        "\"\"\"Request bodies of every operation as TypedDicts, for type checkers only (import them"
    );
    let _ = writeln!(
        out,
        "under `typing.TYPE_CHECKING`); at run time bodies are plain dicts.\"\"\""
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "from typing import Any, Literal, Mapping, Optional, Sequence, TypedDict, Union"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "from typing_extensions import NotRequired");
    let _ = writeln!(out);
    render_types(&mut out, types);
    out
}

/// Renders `_operations.pyi`.
pub fn render_python_stub(ops: &[Op], revision: &str) -> String {
    let mut out = String::new();
    out.push_str(&generated_header("#", revision));
    let _ = writeln!(
        out,
        "\"\"\"Types of every operation: parameters, allowed values, request bodies.\"\"\""
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "from functools import cached_property");
    let _ = writeln!(
        out,
        "from typing import Any, List, Literal, Optional, Sequence"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "from .. import AsyncPager, Pager, Resource");
    let _ = writeln!(out, "from .._bodies import *");
    let _ = writeln!(out);
    let _ = writeln!(out, "class _Namespace:");
    let _ = writeln!(
        out,
        "    def __init__(self, native: Any, verbs: Any = ...) -> None: ..."
    );
    let _ = writeln!(out);
    let groups = namespaces(ops);
    for asynchronous in [false, true] {
        for (tag, members) in &groups {
            let _ = writeln!(out, "class {}(_Namespace):", class_name(tag, asynchronous));
            for op in members {
                let prefix = if asynchronous && !op.paginated {
                    "async "
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "    {prefix}def {}({}) -> {}:",
                    op.id,
                    signature(op, true),
                    returns(op, asynchronous)
                );
                let _ = writeln!(out, "        \"\"\"{}\"\"\"", op.summary.replace('"', "'"));
            }
            let _ = writeln!(out);
        }
        let mixin = if asynchronous {
            "AsyncNamespaces"
        } else {
            "Namespaces"
        };
        let _ = writeln!(out, "class {mixin}:");
        for (tag, _) in &groups {
            let _ = writeln!(out, "    @cached_property");
            let _ = writeln!(
                out,
                "    def {}(self) -> {}: ...",
                snake(tag),
                class_name(tag, asynchronous)
            );
        }
        let _ = writeln!(out);
    }
    out
}

/// The hand-written verbs' stubs (blocking), read to derive their asyncio variants.
pub const PYTHON_VERBS_PATH: &str = "bindings-python/python/klaviyo_bridge/_verbs.pyi";
/// The asyncio variants of the hand-written verbs' stubs.
pub const PYTHON_ASYNC_VERBS_PATH: &str = "bindings-python/python/klaviyo_bridge/_verbs_async.pyi";

/// `_X` → `_AsyncX` for every private class name in `line`.
fn async_names(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut rest = line;
    while let Some(i) = rest.find('_') {
        let starts_name = i == 0
            || !rest.as_bytes()[i - 1].is_ascii_alphanumeric() && rest.as_bytes()[i - 1] != b'.';
        let next_upper = rest[i + 1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase());
        out.push_str(&rest[..i]);
        if starts_name && next_upper {
            out.push_str("_Async");
        } else {
            out.push('_');
        }
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out
}

/// The asyncio stubs of the hand-written verbs, from the blocking ones: the same classes and
/// parameters; results become awaitables, pagers asyncio pagers, `_operations.X` bases
/// `_operations.AsyncX`.
pub fn render_python_async_verbs(blocking: &str, revision: &str) -> String {
    let mut out = String::new();
    out.push_str(&generated_header(
        "#",
        &format!("{revision}, and `_verbs.pyi`"),
    ));
    let _ = writeln!(
        out,
        "\"\"\"The asyncio variants of the hand-written verbs (`_verbs.pyi`): every result awaitable.\"\"\""
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "from datetime import datetime");
    let _ = writeln!(out, "from os import PathLike");
    let _ = writeln!(
        out,
        "from typing import Any, Awaitable, Dict, List, Mapping, Optional, Sequence, Union"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "from . import _operations");
    let _ = writeln!(out, "from . import AsyncPager, Resource");
    let _ = writeln!(
        out,
        "from .results import BulkReport, JobStatus, SyncReport"
    );
    let body = blocking
        .split_once("\nclass ")
        .map(|(_, rest)| format!("class {rest}"))
        .unwrap_or_default();
    let _ = writeln!(out);
    for line in body.lines() {
        let line = async_names(line).replace("_operations.", "_operations.Async");
        let converted = match line.rsplit_once(" -> ") {
            Some((head, tail))
                if line.trim_start().starts_with("def ") && !line.contains("def __init__") =>
            {
                let result = tail.trim_end_matches(": ...");
                let result = if result == "Pager" {
                    "AsyncPager".to_string()
                } else {
                    format!("Awaitable[{result}]")
                };
                format!("{head} -> {result}: ...")
            }
            _ => line,
        };
        let _ = writeln!(out, "{converted}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_variants_await_results_and_page_asynchronously() {
        let blocking = "\"\"\"doc\"\"\"\nfrom x import y\n\nclass _Lists(_operations.Lists):\n    def get(self, id: str) -> Resource: ...\n    def list(self, *, cursor: Optional[str] = ...) -> Pager: ...\n\nclass _Catalog:\n    def __init__(self, items: _CatalogResource) -> None: ...\n    items: _CatalogResource\n";
        let text = render_python_async_verbs(blocking, "2026-07-15");
        assert!(
            text.contains("class _AsyncLists(_operations.AsyncLists):"),
            "{text}"
        );
        assert!(
            text.contains("    def get(self, id: str) -> Awaitable[Resource]: ..."),
            "{text}"
        );
        assert!(text.contains("-> AsyncPager: ..."), "{text}");
        assert!(
            text.contains("    def __init__(self, items: _AsyncCatalogResource) -> None: ..."),
            "{text}"
        );
        assert!(text.contains("    items: _AsyncCatalogResource"), "{text}");
        assert!(!text.contains("from x import y"));
    }
}

//! Generates `core/src/operations/generated.rs`, the table of every operation in Klaviyo's
//! OpenAPI spec: id, method, path template, rate limits (`x-klaviyo-ratelimit`), `page[size]`
//! bounds and whether the operation is cursor-paginated; and the sandbox's shape table
//! (`shapes.rs`): request and response schemas of every operation.
//!
//! Usage: `cargo run -p klaviyo-codegen [-- path/to/stable.json]`. Without an argument it reads
//! `$KLAVIYO_OPENAPI_SPEC`, else `../shared/klaviyo-openapi/stable.json` beside the workspace.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

mod model;
mod render_compat;
mod render_node;
mod render_node_compat;
mod render_python;
mod render_rust;
mod render_sync;
mod schemas;
mod shapes;
mod types;

/// Where the generated table lives, relative to the workspace root.
pub const TABLE_PATH: &str = "core/src/operations/generated.rs";

const METHODS: [&str; 5] = ["get", "post", "patch", "put", "delete"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen sits in the workspace")
        .to_path_buf()
}

/// The spec to read: `$KLAVIYO_OPENAPI_SPEC`, else the shared copy beside the workspace.
pub fn default_spec_path() -> PathBuf {
    std::env::var_os("KLAVIYO_OPENAPI_SPEC")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/klaviyo-openapi/stable.json"))
}

/// Parses a rate-limit figure such as `"75/s"`, `"750/m"` or `"225/d"` into its count.
fn parse_rate(value: Option<&Value>, unit: char) -> Result<Option<u32>, String> {
    let Some(text) = value.and_then(Value::as_str) else {
        return Ok(None);
    };
    let (count, got_unit) = text
        .split_once('/')
        .ok_or_else(|| format!("rate limit {text:?} has no unit"))?;
    if got_unit != unit.to_string() {
        return Err(format!("rate limit {text:?}: expected unit /{unit}"));
    }
    count
        .parse()
        .map(Some)
        .map_err(|e| format!("rate limit {text:?}: {e}"))
}

struct Row {
    id: String,
    method: &'static str,
    path: String,
    burst: u32,
    steady: u32,
    daily: Option<u32>,
    page_size: Option<(u32, u32)>,
    paginated: bool,
    client_side: bool,
    has_body: bool,
}

fn rows(spec: &Value) -> Result<Vec<Row>, String> {
    let paths = spec["paths"].as_object().ok_or("spec has no paths")?;
    let mut rows = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"]
                .as_str()
                .ok_or_else(|| format!("{method} {path}: no operationId"))?;
            let limit = &op["x-klaviyo-ratelimit"];
            let burst = parse_rate(limit.get("burst"), 's')?
                .ok_or_else(|| format!("{id}: no burst limit"))?;
            let steady = parse_rate(limit.get("steady"), 'm')?
                .ok_or_else(|| format!("{id}: no steady limit"))?;
            let daily = parse_rate(limit.get("daily"), 'd')?;
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let param = |name: &str| {
                params
                    .iter()
                    .find(|p| p["name"] == name && p["in"] == "query")
                    .cloned()
            };
            let page_size = match param("page[size]") {
                Some(p) => {
                    let default = p["schema"]["default"]
                        .as_u64()
                        .ok_or_else(|| format!("{id}: page[size] has no default"))?;
                    let max = p["schema"]["maximum"]
                        .as_u64()
                        .ok_or_else(|| format!("{id}: page[size] has no maximum"))?;
                    Some((default as u32, max as u32))
                }
                None => None,
            };
            rows.push(Row {
                id: id.to_string(),
                method: match method {
                    "get" => "Get",
                    "post" => "Post",
                    "patch" => "Patch",
                    "put" => "Put",
                    _ => "Delete",
                },
                path: path.clone(),
                burst,
                steady,
                daily,
                page_size,
                paginated: param("page[cursor]").is_some(),
                // `security: []` marks the public-key `/client/*` operations.
                client_side: op
                    .get("security")
                    .and_then(Value::as_array)
                    .is_some_and(Vec::is_empty),
                has_body: op.get("requestBody").is_some(),
            });
        }
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(pair) = rows.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(format!("duplicate operationId {}", pair[0].id));
    }
    Ok(rows)
}

/// Renders the Rust source of the operation table from the parsed spec.
pub fn render(spec: &Value) -> Result<String, String> {
    let revision = spec["info"]["version"]
        .as_str()
        .ok_or("spec has no info.version")?;
    let rows = rows(spec)?;
    let ops = model::operations(spec)?;
    if ops.len() != rows.len() {
        return Err("the surface model and the table disagree on the operations".into());
    }
    let mut out = String::new();
    out.push_str(&model::generated_header("//", revision));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "use super::{{HttpMethod, Operation, PageSize, ParamKind, QueryParam, RateLimit}};"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "/// The API revision the table was generated from.");
    let _ = writeln!(out, "pub const SPEC_REVISION: &str = {revision:?};");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "/// Every operation in the spec, sorted by operation id."
    );
    let _ = writeln!(
        out,
        "pub static OPERATIONS: [Operation; {}] = [",
        rows.len()
    );
    for (r, op) in rows.iter().zip(&ops) {
        let params: Vec<String> = op
            .params
            .iter()
            .map(|p| {
                format!(
                    "QueryParam {{ wire: {:?}, name: {:?}, kind: ParamKind::{}, required: {}, allowed: &{:?} }}",
                    p.wire,
                    p.name,
                    p.kind.rust(),
                    p.required,
                    p.allowed
                )
            })
            .collect();
        let body = op
            .body
            .as_ref()
            .map_or("None".to_string(), |b| format!("Some({b:?})"));
        let daily = r.daily.map_or("None".to_string(), |d| format!("Some({d})"));
        let page = r.page_size.map_or("None".to_string(), |(d, m)| {
            format!("Some(PageSize {{ default: {d}, max: {m} }})")
        });
        let _ = writeln!(
            out,
            "    Operation {{ id: {:?}, method: HttpMethod::{}, path: {:?}, rate_limit: RateLimit {{ burst: {}, steady: {}, daily: {} }}, page_size: {}, paginated: {}, client_side: {}, has_body: {}, namespace: {:?}, summary: {:?}, params: &[{}], body_schema: {}, multipart: {} }},",
            r.id,
            r.method,
            r.path,
            r.burst,
            r.steady,
            daily,
            page,
            r.paginated,
            r.client_side,
            r.has_body,
            model::snake(&op.tag),
            op.summary,
            params.join(", "),
            body,
            op.multipart
        );
    }
    let _ = writeln!(out, "];");
    Ok(out)
}

/// Every generated file: its path relative to the workspace root, and its text.
pub fn outputs(spec: &Value) -> Result<Vec<(String, String)>, String> {
    let revision = spec["info"]["version"]
        .as_str()
        .ok_or("spec has no info.version")?;
    let ops = model::operations(spec)?;
    let types = types::Types::from_roots(spec, ops.iter().filter_map(|op| op.body.clone()));
    let mut files = vec![
        (TABLE_PATH.to_string(), render(spec)?),
        (
            shapes::SHAPES_PATH.to_string(),
            shapes::render_shapes(spec)?,
        ),
        (
            schemas::REQUEST_SCHEMAS_PATH.to_string(),
            schemas::render_request_schemas(spec, &ops)?,
        ),
        (
            render_rust::RUST_API_PATH.to_string(),
            render_rust::render_rust(&ops, revision),
        ),
        (
            render_rust::RUST_SWEEP_PATH.to_string(),
            render_rust::render_rust_sweep(&ops, revision),
        ),
        (
            render_python::PYTHON_STUB_PATH.to_string(),
            render_python::render_python_stub(&ops, revision),
        ),
        (
            render_python::PYTHON_BODIES_PATH.to_string(),
            render_python::render_python_bodies(&types, revision),
        ),
        (
            render_node::NODE_PATH.to_string(),
            render_node::render_node(&ops, revision),
        ),
        (
            render_node::NODE_TYPES_PATH.to_string(),
            render_node::render_node_types(&ops, &types, revision),
        ),
    ];
    let verbs_path = workspace_root().join(render_python::PYTHON_VERBS_PATH);
    let verbs = std::fs::read_to_string(&verbs_path)
        .map_err(|e| format!("cannot read {}: {e}", verbs_path.display()))?;
    files.push((
        render_python::PYTHON_ASYNC_VERBS_PATH.to_string(),
        render_python::render_python_async_verbs(&verbs, revision),
    ));
    files.extend(render_python::render_python(&ops, revision));
    files.push((
        render_compat::PYTHON_COMPAT_PATH.to_string(),
        render_compat::render_python_compat(&ops, revision),
    ));
    files.push((
        render_node_compat::NODE_COMPAT_APIS_PATH.to_string(),
        render_node_compat::render_node_compat_apis(&ops, revision),
    ));
    files.push((
        render_node_compat::NODE_COMPAT_TYPES_PATH.to_string(),
        render_node_compat::render_node_compat_types(&ops, revision),
    ));
    files.push((
        render_node_compat::NODE_COMPAT_SCHEMAS_PATH.to_string(),
        render_node_compat::render_node_compat_schemas(spec, &ops, revision)?,
    ));
    files.push((
        render_sync::SYNC_COLUMNS_PATH.to_string(),
        render_sync::render_sync_columns(spec, &ops, revision)?,
    ));
    files.push((
        render_node_compat::NODE_COMPAT_ESM_PATH.to_string(),
        render_node_compat::render_node_compat_esm(spec, &ops, revision),
    ));
    files.push((
        render_node_compat::NODE_COMPAT_ENUMS_PATH.to_string(),
        render_node_compat::render_node_compat_enums(spec, revision),
    ));
    files.push((
        render_node_compat::NODE_COMPAT_ENUM_TYPES_PATH.to_string(),
        render_node_compat::render_node_compat_enum_types(spec, revision),
    ));
    Ok(files)
}

/// Directories whose every file is generated: a file there that the generator no longer
/// writes is stale.
pub const GENERATED_DIRS: [&str; 1] = [render_python::PYTHON_PACKAGE];

/// Files in `dir` that the generator does not write (caches aside).
fn stale_files(dir: &Path, files: &[(String, String)]) -> Vec<PathBuf> {
    let written: Vec<PathBuf> = files
        .iter()
        .map(|(p, _)| workspace_root().join(p))
        .collect();
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && !written.contains(path))
        .collect()
}

fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

fn main() {
    let spec_path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(default_spec_path);
    let result = load(&spec_path).and_then(|spec| {
        let mut written = Vec::new();
        let files = outputs(&spec)?;
        for dir in GENERATED_DIRS {
            let dir = workspace_root().join(dir);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            for stale in stale_files(&dir, &files) {
                std::fs::remove_file(&stale)
                    .map_err(|e| format!("cannot remove {}: {e}", stale.display()))?;
            }
        }
        for (path, text) in files {
            let out = workspace_root().join(&path);
            std::fs::write(&out, text)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            written.push(out.display().to_string());
        }
        Ok(written.join(", "))
    });
    match result {
        Ok(out) => println!("wrote {out}"),
        Err(e) => {
            eprintln!("klaviyo-codegen: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_table_matches_the_spec() {
        let spec_path = default_spec_path();
        if !spec_path.exists() {
            eprintln!("skipping drift check: no spec at {}", spec_path.display());
            return;
        }
        let spec = load(&spec_path).unwrap();
        let files = outputs(&spec).unwrap();
        for dir in GENERATED_DIRS {
            let stale = stale_files(&workspace_root().join(dir), &files);
            assert!(
                stale.is_empty(),
                "stale generated files {stale:?}: run `cargo run -p klaviyo-codegen`"
            );
        }
        for (path, fresh) in files {
            let committed =
                std::fs::read_to_string(workspace_root().join(&path)).unwrap_or_default();
            assert!(
                fresh == committed,
                "{path} is out of date with {}: run `cargo run -p klaviyo-codegen`",
                spec_path.display()
            );
        }
    }

    #[test]
    fn rate_figures_parse_and_reject_wrong_units() {
        assert_eq!(parse_rate(Some(&Value::from("75/s")), 's'), Ok(Some(75)));
        assert_eq!(parse_rate(None, 'd'), Ok(None));
        assert!(parse_rate(Some(&Value::from("75/m")), 's').is_err());
        assert!(parse_rate(Some(&Value::from("many/s")), 's').is_err());
    }

    #[test]
    fn renders_page_bounds_and_client_operations() {
        let spec = serde_json::json!({
            "info": {"version": "2026-07-15"},
            "paths": {
                "/api/profiles": {"get": {
                    "operationId": "get_profiles", "tags": ["Profiles"], "summary": "Get Profiles",
                    "x-klaviyo-ratelimit": {"burst": "75/s", "steady": "750/m"},
                    "parameters": [
                        {"name": "page[cursor]", "in": "query", "schema": {"type": "string"}},
                        {"name": "page[size]", "in": "query", "schema": {"type": "integer", "default": 20, "maximum": 100}}
                    ]
                }},
                "/client/events": {"post": {
                    "operationId": "create_client_event", "tags": ["Client"], "summary": "Create Client Event", "security": [],
                    "requestBody": {"content": {"application/vnd.api+json": {"schema": {"$ref": "#/components/schemas/EventQuery"}}}},
                    "x-klaviyo-ratelimit": {"burst": "350/s", "steady": "3500/m", "daily": "9/d"}
                }}
            }
        });
        let text = render(&spec).unwrap();
        assert!(text.contains(r#"id: "create_client_event", method: HttpMethod::Post, path: "/client/events", rate_limit: RateLimit { burst: 350, steady: 3500, daily: Some(9) }, page_size: None, paginated: false, client_side: true, has_body: true"#), "{text}");
        assert!(text.contains("page_size: Some(PageSize { default: 20, max: 100 }), paginated: true, client_side: false"), "{text}");
        assert!(text.contains("[Operation; 2]"));
    }
}

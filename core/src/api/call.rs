//! One call to any operation from named arguments, as the typed surfaces of every language
//! make it: arguments are taken by their snake_case name (Python, Rust) or camelCase name
//! (Node), checked against the operation's description (allowed values, required
//! parameters, the body against its schema) and turned into the request, before anything is
//! sent. The bindings hand over their host values as JSON and do nothing else.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::{Client, RequestOptions};
use crate::config::Binding;
use crate::error::{Error, Result};
use crate::operations::schema::check_body;
use crate::operations::{Operation, ParamKind, QueryParam, require_operation};
use crate::pagination::{ListParams, Pager};
use crate::resource::Document;

/// Arguments that every call takes besides the operation's own.
const CALL_OPTIONS: [&str; 2] = ["timeout", "revision"];
/// Arguments that every paginated call takes besides those.
const PAGE_OPTIONS: [&str; 2] = ["max_items", "max_pages"];

/// A call, checked and ready to send.
#[derive(Debug)]
pub struct Call {
    op: &'static Operation,
    path: String,
    body: Option<Value>,
    list: ListParams,
}

/// Named arguments from a parameter struct (the Rust surface).
pub fn to_args<T: Serialize>(params: &T) -> Result<Map<String, Value>> {
    match serde_json::to_value(params) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Ok(Map::new()),
        Err(e) => Err(Error::InvalidInput(format!("parameters: {e}"))),
    }
}

/// `fieldsCampaign` → `fields_campaign`; snake_case names are unchanged.
fn snake_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

struct Checker {
    op: &'static Operation,
    binding: Binding,
}

impl Checker {
    fn name(&self, snake: &str) -> String {
        self.binding.spell(snake)
    }

    fn invalid(&self, arg: &str, problem: impl std::fmt::Display) -> Error {
        Error::InvalidInput(format!("{}: {} {problem}", self.method(), self.name(arg)))
    }

    fn method(&self) -> String {
        self.binding.spell(self.op.id)
    }

    fn string(&self, arg: &str, value: &Value) -> Result<String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(self.invalid(
                arg,
                format_args!("must be a string, not {}", describe(other)),
            )),
        }
    }

    fn allowed(&self, param: &QueryParam, value: &str) -> Result<()> {
        if param.allowed.is_empty() || param.allowed.contains(&value) {
            return Ok(());
        }
        let hint: Vec<&str> = param
            .allowed
            .iter()
            .copied()
            .filter(|a| a.contains(value) || value.contains(*a))
            .take(3)
            .collect();
        let shown = if param.allowed.len() <= 12 {
            format!("one of {}", param.allowed.join(", "))
        } else if hint.is_empty() {
            format!(
                "one of {} values, e.g. {}",
                param.allowed.len(),
                param.allowed[..3].join(", ")
            )
        } else {
            format!(
                "one of {} values; did you mean {}?",
                param.allowed.len(),
                hint.join(", ")
            )
        };
        Err(self.invalid(
            param.name,
            format_args!("does not take {value:?}: use {shown}"),
        ))
    }

    /// The wire value of one query parameter.
    fn query_value(&self, param: &QueryParam, value: &Value) -> Result<String> {
        if param.kind.is_list() {
            let items: Vec<String> = match value {
                Value::Array(items) => items
                    .iter()
                    .map(|item| self.string(param.name, item))
                    .collect::<Result<_>>()?,
                Value::String(s) => s.split(',').map(|part| part.trim().to_string()).collect(),
                other => {
                    return Err(self.invalid(
                        param.name,
                        format_args!("must be a list of names, not {}", describe(other)),
                    ));
                }
            };
            for item in &items {
                self.allowed(param, item)?;
            }
            return Ok(items.join(","));
        }
        if param.kind == ParamKind::PageSize {
            return match value.as_u64() {
                Some(n) if n >= 1 => Ok(n.to_string()),
                _ => Err(self.invalid(
                    param.name,
                    format_args!("must be a whole number of at least 1, not {value}"),
                )),
            };
        }
        let text = self.string(param.name, value)?;
        self.allowed(param, &text)?;
        Ok(text)
    }

    fn count(&self, arg: &str, value: &Value) -> Result<usize> {
        value.as_u64().map(|n| n as usize).ok_or_else(|| {
            self.invalid(
                arg,
                format_args!("must be a whole number of 0 or more, not {value}"),
            )
        })
    }

    fn unknown(&self, given: &str) -> Error {
        let mut known: Vec<String> = self.op.path_params().map(|p| self.name(p)).collect();
        if self.op.body_schema.is_some() {
            known.push("body".into());
        }
        known.extend(self.op.params.iter().map(|p| self.name(p.name)));
        if self.op.paginated {
            known.extend(PAGE_OPTIONS.iter().map(|p| self.name(p)));
        }
        known.extend(CALL_OPTIONS.iter().map(|p| self.name(p)));
        Error::InvalidInput(format!(
            "{} got an unknown argument {given:?}; it takes {}",
            self.method(),
            known.join(", ")
        ))
    }
}

impl Call {
    /// A call to `operation_id` with its path parameters and body given apart and the rest
    /// by name (the Rust surface).
    pub fn prepare(
        client: &Client,
        operation_id: &str,
        path: &[(&str, &str)],
        body: Option<Value>,
        mut args: Map<String, Value>,
        options: RequestOptions,
    ) -> Result<Call> {
        for (name, value) in path {
            args.insert((*name).to_string(), Value::String((*value).to_string()));
        }
        if let Some(body) = body {
            args.insert("body".into(), body);
        }
        let mut call = Call::from_args(client, operation_id, args)?;
        let given = std::mem::take(&mut call.list.options);
        call.list.options = RequestOptions {
            timeout: options.timeout.or(given.timeout),
            revision: options.revision.or(given.revision),
            ..options
        };
        Ok(call)
    }

    /// A call from one map of named arguments: path parameters, `body`, query parameters,
    /// `max_items`/`max_pages` (pagers), `timeout` (seconds) and `revision`; snake_case or
    /// camelCase names; null means not given (the Python and Node surfaces).
    pub fn from_args(
        client: &Client,
        operation_id: &str,
        args: Map<String, Value>,
    ) -> Result<Call> {
        let op = require_operation(operation_id)?;
        let check = Checker {
            op,
            binding: client.config().binding,
        };
        let mut path_values: Vec<(&'static str, String)> = Vec::new();
        let mut body = None;
        let mut list = ListParams::default();
        let mut seen: Vec<&'static str> = Vec::new();
        for (given, value) in args {
            if value.is_null() {
                continue;
            }
            let name = snake_name(&given);
            if let Some(path_param) = op.path_params().find(|p| *p == name) {
                path_values.push((path_param, check.string(path_param, &value)?));
            } else if name == "body" && op.has_body {
                body = Some(value);
            } else if let Some(param) = op.params.iter().find(|p| p.name == name) {
                seen.push(param.name);
                match param.kind {
                    ParamKind::Filter => list.filter = Some(check.string(param.name, &value)?),
                    ParamKind::Sort => {
                        let sort = check.string(param.name, &value)?;
                        check.allowed(param, &sort)?;
                        list.sort = Some(sort);
                    }
                    ParamKind::PageSize => {
                        check.query_value(param, &value)?;
                        list.page_size = value.as_u64().map(|n| n.min(u32::MAX as u64) as u32);
                    }
                    ParamKind::PageCursor if op.paginated => {
                        list.cursor = Some(check.string(param.name, &value)?)
                    }
                    _ => list
                        .extra
                        .push((param.wire.to_string(), check.query_value(param, &value)?)),
                }
            } else if op.paginated && name == "max_items" {
                list.max_items = Some(check.count("max_items", &value)?);
            } else if op.paginated && name == "max_pages" {
                list.max_pages = Some(check.count("max_pages", &value)?);
            } else if name == "timeout" {
                let seconds = value
                    .as_f64()
                    .ok_or_else(|| check.invalid("timeout", "must be a number of seconds"))?;
                list.options.timeout = Some(crate::config::seconds(seconds, "timeout")?);
            } else if name == "revision" {
                list.options.revision = Some(check.string("revision", &value)?);
            } else {
                return Err(check.unknown(&given));
            }
        }
        if let Some(missing) = op
            .params
            .iter()
            .find(|p| p.required && !seen.contains(&p.name))
        {
            return Err(Error::InvalidInput(format!(
                "{} needs {} ({})",
                check.method(),
                check.name(missing.name),
                missing.wire
            )));
        }
        if op.has_body {
            let body = body.as_ref().ok_or_else(|| {
                Error::InvalidInput(format!("{} needs a request body", check.method()))
            })?;
            check_body(op, &check.method(), body)?;
        }
        let pairs: Vec<(&str, &str)> = path_values.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let path = op.render_path(&pairs)?;
        Ok(Call {
            op,
            path,
            body,
            list,
        })
    }

    /// The operation.
    pub fn operation(&self) -> &'static Operation {
        self.op
    }

    /// Sends the call; the response document (`Null` for 202/204).
    pub async fn send(self, client: &Client) -> Result<Document> {
        let request = self.into_request()?;
        request.send(client).await?.document()
    }

    /// Sends the call; the response with its body unparsed (for a binding whose host parses
    /// JSON faster into its own objects than it can convert them).
    pub async fn send_raw(self, client: &Client) -> Result<crate::client::Response> {
        let request = self.into_request()?;
        request.send(client).await
    }

    /// The query, body and options the call sends (no I/O: `send` awaits only the pipeline).
    fn into_request(self) -> Result<Prepared> {
        let Call {
            op,
            path,
            body,
            list,
        } = self;
        let mut query = Vec::new();
        if let Some(filter) = list.filter {
            query.push(("filter".to_string(), filter));
        }
        if let Some(sort) = list.sort {
            query.push(("sort".to_string(), sort));
        }
        if let Some(size) = list.page_size {
            query.push(("page[size]".to_string(), size.to_string()));
        }
        if let Some(cursor) = list.cursor {
            // A `links.next` URL, as the official SDKs take it, or a bare cursor.
            query.push((
                "page[cursor]".to_string(),
                crate::pagination::cursor(&cursor)?,
            ));
        }
        query.extend(list.extra);
        let mut options = list.options;
        let body = match body {
            Some(Value::Object(fields)) if op.multipart => {
                let encoded = crate::operations::multipart::encode(op.id, &fields)?;
                options.content_type = Some(encoded.content_type);
                Some(bytes::Bytes::from(encoded.body))
            }
            body => body
                .map(|body| serde_json::to_vec(&body).map(bytes::Bytes::from))
                .transpose()
                .map_err(|e| Error::InvalidInput(format!("{}: request body: {e}", op.id)))?,
        };
        Ok(Prepared {
            op,
            path,
            query,
            body,
            options,
        })
    }

    /// A pager over the call's pages (paginated operations only).
    pub fn pager(self, client: &Client) -> Result<Pager> {
        Pager::new(client.clone(), self.op, self.path, self.list)
    }
}

/// A call ready to go: what [`Client::execute`] takes.
struct Prepared {
    op: &'static Operation,
    path: String,
    query: Vec<(String, String)>,
    body: Option<bytes::Bytes>,
    options: RequestOptions,
}

impl Prepared {
    async fn send(self, client: &Client) -> Result<crate::client::Response> {
        client
            .execute(self.op, &self.path, &self.query, self.body, &self.options)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn client(binding: Binding) -> Client {
        crate::ClientBuilder::new()
            .api_key("pk_test")
            .binding(binding)
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap()
    }

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn takes_snake_and_camel_names_and_checks_allowed_values() {
        let c = client(Binding::Python);
        let call = Call::from_args(
            &c,
            "get_campaigns",
            args(json!({"filter": "equals(messages.channel,'email')", "fields_campaign": ["name"], "include": "tags", "sort": "-created_at"})),
        )
        .unwrap();
        assert_eq!(
            call.list.extra,
            vec![
                ("fields[campaign]".to_string(), "name".to_string()),
                ("include".into(), "tags".into())
            ]
        );
        assert!(
            Call::from_args(
                &c,
                "get_campaigns",
                args(json!({"filter": "x", "fieldsCampaign": ["name"]}))
            )
            .is_ok()
        );
        let err = Call::from_args(
            &c,
            "get_campaigns",
            args(json!({"filter": "x", "sort": "nme"})),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("sort does not take \"nme\"") && err.contains("created_at"),
            "{err}"
        );
        let err = Call::from_args(
            &c,
            "get_campaigns",
            args(json!({"filter": "x", "fields_campaign": ["nope"]})),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("fields_campaign does not take \"nope\""),
            "{err}"
        );
    }

    #[test]
    fn refuses_unknown_arguments_and_missing_required_ones_in_the_callers_spelling() {
        let node = client(Binding::Node);
        let err = Call::from_args(
            &node,
            "get_campaigns",
            args(json!({"filter": "x", "fieldsCampain": ["name"]})),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("getCampaigns got an unknown argument \"fieldsCampain\"")
                && err.contains("fieldsCampaign"),
            "{err}"
        );
        let err = Call::from_args(&node, "get_campaigns", Map::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("getCampaigns needs filter"), "{err}");
        let python = client(Binding::Python);
        let err = Call::from_args(&python, "get_profile", Map::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing path parameter \"id\""), "{err}");
    }

    #[test]
    fn checks_the_body_before_sending() {
        let c = client(Binding::Python);
        let err = Call::from_args(
            &c,
            "create_tag",
            args(json!({"body": {"data": {"type": "tag", "attributes": {}}}})),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/data/attributes/name"), "{err}");
        let err = Call::from_args(&c, "create_tag", Map::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs a request body"), "{err}");
    }
}

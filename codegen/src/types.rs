//! Request-body types, language-neutral: every schema a request body reaches becomes a named
//! type (inline objects get a name from their parent and property), which the Python and
//! TypeScript renderers print as `TypedDict`s and interfaces.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::model::pascal;

/// A type expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Str,
    Int,
    Float,
    Bool,
    Any,
    /// One of these JSON values.
    Literal(Vec<Value>),
    List(Box<Ty>),
    /// An object with free-form members of this type.
    Map(Box<Ty>),
    /// A named type.
    Named(String),
    Union(Vec<Ty>),
    Nullable(Box<Ty>),
}

/// One member of an object type.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: Ty,
    pub required: bool,
    pub doc: String,
}

/// A named type: an object with members, or an alias.
#[derive(Debug, Clone)]
pub enum Def {
    Object(Vec<Field>),
    Alias(Ty),
}

/// Every named type, by name.
#[derive(Debug, Default)]
pub struct Types {
    pub defs: BTreeMap<String, Def>,
    pending: Vec<String>,
    seen: BTreeSet<String>,
}

fn ref_name(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(|r| r.rsplit('/').next().unwrap_or_default().to_string())
}

fn doc(schema: &Value) -> String {
    schema["description"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl Types {
    /// The types reachable from these component schemas.
    pub fn from_roots(spec: &Value, roots: impl IntoIterator<Item = String>) -> Types {
        let mut types = Types::default();
        types.pending.extend(roots);
        let components = &spec["components"]["schemas"];
        while let Some(name) = types.pending.pop() {
            if !types.seen.insert(name.clone()) {
                continue;
            }
            let schema = &components[name.as_str()];
            let def = types.def(&name, schema);
            types.defs.insert(name, def);
        }
        types
    }

    fn def(&mut self, name: &str, schema: &Value) -> Def {
        if schema.get("properties").is_some() && schema.get("oneOf").is_none() {
            Def::Object(self.fields(name, schema))
        } else {
            Def::Alias(self.ty(name, schema))
        }
    }

    fn fields(&mut self, name: &str, schema: &Value) -> Vec<Field> {
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(field, sub)| Field {
                name: field.clone(),
                ty: self.ty(
                    &format!("{name}{}", pascal(&crate::model::snake(field))),
                    sub,
                ),
                required: required.contains(&field.as_str()),
                doc: doc(sub),
            })
            .collect()
    }

    /// The type of `schema`; `context` names an inline object if there is one.
    fn ty(&mut self, context: &str, schema: &Value) -> Ty {
        let ty = self.bare(context, schema);
        if schema["nullable"] == true {
            Ty::Nullable(Box::new(ty))
        } else {
            ty
        }
    }

    fn bare(&mut self, context: &str, schema: &Value) -> Ty {
        if let Some(name) = ref_name(&schema["$ref"]) {
            self.pending.push(name.clone());
            return Ty::Named(name);
        }
        for keyword in ["oneOf", "anyOf"] {
            if let Some(options) = schema[keyword].as_array() {
                let mut tys: Vec<Ty> = Vec::new();
                for (i, option) in options.iter().enumerate() {
                    let ty = self.ty(&format!("{context}Option{i}"), option);
                    if !tys.contains(&ty) {
                        tys.push(ty);
                    }
                }
                return if tys.len() == 1 {
                    tys.remove(0)
                } else {
                    Ty::Union(tys)
                };
            }
        }
        if let Some(parts) = schema["allOf"].as_array()
            && parts.len() == 1
        {
            return self.ty(context, &parts[0]);
        }
        if let Some(values) = schema["enum"].as_array() {
            return Ty::Literal(values.clone());
        }
        match schema["type"].as_str() {
            Some("string") => Ty::Str,
            Some("integer") => Ty::Int,
            Some("number") => Ty::Float,
            Some("boolean") => Ty::Bool,
            Some("array") => Ty::List(Box::new(
                self.ty(&format!("{context}Item"), &schema["items"]),
            )),
            Some("object") | None if schema.get("properties").is_some() => {
                let name = context.to_string();
                if self.seen.insert(name.clone()) {
                    let fields = self.fields(&name, schema);
                    self.defs.insert(name.clone(), Def::Object(fields));
                }
                Ty::Named(name)
            }
            Some("object") => match schema.get("additionalProperties") {
                Some(more) if more.is_object() && !more.as_object().unwrap().is_empty() => {
                    Ty::Map(Box::new(self.ty(&format!("{context}Value"), more)))
                }
                _ => Ty::Map(Box::new(Ty::Any)),
            },
            _ => Ty::Any,
        }
    }
}

//! Lenient JSON:API results. A [`Resource`] wraps the resource object as JSON, so unknown
//! fields, new enum values and `null`s never fail to decode; accessors read what is there.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One JSON:API resource object (`{type, id, attributes, relationships, links}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Resource(Value);

impl Resource {
    /// Wraps a resource object.
    pub fn new(raw: Value) -> Self {
        Resource(raw)
    }

    /// The resource id.
    pub fn id(&self) -> Option<&str> {
        self.0.get("id").and_then(Value::as_str)
    }

    /// The resource type, e.g. `profile`.
    pub fn kind(&self) -> Option<&str> {
        self.0.get("type").and_then(Value::as_str)
    }

    /// The attributes object (empty when absent or null).
    pub fn attributes(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
        self.0
            .get("attributes")
            .and_then(Value::as_object)
            .unwrap_or(&EMPTY)
    }

    /// One attribute (`None` when absent; `Some(Null)` when the API sent null).
    pub fn attr(&self, name: &str) -> Option<&Value> {
        self.attributes().get(name)
    }

    /// One attribute as a string.
    pub fn attr_str(&self, name: &str) -> Option<&str> {
        self.attr(name).and_then(Value::as_str)
    }

    /// The relationships object, if any.
    pub fn relationships(&self) -> Option<&Map<String, Value>> {
        self.0.get("relationships").and_then(Value::as_object)
    }

    /// Ids of a to-many or to-one relationship's linkage data.
    pub fn related_ids(&self, relationship: &str) -> Vec<&str> {
        let data = self
            .relationships()
            .and_then(|r| r.get(relationship))
            .and_then(|r| r.get("data"));
        match data {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.get("id").and_then(Value::as_str))
                .collect(),
            Some(one @ Value::Object(_)) => {
                one.get("id").and_then(Value::as_str).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    /// The untouched resource object.
    pub fn raw(&self) -> &Value {
        &self.0
    }

    /// The untouched resource object, owned.
    pub fn into_raw(self) -> Value {
        self.0
    }
}

/// A JSON:API document (`{data, included, links, meta}`), or `Null` for empty responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Document(Value);

impl Document {
    /// Wraps a parsed body.
    pub fn new(raw: Value) -> Self {
        Document(raw)
    }

    /// `data` when it is one resource.
    pub fn resource(&self) -> Option<Resource> {
        self.0
            .get("data")
            .filter(|d| d.is_object())
            .cloned()
            .map(Resource)
    }

    /// `data` as a list (one resource becomes a list of one).
    pub fn resources(&self) -> Vec<Resource> {
        match self.0.get("data") {
            Some(Value::Array(items)) => items.iter().cloned().map(Resource).collect(),
            Some(one @ Value::Object(_)) => vec![Resource(one.clone())],
            _ => Vec::new(),
        }
    }

    /// `included` resources.
    pub fn included(&self) -> Vec<Resource> {
        self.0
            .get("included")
            .and_then(Value::as_array)
            .map(|v| v.iter().cloned().map(Resource).collect())
            .unwrap_or_default()
    }

    /// `links.next`, if any.
    pub fn next_link(&self) -> Option<&str> {
        self.0
            .get("links")
            .and_then(|l| l.get("next"))
            .and_then(Value::as_str)
    }

    /// The untouched document.
    pub fn raw(&self) -> &Value {
        &self.0
    }

    /// The untouched document, owned.
    pub fn into_raw(self) -> Value {
        self.0
    }

    /// What the typed surfaces return for this document: its `data` as one resource or a
    /// list, nothing for an empty answer (202/204), the document itself when it has no `data`.
    pub fn into_answer(self) -> Answer {
        let mut raw = self.0;
        if raw.is_null() {
            return Answer::Nothing;
        }
        match raw.get_mut("data") {
            Some(Value::Array(items)) => Answer::Many(std::mem::take(items)),
            Some(data @ Value::Object(_)) => Answer::One(data.take()),
            _ => Answer::Other(raw),
        }
    }
}

/// A response as the typed surfaces return it (see [`Document::into_answer`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// No body (202/204).
    Nothing,
    /// `data` was one resource object.
    One(Value),
    /// `data` was a list of resource objects.
    Many(Vec<Value>),
    /// A document without `data`.
    Other(Value),
}

/// Builds a JSON:API resource object for a request body: `{type, [id], attributes}`.
pub fn resource_object(kind: &str, id: Option<&str>, attributes: Value) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), Value::from(kind));
    if let Some(id) = id {
        object.insert("id".into(), Value::from(id));
    }
    object.insert("attributes".into(), attributes);
    Value::Object(object)
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_document_answers_one_many_nothing_or_itself() {
        use serde_json::json;
        assert_eq!(
            Document::new(json!({"data": {"id": "1"}})).into_answer(),
            Answer::One(json!({"id": "1"}))
        );
        assert_eq!(
            Document::new(json!({"data": [{"id": "1"}]})).into_answer(),
            Answer::Many(vec![json!({"id": "1"})])
        );
        assert_eq!(Document::new(Value::Null).into_answer(), Answer::Nothing);
        assert_eq!(
            Document::new(json!({"meta": 1})).into_answer(),
            Answer::Other(json!({"meta": 1}))
        );
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn reads_fields_leniently_and_keeps_unknown_ones() {
        let doc = Document::new(json!({
            "data": [{"type": "profile", "id": "P1", "attributes": {"email": "a@b.com", "first_name": null, "brand_new": {"x": 1}},
                      "relationships": {"lists": {"data": [{"type": "list", "id": "L1"}]}}},
                     {"type": "profile", "id": "P2", "attributes": null}],
            "links": {"next": "https://a.klaviyo.com/api/profiles?page%5Bcursor%5D=abc"}
        }));
        let items = doc.resources();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].attr_str("email"), Some("a@b.com"));
        assert_eq!(items[0].attr("first_name"), Some(&Value::Null));
        assert_eq!(items[0].attr("brand_new").unwrap()["x"], 1);
        assert_eq!(items[0].related_ids("lists"), vec!["L1"]);
        assert!(items[1].attributes().is_empty());
        assert_eq!(
            doc.next_link(),
            Some("https://a.klaviyo.com/api/profiles?page%5Bcursor%5D=abc")
        );
        assert!(Document::new(Value::Null).resources().is_empty());
    }
}

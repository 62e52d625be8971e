//! Which feed field fills which catalog attribute. Each attribute has default field names
//! that cover the common exports (`id`, `title`, `link`, `g:price`…); a mapping names others,
//! from a small JSON file (`{"external_id": "sku", "custom_metadata": ["brand"]}`) or a flag
//! (`external_id=sku,title=name`). Field names match case-insensitively.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The catalog attributes a feed field can fill, and the field names tried when the mapping
/// names none (first present wins).
pub const ATTRIBUTES: &[(&str, &[&str])] = &[
    ("external_id", &["external_id", "id", "g:id"]),
    (
        "parent_id",
        &["parent_id", "item_group_id", "g:item_group_id"],
    ),
    ("title", &["title", "name", "g:title"]),
    ("description", &["description", "g:description"]),
    ("url", &["url", "link", "g:link"]),
    (
        "image_full_url",
        &["image_full_url", "image_link", "image", "g:image_link"],
    ),
    ("image_thumbnail_url", &["image_thumbnail_url"]),
    (
        "images",
        &["images", "additional_image_link", "g:additional_image_link"],
    ),
    ("price", &["price", "g:price"]),
    (
        "inventory_quantity",
        &["inventory_quantity", "quantity", "g:quantity", "inventory"],
    ),
    ("inventory_policy", &["inventory_policy"]),
    ("sku", &["sku"]),
    ("published", &["published"]),
    (
        "categories",
        &["categories", "category", "product_type", "g:product_type"],
    ),
];

/// How feed fields become catalog attributes.
// Unknown attribute names are refused by `check` (serde's deny_unknown_fields does not work
// with a flattened map).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedMapping {
    /// Attribute → the feed field that fills it, where not the default.
    #[serde(flatten)]
    pub fields: BTreeMap<String, String>,
    /// Feed fields kept, by their names, in `custom_metadata`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_metadata: Vec<String>,
    /// What separates several categories in one field (default `|`; XML feeds repeat the
    /// element instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_separator: Option<String>,
}

impl FeedMapping {
    /// Reads a mapping: a JSON file's path, or inline `attribute=field` pairs separated by
    /// commas (`custom_metadata=brand` may repeat).
    pub fn parse(spec: &str) -> Result<Self> {
        let path = Path::new(spec);
        let mapping: FeedMapping = if path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::InvalidInput(format!("cannot read the mapping {}: {e}", path.display()))
            })?;
            serde_json::from_str(&text).map_err(|e| {
                Error::InvalidInput(format!(
                    "the mapping {} is not a valid mapping: {e}; it is a JSON object of \
                     attribute to feed field, e.g. {{\"external_id\": \"sku\", \
                     \"custom_metadata\": [\"brand\"]}}",
                    path.display()
                ))
            })?
        } else if spec.contains('=') {
            let mut mapping = FeedMapping::default();
            for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let Some((attribute, field)) = pair.split_once('=') else {
                    return Err(Error::InvalidInput(format!(
                        "mapping entry {pair:?} is not attribute=field"
                    )));
                };
                let (attribute, field) = (attribute.trim(), field.trim().to_string());
                match attribute {
                    "custom_metadata" => mapping.custom_metadata.push(field),
                    "category_separator" => mapping.category_separator = Some(field),
                    _ => {
                        mapping.fields.insert(attribute.to_string(), field);
                    }
                }
            }
            mapping
        } else {
            return Err(Error::InvalidInput(format!(
                "the mapping {spec:?} is neither a file nor attribute=field pairs"
            )));
        };
        mapping.check()?;
        Ok(mapping)
    }

    /// Refuses attributes that do not exist, naming the ones that do.
    pub fn check(&self) -> Result<()> {
        for attribute in self.fields.keys() {
            if !ATTRIBUTES.iter().any(|(a, _)| a == attribute) {
                return Err(Error::InvalidInput(format!(
                    "the mapping names the attribute {attribute:?}, which a catalog item does \
                     not have; attributes are {}, custom_metadata, category_separator",
                    ATTRIBUTES
                        .iter()
                        .map(|(a, _)| *a)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The value of `attribute` in a record: the mapped field, else the first default field
    /// present. Empty strings count as absent.
    pub fn value<'r>(&self, attribute: &str, record: &'r Map<String, Value>) -> Option<&'r Value> {
        let present = |name: &str| {
            record
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
                .filter(|v| !is_blank(v))
        };
        if let Some(field) = self.fields.get(attribute) {
            return present(field);
        }
        ATTRIBUTES
            .iter()
            .find(|(a, _)| *a == attribute)
            .and_then(|(_, names)| names.iter().find_map(|n| present(n)))
    }

    /// Whether a record has the field that fills `attribute` at all, even empty (an empty
    /// categories cell clears an item's categories; no categories column leaves them alone).
    pub fn present(&self, attribute: &str, record: &Map<String, Value>) -> bool {
        let has = |name: &str| record.keys().any(|k| k.eq_ignore_ascii_case(name));
        match self.fields.get(attribute) {
            Some(field) => has(field),
            None => ATTRIBUTES
                .iter()
                .find(|(a, _)| *a == attribute)
                .is_some_and(|(_, names)| names.iter().any(|n| has(n))),
        }
    }

    /// The custom metadata of a record: the named fields, plus any `custom_metadata.X` field.
    pub fn custom_metadata(&self, record: &Map<String, Value>) -> Map<String, Value> {
        let mut metadata = Map::new();
        for name in &self.custom_metadata {
            if let Some((key, value)) = record
                .iter()
                .find(|(k, v)| k.eq_ignore_ascii_case(name) && !is_blank(v))
            {
                metadata.insert(key.clone(), value.clone());
            }
        }
        for (key, value) in record {
            if let Some(name) = key.strip_prefix("custom_metadata.")
                && !is_blank(value)
            {
                metadata.insert(name.to_string(), value.clone());
            }
        }
        metadata
    }

    /// The separator between categories in one field.
    pub fn separator(&self) -> &str {
        self.category_separator.as_deref().unwrap_or("|")
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_then_mapped_fields_case_insensitively() {
        let record = json!({"SKU": "S1", "ID": "I1", "Name": "Mug", "title": ""});
        let record = record.as_object().unwrap();
        let defaults = FeedMapping::default();
        assert_eq!(defaults.value("external_id", record), Some(&json!("I1")));
        assert_eq!(defaults.value("title", record), Some(&json!("Mug")));
        let mapped = FeedMapping::parse("external_id=sku").unwrap();
        assert_eq!(mapped.value("external_id", record), Some(&json!("S1")));
    }

    #[test]
    fn unknown_attributes_are_refused_by_name() {
        let err = FeedMapping::parse("colour=c").unwrap_err();
        assert!(err.to_string().contains("\"colour\""), "{err}");
        let file = std::env::temp_dir().join(format!("mapping-{}.json", std::process::id()));
        std::fs::write(
            &file,
            r#"{"external_id": "sku", "custom_metadata": ["brand"], "colour": "c"}"#,
        )
        .unwrap();
        let err = FeedMapping::parse(file.to_str().unwrap()).unwrap_err();
        assert!(err.to_string().contains("\"colour\""), "{err}");
        std::fs::write(
            &file,
            r#"{"external_id": "sku", "custom_metadata": ["brand"]}"#,
        )
        .unwrap();
        let mapping = FeedMapping::parse(file.to_str().unwrap()).unwrap();
        let _ = std::fs::remove_file(&file);
        assert_eq!(mapping.fields["external_id"], "sku");
        assert_eq!(mapping.custom_metadata, ["brand"]);
    }
}

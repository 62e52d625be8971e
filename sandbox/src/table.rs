//! A table of JSON:API records by id, with the ordered indexes its list endpoints need, so a
//! sorted or filtered page reads only the rows around it instead of scanning the collection.
//!
//! Rows are kept as compact JSON text and parsed when read: a serde_json `Value` costs several
//! kilobytes per record in map nodes, text a few hundred bytes, so a million records fit.
//!
//! Every list goes through [`Source::walk`]: rows in (sort key, id) order, strictly past a
//! position, narrowed by the filter where an index allows. Narrowing never widens: the pager
//! still checks every condition on every row it returns.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use klaviyo_bridge::filter::{Condition, FilterValue};
use serde_json::Value;

/// A value as it sorts: nulls first, then booleans, numbers, instants and text. Date-time
/// strings sort as instants, so `Z` and `+00:00` forms are equal; emails sort ignoring case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SortKey {
    Missing,
    Bool(bool),
    /// An f64 mapped to an integer with the same order.
    Number(i64),
    /// Microseconds since 1970-01-01T00:00:00Z.
    Time(i64),
    Text(String),
}

/// Where a walk stands: the sort key and id of a row.
pub type Position = (SortKey, String);

fn ordered_bits(n: f64) -> i64 {
    let bits = n.to_bits() as i64;
    if bits < 0 { bits ^ i64::MAX } else { bits }
}

fn time_key(text: &str) -> Option<i64> {
    let at = klaviyo_bridge::time::parse_iso8601(text)?;
    Some(match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => after.as_micros() as i64,
        Err(before) => -(before.duration().as_micros() as i64),
    })
}

fn text_key(field: &str, text: &str) -> SortKey {
    match time_key(text) {
        Some(t) => SortKey::Time(t),
        None if field == "email" => SortKey::Text(text.to_lowercase()),
        None => SortKey::Text(text.to_string()),
    }
}

impl SortKey {
    /// The key of `field`'s value in a row.
    pub fn of(field: &str, value: &Value) -> SortKey {
        match value {
            Value::Null => SortKey::Missing,
            Value::Bool(b) => SortKey::Bool(*b),
            Value::Number(n) => SortKey::Number(ordered_bits(n.as_f64().unwrap_or(0.0))),
            Value::String(s) => text_key(field, s),
            other => SortKey::Text(other.to_string()),
        }
    }

    /// The key a filter value compares as, or None for lists.
    pub fn of_filter(field: &str, value: &FilterValue) -> Option<SortKey> {
        Some(match value {
            FilterValue::Null => SortKey::Missing,
            FilterValue::Bool(b) => SortKey::Bool(*b),
            FilterValue::Number(n) => SortKey::Number(ordered_bits(*n)),
            FilterValue::Str(s) | FilterValue::DateTime(s) => text_key(field, s),
            FilterValue::List(_) => return None,
        })
    }

    /// The key of a row for `field`; `None` means the id order.
    pub fn of_row(field: Option<&str>, row: &Value) -> SortKey {
        match field {
            Some(field) => SortKey::of(field, field_value(row, field)),
            None => SortKey::Missing,
        }
    }
}

/// A filter or sort field of a row: `id`, an attribute (dotted for nesting), or a
/// relationship id (`metric_id`, `profile_id`, …).
pub fn field_value<'a>(row: &'a Value, field: &str) -> &'a Value {
    match field {
        "id" => &row["id"],
        other => match other
            .strip_suffix("_id")
            .map(|relation| &row["relationships"][relation]["data"]["id"])
        {
            Some(related) if !related.is_null() => related,
            _ => other
                .split('.')
                .fold(&row["attributes"], |v, part| &v[part]),
        },
    }
}

/// Rows to list, in order.
pub trait Source {
    /// Rows in ascending (key of `field`, id) order, or descending when `!ascending`, strictly
    /// past `from` in that direction. `field` None is the id order. Rows that cannot match
    /// `conditions` may be left out; rows that can must not be.
    fn walk<'a>(
        &'a self,
        field: Option<&str>,
        ascending: bool,
        from: Option<&Position>,
        conditions: &[Condition],
    ) -> Walk<'a>;
}

/// Rows with their sort keys, in walk order.
pub type Walk<'a> = Box<dyn Iterator<Item = (SortKey, Cow<'a, Value>)> + 'a>;

/// A small collection listed by sorting it on each request.
pub struct Rows<'a>(pub Vec<&'a Value>);

impl Source for Rows<'_> {
    fn walk<'a>(
        &'a self,
        field: Option<&str>,
        ascending: bool,
        from: Option<&Position>,
        _: &[Condition],
    ) -> Walk<'a> {
        sorted_walk(
            self.0.iter().map(|row| Cow::Borrowed(*row)),
            field,
            ascending,
            from,
        )
    }
}

/// A collection kept by id (the catalog's), or the part of it `keep` accepts: listed in id
/// order straight from the map, so a page of a 100,000-item catalog costs its own rows, not a
/// sort of the whole collection; other sorts fall back to sorting.
pub struct ById<'a> {
    /// The rows by id.
    pub rows: &'a BTreeMap<String, Value>,
    /// Which rows belong to the listing.
    pub keep: Box<dyn Fn(&Value) -> bool + Send + Sync + 'a>,
}

impl Source for ById<'_> {
    fn walk<'a>(
        &'a self,
        field: Option<&str>,
        ascending: bool,
        from: Option<&Position>,
        _: &[Condition],
    ) -> Walk<'a> {
        if field.is_some() {
            let kept = self.rows.values().filter(|row| (self.keep)(row));
            return sorted_walk(kept.map(Cow::Borrowed), field, ascending, from);
        }
        let range = match (from, ascending) {
            (Some((_, id)), true) => (Bound::Excluded(id.clone()), Bound::Unbounded),
            (Some((_, id)), false) => (Bound::Unbounded, Bound::Excluded(id.clone())),
            (None, _) => (Bound::Unbounded, Bound::Unbounded),
        };
        let rows = self
            .rows
            .range::<String, _>(range)
            .filter(|(_, row)| (self.keep)(row))
            .map(|(_, row)| (SortKey::Missing, Cow::Borrowed(row)));
        if ascending {
            Box::new(rows)
        } else {
            Box::new(rows.rev())
        }
    }
}

/// Sorts rows in memory and walks them: for small collections and small candidate sets.
fn sorted_walk<'a>(
    rows: impl Iterator<Item = Cow<'a, Value>>,
    field: Option<&str>,
    ascending: bool,
    from: Option<&Position>,
) -> Walk<'a> {
    let id = |row: &Value| row["id"].as_str().unwrap_or_default().to_string();
    let mut keyed: Vec<(SortKey, String, Cow<'a, Value>)> = rows
        .map(|row| (SortKey::of_row(field, &row), id(&row), row))
        .collect();
    keyed.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    if !ascending {
        keyed.reverse();
    }
    if let Some((key, id)) = from {
        let past = |entry: &(SortKey, String, Cow<'a, Value>)| {
            let ordering = (&entry.0, &entry.1).cmp(&(key, id));
            if ascending {
                ordering.is_gt()
            } else {
                ordering.is_lt()
            }
        };
        let start = keyed.iter().position(past).unwrap_or(keyed.len());
        keyed.drain(..start);
    }
    Box::new(keyed.into_iter().map(|(key, _, row)| (key, row)))
}

/// A stored row, read back.
fn decode(text: &str) -> Value {
    serde_json::from_str(text).expect("rows are stored as JSON the table wrote")
}

/// An ordered index: (key, id) for one field.
#[derive(Debug, Default)]
struct Ordered {
    field: &'static str,
    entries: BTreeSet<Position>,
}

/// Per value of `group` (e.g. `metric_id`), the rows ordered by `order` (e.g. `datetime`).
#[derive(Debug, Default)]
struct Grouped {
    group: &'static str,
    order: &'static str,
    entries: HashMap<String, BTreeSet<Position>>,
}

/// Groups up to this size are listed by sorting their members on each request.
const SMALL_GROUP: usize = 10_000;

/// Records by id, with their indexes kept in step on every change.
#[derive(Debug, Default)]
pub struct Table {
    rows: BTreeMap<String, Box<str>>,
    ordered: Vec<Ordered>,
    grouped: Vec<Grouped>,
}

impl Table {
    /// A table indexed on `ordered` fields and on (group, order) pairs.
    pub fn new(ordered: &[&'static str], grouped: &[(&'static str, &'static str)]) -> Table {
        Table {
            rows: BTreeMap::new(),
            ordered: ordered
                .iter()
                .map(|field| Ordered {
                    field,
                    entries: BTreeSet::new(),
                })
                .collect(),
            grouped: grouped
                .iter()
                .map(|(group, order)| Grouped {
                    group,
                    order,
                    entries: HashMap::new(),
                })
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn get(&self, id: &str) -> Option<Value> {
        self.rows.get(id).map(|text| decode(text))
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.rows.contains_key(id)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = Value> + '_ {
        self.rows.values().map(|text| decode(text))
    }

    /// Adds or replaces a row.
    pub fn insert(&mut self, id: String, row: Value) {
        self.remove(&id);
        self.index(&id, &row, true);
        self.rows.insert(id, row.to_string().into_boxed_str());
    }

    pub fn remove(&mut self, id: &str) -> Option<Value> {
        let row = decode(&self.rows.remove(id)?);
        self.index(id, &row, false);
        Some(row)
    }

    /// Changes a row, re-indexing it; false when there is no such row.
    pub fn update(&mut self, id: &str, change: impl FnOnce(&mut Value)) -> bool {
        let Some(mut row) = self.remove(id) else {
            return false;
        };
        change(&mut row);
        self.insert(id.to_string(), row);
        true
    }

    /// Sets one attribute, re-indexing only when an index reads it.
    pub fn set_attribute(&mut self, id: &str, name: &str, value: Value) {
        let indexed = self.ordered.iter().any(|i| i.field == name)
            || self
                .grouped
                .iter()
                .any(|g| g.group == name || g.order == name);
        if indexed {
            self.update(id, |row| row["attributes"][name] = value);
        } else if let Some(text) = self.rows.get_mut(id) {
            let mut row = decode(text);
            row["attributes"][name] = value;
            *text = row.to_string().into_boxed_str();
        }
    }

    /// Keeps only the rows for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&Value) -> bool) {
        let gone: Vec<String> = self
            .rows
            .iter()
            .filter(|(_, text)| !keep(&decode(text)))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.remove(&id);
        }
    }

    /// The ids whose `group` field (e.g. `profile_id`) is `value`, without a scan.
    pub fn ids_in_group(&self, group: &str, value: &str) -> Vec<String> {
        self.grouped
            .iter()
            .find(|g| g.group == group)
            .and_then(|g| g.entries.get(value))
            .map(|set| set.iter().map(|(_, id)| id.clone()).collect())
            .unwrap_or_default()
    }

    /// Each value of `group` with its number of rows.
    pub fn group_sizes(&self, group: &str) -> impl Iterator<Item = (&str, usize)> {
        self.grouped
            .iter()
            .filter(move |g| g.group == group)
            .flat_map(|g| {
                g.entries
                    .iter()
                    .map(|(value, set)| (value.as_str(), set.len()))
            })
    }

    fn index(&mut self, id: &str, row: &Value, add: bool) {
        for index in &mut self.ordered {
            let entry = (
                SortKey::of(index.field, field_value(row, index.field)),
                id.to_string(),
            );
            if add {
                index.entries.insert(entry);
            } else {
                index.entries.remove(&entry);
            }
        }
        for index in &mut self.grouped {
            let Some(group) = field_value(row, index.group).as_str() else {
                continue;
            };
            let entry = (
                SortKey::of(index.order, field_value(row, index.order)),
                id.to_string(),
            );
            if add {
                index
                    .entries
                    .entry(group.to_string())
                    .or_default()
                    .insert(entry);
            } else if let Some(set) = index.entries.get_mut(group) {
                set.remove(&entry);
                if set.is_empty() {
                    index.entries.remove(group);
                }
            }
        }
    }

    /// Candidate ids from `equals`/`any` conditions on `id` or an ordered field, if any:
    /// a point lookup beats walking an index in another order.
    fn point_lookup(
        &self,
        field: Option<&str>,
        conditions: &[Condition],
    ) -> Option<Vec<Cow<'_, Value>>> {
        conditions.iter().find_map(|c| {
            let values: Vec<&FilterValue> = match (c.operator.as_str(), &c.value) {
                ("equals", v) => vec![v],
                ("any", FilterValue::List(options)) => options.iter().collect(),
                _ => return None,
            };
            if c.field == "id" {
                return Some(
                    values
                        .iter()
                        .filter_map(|v| match v {
                            FilterValue::Str(id) => self.get(id).map(Cow::Owned),
                            _ => None,
                        })
                        .collect(),
                );
            }
            // A group already ordered by the sort field is walked, not looked up.
            let group = self
                .grouped
                .iter()
                .find(|g| g.group == c.field && Some(g.order) != field);
            if self
                .grouped
                .iter()
                .any(|g| g.group == c.field && Some(g.order) == field)
            {
                return None;
            }
            if let (Some(group), [FilterValue::Str(value)]) = (group, values.as_slice()) {
                let members = group.entries.get(value.as_str());
                // A large group is better walked in the index's order than sorted per page.
                return (members.map_or(0, BTreeSet::len) <= SMALL_GROUP).then(|| {
                    members
                        .into_iter()
                        .flatten()
                        .filter_map(|(_, id)| self.get(id).map(Cow::Owned))
                        .collect()
                });
            }
            let index = self.ordered.iter().find(|i| i.field == c.field)?;
            let mut rows = Vec::new();
            for value in values {
                let key = SortKey::of_filter(&c.field, value)?;
                let lower = (key.clone(), String::new());
                rows.extend(
                    index
                        .entries
                        .range(lower..)
                        .take_while(|(k, _)| *k == key)
                        .filter_map(|(_, id)| self.get(id).map(Cow::Owned)),
                );
            }
            Some(rows)
        })
    }
}

/// The range of `field` keys that `conditions` allow (a superset of what matches).
fn key_range(field: &str, conditions: &[Condition]) -> (Bound<SortKey>, Bound<SortKey>) {
    let (mut lower, mut upper) = (Bound::Unbounded, Bound::Unbounded);
    for c in conditions.iter().filter(|c| c.field == field) {
        let Some(key) = SortKey::of_filter(field, &c.value) else {
            continue;
        };
        match c.operator.as_str() {
            "greater-than" => lower = tighter_lower(lower, Bound::Excluded(key)),
            "greater-or-equal" => lower = tighter_lower(lower, Bound::Included(key)),
            "less-than" => upper = tighter_upper(upper, Bound::Excluded(key)),
            "less-or-equal" => upper = tighter_upper(upper, Bound::Included(key)),
            "equals" => {
                lower = tighter_lower(lower, Bound::Included(key.clone()));
                upper = tighter_upper(upper, Bound::Included(key));
            }
            _ => {}
        }
    }
    (lower, upper)
}

fn bound_key(bound: &Bound<SortKey>) -> Option<&SortKey> {
    match bound {
        Bound::Included(k) | Bound::Excluded(k) => Some(k),
        Bound::Unbounded => None,
    }
}

fn tighter_lower(a: Bound<SortKey>, b: Bound<SortKey>) -> Bound<SortKey> {
    match (bound_key(&a), bound_key(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) if y > x || (y == x && matches!(b, Bound::Excluded(_))) => b,
        _ => a,
    }
}

fn tighter_upper(a: Bound<SortKey>, b: Bound<SortKey>) -> Bound<SortKey> {
    match (bound_key(&a), bound_key(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) if y < x || (y == x && matches!(b, Bound::Excluded(_))) => b,
        _ => a,
    }
}

/// Ids sort below this, so `(key, BEYOND)` lies past every row with that key.
const BEYOND: &str = "\u{10FFFF}";

/// Range bounds over (key, id) positions from key bounds and a walk position.
fn position_range(
    keys: (Bound<SortKey>, Bound<SortKey>),
    ascending: bool,
    from: Option<&Position>,
) -> (Bound<Position>, Bound<Position>) {
    let lower = match keys.0 {
        Bound::Included(k) => Bound::Included((k, String::new())),
        Bound::Excluded(k) => Bound::Excluded((k, BEYOND.to_string())),
        Bound::Unbounded => Bound::Unbounded,
    };
    let upper = match keys.1 {
        Bound::Included(k) => Bound::Included((k, BEYOND.to_string())),
        Bound::Excluded(k) => Bound::Excluded((k, String::new())),
        Bound::Unbounded => Bound::Unbounded,
    };
    let Some(from) = from else {
        return (lower, upper);
    };
    let past = Bound::Excluded(from.clone());
    if ascending {
        let lower = match &lower {
            Bound::Unbounded => past,
            Bound::Included(p) | Bound::Excluded(p) if p < from => past,
            _ => lower,
        };
        (lower, upper)
    } else {
        let upper = match &upper {
            Bound::Unbounded => past,
            Bound::Included(p) | Bound::Excluded(p) if p > from => past,
            _ => upper,
        };
        (lower, upper)
    }
}

/// Whether a range is empty or inverted (BTreeSet::range panics on those).
fn is_empty_range<T: Ord>(range: &(Bound<T>, Bound<T>)) -> bool {
    match range {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a >= b,
        _ => false,
    }
}

fn walk_set<'a>(
    set: &'a BTreeSet<Position>,
    rows: &'a BTreeMap<String, Box<str>>,
    range: (Bound<Position>, Bound<Position>),
    ascending: bool,
) -> Walk<'a> {
    if is_empty_range(&range) {
        return Box::new(std::iter::empty());
    }
    let entries = set.range(range);
    let lookup = move |(key, id): &'a Position| {
        rows.get(id)
            .map(|text| (key.clone(), Cow::Owned(decode(text))))
    };
    if ascending {
        Box::new(entries.filter_map(lookup))
    } else {
        Box::new(entries.rev().filter_map(lookup))
    }
}

impl Source for Table {
    fn walk<'a>(
        &'a self,
        field: Option<&str>,
        ascending: bool,
        from: Option<&Position>,
        conditions: &[Condition],
    ) -> Walk<'a> {
        if let Some(candidates) = self.point_lookup(field, conditions) {
            return sorted_walk(candidates.into_iter(), field, ascending, from);
        }
        let Some(field) = field else {
            // The id order is the rows' own order.
            let id_bounds = key_range("id", conditions);
            let text = |b: Bound<SortKey>| match b {
                Bound::Included(SortKey::Text(t)) => Bound::Included(t),
                Bound::Excluded(SortKey::Text(t)) => Bound::Excluded(t),
                _ => Bound::Unbounded,
            };
            let (mut lower, mut upper) = (text(id_bounds.0), text(id_bounds.1));
            if let Some((_, id)) = from {
                if ascending {
                    lower = Bound::Excluded(id.clone())
                } else {
                    upper = Bound::Excluded(id.clone())
                }
            }
            let range = (lower, upper);
            if is_empty_range(&range) {
                return Box::new(std::iter::empty());
            }
            let rows = self
                .rows
                .range::<String, _>(range)
                .map(|(_, text)| (SortKey::Missing, Cow::Owned(decode(text))));
            return if ascending {
                Box::new(rows)
            } else {
                Box::new(rows.rev())
            };
        };
        let range = position_range(key_range(field, conditions), ascending, from);
        let group = self
            .grouped
            .iter()
            .filter(|g| g.order == field)
            .find_map(|g| {
                conditions
                    .iter()
                    .find(|c| c.field == g.group && c.operator == "equals")
                    .map(|c| (g, &c.value))
            });
        if let Some((group, value)) = group {
            let FilterValue::Str(value) = value else {
                return Box::new(std::iter::empty());
            };
            return match group.entries.get(value) {
                Some(set) => walk_set(set, &self.rows, range, ascending),
                None => Box::new(std::iter::empty()),
            };
        }
        match self.ordered.iter().find(|i| i.field == field) {
            Some(index) => walk_set(&index.entries, &self.rows, range, ascending),
            None => sorted_walk(self.values().map(Cow::Owned), Some(field), ascending, from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use klaviyo_bridge::filter::Filter;
    use serde_json::json;

    fn event(id: &str, metric: &str, at: &str) -> Value {
        json!({"type": "event", "id": id, "attributes": {"datetime": at}, "relationships": {"metric": {"data": {"type": "metric", "id": metric}}}})
    }

    fn ids(walk: Walk<'_>) -> Vec<String> {
        walk.map(|(_, row)| row["id"].as_str().unwrap().to_string())
            .collect()
    }

    fn table() -> Table {
        let mut table = Table::new(&["datetime"], &[("metric_id", "datetime")]);
        table.insert("E1".into(), event("E1", "M1", "2024-01-03T00:00:00Z"));
        table.insert("E2".into(), event("E2", "M2", "2024-01-01T00:00:00+00:00"));
        table.insert("E3".into(), event("E3", "M1", "2024-01-02T00:00:00Z"));
        table.insert("E4".into(), event("E4", "M1", "2024-01-02T00:00:00Z"));
        table
    }

    #[test]
    fn walks_by_index_with_ranges_positions_and_groups() {
        let table = table();
        let none = Filter::new();
        assert_eq!(
            ids(table.walk(Some("datetime"), true, None, none.conditions())),
            ["E2", "E3", "E4", "E1"]
        );
        assert_eq!(
            ids(table.walk(Some("datetime"), false, None, none.conditions())),
            ["E1", "E4", "E3", "E2"]
        );
        let after = Filter::parse("greater-than(datetime,2024-01-01T00:00:00Z)").unwrap();
        assert_eq!(
            ids(table.walk(Some("datetime"), true, None, after.conditions())),
            ["E3", "E4", "E1"]
        );
        let within = Filter::parse("greater-or-equal(datetime,2024-01-02T00:00:00Z),less-than(datetime,2024-01-03T00:00:00Z)").unwrap();
        assert_eq!(
            ids(table.walk(Some("datetime"), false, None, within.conditions())),
            ["E4", "E3"]
        );
        let position = (
            SortKey::of("datetime", &json!("2024-01-02T00:00:00Z")),
            "E3".to_string(),
        );
        assert_eq!(
            ids(table.walk(Some("datetime"), true, Some(&position), none.conditions())),
            ["E4", "E1"]
        );
        assert_eq!(
            ids(table.walk(Some("datetime"), false, Some(&position), none.conditions())),
            ["E2"]
        );
        let metric = Filter::parse("equals(metric_id,\"M1\")").unwrap();
        assert_eq!(
            ids(table.walk(Some("datetime"), true, None, metric.conditions())),
            ["E3", "E4", "E1"]
        );
        assert_eq!(
            ids(table.walk(None, false, None, none.conditions())),
            ["E4", "E3", "E2", "E1"]
        );
        let inverted = Filter::parse(
            "greater-than(datetime,2025-01-01T00:00:00Z),less-than(datetime,2020-01-01T00:00:00Z)",
        )
        .unwrap();
        assert_eq!(
            ids(table.walk(Some("datetime"), true, None, inverted.conditions())),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn indexes_follow_updates_and_removals() {
        let mut table = table();
        table.update("E2", |row| {
            row["attributes"]["datetime"] = json!("2024-02-01T00:00:00Z")
        });
        table.remove("E4");
        table.retain(|row| row["id"] != "E3");
        assert_eq!(
            ids(table.walk(Some("datetime"), true, None, &[])),
            ["E1", "E2"]
        );
        let metric = Filter::parse("equals(metric_id,\"M1\")").unwrap();
        assert_eq!(
            ids(table.walk(Some("datetime"), true, None, metric.conditions())),
            ["E1"]
        );
        assert_eq!(table.ids_in_group("metric_id", "M1"), ["E1"]);
    }

    #[test]
    fn point_lookups_on_ordered_fields_ignore_email_case() {
        let mut table = Table::new(&["email", "created"], &[]);
        for (id, email) in [
            ("P1", "b@example.com"),
            ("P2", "Upper@Example.com"),
            ("P3", "a@example.com"),
        ] {
            table.insert(
                id.into(),
                json!({"type": "profile", "id": id, "attributes": {"email": email}}),
            );
        }
        let found = Filter::parse("equals(email,\"UPPER@example.COM\")").unwrap();
        assert_eq!(
            ids(table.walk(None, true, None, found.conditions())),
            ["P2"]
        );
        let any = Filter::parse("any(id,[\"P3\",\"P1\",\"P9\"])").unwrap();
        assert_eq!(
            ids(table.walk(None, true, None, any.conditions())),
            ["P1", "P3"]
        );
        assert_eq!(
            ids(table.walk(Some("email"), true, None, &[])),
            ["P3", "P1", "P2"]
        );
    }
}

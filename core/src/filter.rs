//! Klaviyo filter expressions: a builder with correct quoting and escaping, and a parser
//! (used by the sandbox and by tests) that reads them back.
//!
//! Syntax: `op(field,value)`, several conditions comma-joined (AND). Strings are double-quoted
//! with `\"` and `\\` escapes; date-times, numbers, booleans and `null` are bare; lists are
//! `["a","b"]`.

use std::fmt::Write as _;

use crate::error::{Error, Result};

/// A value in a filter condition.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    /// A quoted string.
    Str(String),
    /// A bare ISO 8601 date-time, e.g. `2024-01-01T00:00:00Z`.
    DateTime(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
    /// A list, for `any`.
    List(Vec<FilterValue>),
}

impl From<&str> for FilterValue {
    fn from(s: &str) -> Self {
        FilterValue::Str(s.to_string())
    }
}
impl From<String> for FilterValue {
    fn from(s: String) -> Self {
        FilterValue::Str(s)
    }
}
impl From<bool> for FilterValue {
    fn from(b: bool) -> Self {
        FilterValue::Bool(b)
    }
}
impl From<i64> for FilterValue {
    fn from(n: i64) -> Self {
        FilterValue::Number(n as f64)
    }
}
impl From<f64> for FilterValue {
    fn from(n: f64) -> Self {
        FilterValue::Number(n)
    }
}
impl<T: Into<FilterValue>> From<Vec<T>> for FilterValue {
    fn from(items: Vec<T>) -> Self {
        FilterValue::List(items.into_iter().map(Into::into).collect())
    }
}

impl FilterValue {
    /// A date-time value (sent unquoted).
    pub fn datetime(text: impl Into<String>) -> Self {
        FilterValue::DateTime(text.into())
    }

    fn render(&self, out: &mut String) {
        match self {
            FilterValue::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            FilterValue::DateTime(s) => out.push_str(s),
            FilterValue::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => {
                let _ = write!(out, "{}", *n as i64);
            }
            FilterValue::Number(n) => {
                let _ = write!(out, "{n}");
            }
            FilterValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            FilterValue::Null => out.push_str("null"),
            FilterValue::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.render(out);
                }
                out.push(']');
            }
        }
    }
}

/// One condition: `operator(field,value)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// e.g. `equals`, `any`, `greater-than`.
    pub operator: String,
    /// e.g. `email`, `properties.plan`.
    pub field: String,
    /// The operand.
    pub value: FilterValue,
}

/// Builds a filter string; conditions are AND-joined.
///
/// ```
/// use klaviyo_bridge::filter::{Filter, FilterValue};
/// let f = Filter::new().equals("email", "a@b.com").greater_than("updated", FilterValue::datetime("2024-01-01T00:00:00Z"));
/// assert_eq!(f.to_string(), r#"equals(email,"a@b.com"),greater-than(updated,2024-01-01T00:00:00Z)"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    conditions: Vec<Condition>,
}

macro_rules! operators {
    ($($method:ident => $op:literal),* $(,)?) => {
        $(
            #[doc = concat!("Adds `", $op, "(field,value)`.")]
            pub fn $method(self, field: &str, value: impl Into<FilterValue>) -> Self {
                self.condition($op, field, value)
            }
        )*
    };
}

impl Filter {
    /// An empty filter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds any condition.
    pub fn condition(mut self, operator: &str, field: &str, value: impl Into<FilterValue>) -> Self {
        self.conditions.push(Condition {
            operator: operator.to_string(),
            field: field.to_string(),
            value: value.into(),
        });
        self
    }

    operators! {
        equals => "equals",
        any => "any",
        greater_than => "greater-than",
        less_than => "less-than",
        greater_or_equal => "greater-or-equal",
        less_or_equal => "less-or-equal",
        contains => "contains",
        starts_with => "starts-with",
        ends_with => "ends-with",
        has => "has",
    }

    /// The conditions.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// Whether no condition was added.
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// Parses a filter string back into conditions.
    pub fn parse(text: &str) -> Result<Self> {
        Parser {
            chars: text.chars().collect(),
            pos: 0,
            text,
        }
        .filter()
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        for (i, c) in self.conditions.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{}({},", c.operator, c.field);
            c.value.render(&mut out);
            out.push(')');
        }
        f.write_str(&out)
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> Error {
        Error::InvalidInput(format!(
            "filter {:?}: {what} at character {}",
            self.text, self.pos
        ))
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<()> {
        self.skip_space();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {c:?}")))
        }
    }

    fn word(&mut self, stop: &[char]) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| !stop.contains(&c)) {
            self.pos += 1;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .trim()
            .to_string()
    }

    fn filter(&mut self) -> Result<Filter> {
        let mut filter = Filter::new();
        loop {
            self.skip_space();
            if self.peek().is_none() {
                return if filter.is_empty() {
                    Err(self.error("empty filter"))
                } else {
                    Ok(filter)
                };
            }
            let operator = self.word(&['(']);
            if operator.is_empty() {
                return Err(self.error("expected an operator"));
            }
            self.expect('(')?;
            let field = self.word(&[',', ')']);
            self.expect(',')?;
            let value = self.value()?;
            self.expect(')')?;
            filter.conditions.push(Condition {
                operator,
                field,
                value,
            });
            self.skip_space();
            match self.peek() {
                Some(',') => self.pos += 1,
                None => return Ok(filter),
                Some(_) => return Err(self.error("expected ',' between conditions")),
            }
        }
    }

    fn value(&mut self) -> Result<FilterValue> {
        self.skip_space();
        match self.peek() {
            // Klaviyo's documentation quotes with either mark (`'email'` in campaign filters).
            Some(quote @ ('"' | '\'')) => {
                self.pos += 1;
                let mut s = String::new();
                loop {
                    match self.peek() {
                        None => return Err(self.error("unterminated string")),
                        Some(c) if c == quote => {
                            self.pos += 1;
                            return Ok(FilterValue::Str(s));
                        }
                        Some('\\') => {
                            self.pos += 1;
                            s.push(self.peek().ok_or_else(|| self.error("dangling escape"))?);
                            self.pos += 1;
                        }
                        Some(c) => {
                            s.push(c);
                            self.pos += 1;
                        }
                    }
                }
            }
            Some('[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_space();
                if self.peek() == Some(']') {
                    self.pos += 1;
                    return Ok(FilterValue::List(items));
                }
                loop {
                    items.push(self.value()?);
                    self.skip_space();
                    match self.peek() {
                        Some(',') => self.pos += 1,
                        Some(']') => {
                            self.pos += 1;
                            return Ok(FilterValue::List(items));
                        }
                        _ => return Err(self.error("expected ',' or ']' in list")),
                    }
                }
            }
            _ => {
                let bare = self.word(&[',', ')', ']']);
                Ok(match bare.as_str() {
                    "" => return Err(self.error("expected a value")),
                    "true" => FilterValue::Bool(true),
                    "false" => FilterValue::Bool(false),
                    "null" => FilterValue::Null,
                    _ => match bare.parse::<f64>() {
                        Ok(n) => FilterValue::Number(n),
                        Err(_) => FilterValue::DateTime(bare),
                    },
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_klaviyo_syntax() {
        let f = Filter::new()
            .equals("email", "a@b.com")
            .any("email", vec!["x@y.com", "z@y.com"])
            .greater_than("updated", FilterValue::datetime("2024-01-01T00:00:00Z"))
            .equals("properties.vip", true)
            .less_or_equal("value", 99.5);
        assert_eq!(
            f.to_string(),
            r#"equals(email,"a@b.com"),any(email,["x@y.com","z@y.com"]),greater-than(updated,2024-01-01T00:00:00Z),equals(properties.vip,true),less-or-equal(value,99.5)"#
        );
    }

    #[test]
    fn values_with_spaces_quotes_commas_and_backslashes_round_trip() {
        let tricky = [
            "Black Friday Sale",
            r#"say "hi", then (leave)"#,
            r"back\slash",
            "a,b),c(",
            "  padded  ",
            "émoji 🎉",
        ];
        for text in tricky {
            let f = Filter::new()
                .equals("name", text)
                .any("tags", vec![text, "plain"]);
            let rendered = f.to_string();
            assert_eq!(Filter::parse(&rendered).unwrap(), f, "{rendered}");
        }
        // The official Python SDK's FilterBuilder strips these spaces; we must not.
        assert_eq!(
            Filter::new()
                .equals("name", "Black Friday Sale")
                .to_string(),
            r#"equals(name,"Black Friday Sale")"#
        );
    }

    #[test]
    fn parses_what_users_write_and_rejects_garbage() {
        let f =
            Filter::parse(r#"greater-than(created,2024-01-01T00:00:00Z), equals(email,"a@b.com")"#)
                .unwrap();
        assert_eq!(
            f.conditions()[0].value,
            FilterValue::DateTime("2024-01-01T00:00:00Z".into())
        );
        assert_eq!(f.conditions()[1].field, "email");
        let single =
            Filter::parse("equals(messages.channel,'email'),equals(name,'it\\'s')").unwrap();
        assert_eq!(
            single.conditions()[0].value,
            FilterValue::Str("email".into())
        );
        assert_eq!(
            single.conditions()[1].value,
            FilterValue::Str("it's".into())
        );
        for bad in [
            "",
            "equals(email",
            r#"equals(email,"open"#,
            "equals(email,'open)",
            "equals(email,)",
            r#"equals(a,"b") x"#,
        ] {
            assert_eq!(
                Filter::parse(bad).unwrap_err().code(),
                "invalid_input",
                "{bad}"
            );
        }
    }
}

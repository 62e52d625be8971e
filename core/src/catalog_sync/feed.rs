//! Reading a product feed record by record, in the formats merchants have: CSV, a JSON array,
//! JSON lines, and Google Merchant XML (RSS 2.0 `<item>` or Atom `<entry>` elements with
//! `g:` fields). Files are streamed: a record is handed on as soon as it is read, so a
//! 100 MB feed is never held whole.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::csv_lines::LineCounter;
use crate::error::{Error, Result};

/// A feed's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Google Merchant XML (RSS 2.0 or Atom with the `g:` namespace).
    GoogleXml,
}

impl FeedFormat {
    /// The format a file name implies (`.csv`, `.json`, `.jsonl`/`.ndjson`, `.xml`).
    pub fn from_path(path: &Path) -> Result<Self> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("csv") => Ok(FeedFormat::Csv),
            Some("json") => Ok(FeedFormat::Json),
            Some("jsonl" | "ndjson") => Ok(FeedFormat::Jsonl),
            Some("xml" | "rss" | "atom") => Ok(FeedFormat::GoogleXml),
            _ => Err(Error::InvalidInput(format!(
                "cannot tell the format of the feed {} from its name; name it .csv, .json, \
                 .jsonl or .xml, or give the format (csv, json, jsonl, google_xml)",
                path.display()
            ))),
        }
    }

    /// Parses a format name: `csv`, `json`, `jsonl`, `google_xml` (or `xml`).
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().replace('-', "_").as_str() {
            "csv" => Ok(FeedFormat::Csv),
            "json" => Ok(FeedFormat::Json),
            "jsonl" | "ndjson" => Ok(FeedFormat::Jsonl),
            "google_xml" | "xml" | "google" => Ok(FeedFormat::GoogleXml),
            other => Err(Error::InvalidInput(format!(
                "unknown feed format {other:?}; formats are csv, json, jsonl, google_xml"
            ))),
        }
    }
}

/// Where the products come from.
#[derive(Debug, Clone)]
pub enum Feed {
    /// A file, in the format given or implied by its name.
    File {
        /// Its path.
        path: PathBuf,
        /// Its format (`None`: from the file name).
        format: Option<FeedFormat>,
    },
    /// Records already in memory (one JSON object per product), e.g. from Python or Node.
    Records(Vec<Value>),
}

impl Feed {
    /// A feed file whose format follows from its name.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Feed::File {
            path: path.into(),
            format: None,
        }
    }
}

/// Where a record is in its feed: the line it starts on (files with lines) and its position
/// among the records (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The line the record starts on, where the format has lines.
    pub line: Option<u64>,
    /// The record's position in the feed, from 1.
    pub record: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}"),
            None => write!(f, "record {}", self.record),
        }
    }
}

/// One record of a feed: its fields by the names the feed uses.
#[derive(Debug, Clone)]
pub struct FeedRecord {
    /// Where it is.
    pub location: Location,
    /// Field name (as in the feed) to value: strings for CSV and XML (an array where an XML
    /// element repeats), any JSON value for JSON feeds.
    pub fields: Map<String, Value>,
}

fn unreadable(what: &str, e: impl fmt::Display) -> Error {
    Error::InvalidInput(format!("cannot read the feed {what}: {e}"))
}

/// Reads every record of `feed`, handing each to `each` as it is read. A malformed or
/// truncated feed is an error naming where it broke: no record after it is read.
pub fn read(feed: &Feed, each: &mut dyn FnMut(FeedRecord) -> Result<()>) -> Result<()> {
    match feed {
        Feed::Records(records) => {
            for (i, record) in records.iter().enumerate() {
                let location = Location {
                    line: None,
                    record: i as u64 + 1,
                };
                let Value::Object(fields) = record else {
                    return Err(Error::InvalidInput(format!(
                        "{location} of the feed is not an object"
                    )));
                };
                each(FeedRecord {
                    location,
                    fields: fields.clone(),
                })?;
            }
            Ok(())
        }
        Feed::File { path, format } => {
            let format = match format {
                Some(f) => *f,
                None => FeedFormat::from_path(path)?,
            };
            let shown = path.display().to_string();
            let open = || File::open(path).map_err(|e| unreadable(&shown, e));
            match format {
                FeedFormat::Csv => read_csv(open()?, open()?, &shown, each),
                FeedFormat::Json => read_json_array(open()?, &shown, each),
                FeedFormat::Jsonl => read_jsonl(open()?, &shown, each),
                FeedFormat::GoogleXml => read_google_xml(open()?, &shown, each),
            }
        }
    }
}

fn read_csv(
    file: impl Read,
    second: impl Read,
    shown: &str,
    each: &mut dyn FnMut(FeedRecord) -> Result<()>,
) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new().from_reader(file);
    let mut lines = LineCounter::new(second);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| unreadable(shown, e))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    for (i, name) in header.iter().enumerate() {
        if let Some(first) = header[..i]
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
        {
            return Err(Error::InvalidInput(format!(
                "the feed's header names the column {name:?} twice (columns {} and {}); rename \
                 or remove one",
                first + 1,
                i + 1
            )));
        }
    }
    let mut record = csv::StringRecord::new();
    let mut count = 0u64;
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = lines.error_prefix(&e);
            Error::InvalidInput(format!("{line}the feed {shown} is malformed: {e}"))
        })?;
        if !more {
            return Ok(());
        }
        count += 1;
        let start = record.position().map_or(0, csv::Position::byte);
        let line = lines.line_at(start).map_err(|e| unreadable(shown, e))?;
        let fields = header
            .iter()
            .zip(record.iter())
            .map(|(name, value)| (name.clone(), Value::String(value.to_string())))
            .collect();
        each(FeedRecord {
            location: Location {
                line: Some(line),
                record: count,
            },
            fields,
        })?;
    }
}

fn read_jsonl(
    file: impl Read,
    shown: &str,
    each: &mut dyn FnMut(FeedRecord) -> Result<()>,
) -> Result<()> {
    let mut count = 0u64;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| unreadable(shown, e))?;
        if line.trim().is_empty() {
            continue;
        }
        count += 1;
        let location = Location {
            line: Some(i as u64 + 1),
            record: count,
        };
        let fields = match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(fields)) => fields,
            Ok(_) => {
                return Err(Error::InvalidInput(format!(
                    "{location} of the feed {shown} is not a JSON object"
                )));
            }
            Err(e) => {
                return Err(Error::InvalidInput(format!(
                    "{location} of the feed {shown} is not valid JSON: {e}"
                )));
            }
        };
        each(FeedRecord { location, fields })?;
    }
    Ok(())
}

/// A JSON array read element by element (serde's sequence visitor), so only one product is in
/// memory at a time.
fn read_json_array(
    file: impl Read,
    shown: &str,
    each: &mut dyn FnMut(FeedRecord) -> Result<()>,
) -> Result<()> {
    use serde::de::{DeserializeSeed, SeqAccess, Visitor};

    struct Elements<'a> {
        each: &'a mut dyn FnMut(FeedRecord) -> Result<()>,
        failed: &'a mut Option<Error>,
    }
    impl<'de> Visitor<'de> for Elements<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of product objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
            let mut count = 0u64;
            while let Some(value) = seq.next_element::<Value>()? {
                count += 1;
                let location = Location {
                    line: None,
                    record: count,
                };
                let Value::Object(fields) = value else {
                    *self.failed = Some(Error::InvalidInput(format!(
                        "{location} of the feed is not an object"
                    )));
                    return Err(serde::de::Error::custom("stopped"));
                };
                if let Err(e) = (self.each)(FeedRecord { location, fields }) {
                    *self.failed = Some(e);
                    return Err(serde::de::Error::custom("stopped"));
                }
            }
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for Elements<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(
            self,
            d: D,
        ) -> std::result::Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    let mut failed = None;
    let mut deserializer = serde_json::Deserializer::from_reader(BufReader::new(file));
    let outcome = Elements {
        each,
        failed: &mut failed,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    if let Some(e) = failed {
        return Err(e);
    }
    outcome.map_err(|e| {
        Error::InvalidInput(format!(
            "the feed {shown} is not a complete JSON array of objects (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })
}

/// Counts the line breaks of the bytes the XML reader consumes, so an `<item>` can be named by
/// the line it starts on.
struct CountingReader<R> {
    inner: R,
    newlines: u64,
}

impl<R: BufRead> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.newlines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountingReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amount: usize) {
        if let Ok(buffer) = self.inner.fill_buf() {
            let taken = &buffer[..amount.min(buffer.len())];
            self.newlines += taken.iter().filter(|b| **b == b'\n').count() as u64;
        }
        self.inner.consume(amount);
    }
}

fn read_google_xml(
    file: impl Read,
    shown: &str,
    each: &mut dyn FnMut(FeedRecord) -> Result<()>,
) -> Result<()> {
    use quick_xml::events::Event;

    let counting = CountingReader {
        inner: BufReader::with_capacity(64 * 1024, file),
        newlines: 0,
    };
    let mut reader = quick_xml::Reader::from_reader(counting);
    // Text is kept whole and trimmed once its element closes: trimming each piece would glue
    // `Big <![CDATA[<b>mug</b>]]> cup` into `Big<b>mug</b>cup`.
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    // Inside an item: its fields, and the elements open below it.
    let mut current: Option<(Location, Map<String, Value>)> = None;
    let mut open: Vec<Element> = Vec::new();
    let mut count = 0u64;
    let mut depth = 0usize;
    let malformed = |reader: &quick_xml::Reader<CountingReader<_>>, e: &dyn fmt::Display| {
        Error::InvalidInput(format!(
            "line {}: the feed {shown} is not well-formed XML: {e}",
            reader.get_ref().newlines + 1
        ))
    };
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(&reader, &e))?;
        match event {
            Event::Start(e) => {
                depth += 1;
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if current.is_none() && matches!(name.as_str(), "item" | "entry") {
                    count += 1;
                    // The reader has consumed the tag: the line it ends on.
                    let location = Location {
                        line: Some(reader.get_ref().newlines + 1),
                        record: count,
                    };
                    current = Some((location, Map::new()));
                } else if current.is_some() {
                    if let Some(parent) = open.last_mut() {
                        parent.children = true;
                    }
                    open.push(Element {
                        name,
                        text: String::new(),
                        children: false,
                        direct: false,
                    });
                }
            }
            Event::Empty(e) => {
                // `<link href="…"/>` in Atom feeds.
                if let Some((_, fields)) = current.as_mut() {
                    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    if let Some(href) = e
                        .try_get_attribute("href")
                        .ok()
                        .flatten()
                        .and_then(|a| a.unescape_value().ok())
                    {
                        add_field(fields, name, href.into_owned());
                    }
                }
            }
            Event::Text(t) => {
                if let Some(element) = open.last_mut() {
                    let value = t.unescape().map_err(|e| malformed(&reader, &e))?;
                    element.direct |= !value.trim().is_empty();
                    element.text.push_str(&value);
                }
            }
            Event::CData(t) => {
                if let Some(element) = open.last_mut() {
                    let value = String::from_utf8_lossy(&t.into_inner()).into_owned();
                    element.direct |= !value.trim().is_empty();
                    element.text.push_str(&value);
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if let Some(element) = open.pop() {
                    // Mixed content (`Intro <b>x</b> rest`) is the parent's text too.
                    if let Some(parent) = open.last_mut() {
                        parent.text.push_str(&element.text);
                    }
                    if (element.direct || !element.children)
                        && let Some((_, fields)) = current.as_mut()
                    {
                        let key = if open.is_empty() {
                            element.name
                        } else {
                            let path: Vec<&str> = open.iter().map(|e| e.name.as_str()).collect();
                            format!("{}/{}", path.join("/"), element.name)
                        };
                        add_field(fields, key, element.text.trim().to_string());
                    }
                } else if let Some((location, fields)) = current.take() {
                    each(FeedRecord { location, fields })?;
                }
            }
            Event::Eof => {
                if depth > 0 || current.is_some() {
                    return Err(Error::InvalidInput(format!(
                        "the feed {shown} ends in the middle of an element (after line {}): \
                         it looks truncated",
                        reader.get_ref().newlines + 1
                    )));
                }
                return Ok(());
            }
            _ => {}
        }
        buf.clear();
    }
}

/// An element open inside an item.
struct Element {
    name: String,
    /// Its text, its children's included.
    text: String,
    /// Whether it has child elements.
    children: bool,
    /// Whether it has text of its own (not only whitespace between children).
    direct: bool,
}

/// Adds a field; a repeated element (`g:additional_image_link`, `g:product_type`) becomes an
/// array of its values.
fn add_field(fields: &mut Map<String, Value>, key: String, value: String) {
    match fields.get_mut(&key) {
        None => {
            fields.insert(key, Value::String(value));
        }
        Some(Value::Array(values)) => values.push(Value::String(value)),
        Some(first) => {
            let first = first.take();
            fields.insert(key, Value::Array(vec![first, Value::String(value)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(format: FeedFormat, text: &str) -> Result<Vec<FeedRecord>> {
        let dir = std::env::temp_dir().join(format!(
            "klaviyo-feed-test-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::write(&dir, text).unwrap();
        let mut out = Vec::new();
        let result = read(
            &Feed::File {
                path: dir.clone(),
                format: Some(format),
            },
            &mut |r| {
                out.push(r);
                Ok(())
            },
        );
        let _ = std::fs::remove_file(dir);
        result.map(|()| out)
    }

    #[test]
    fn csv_records_carry_the_line_they_start_on_for_crlf_and_multiline_fields() {
        let got = records(FeedFormat::Csv, "id,title\r\nA,\"two\r\nlines\"\r\nB,b\r\n").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].location.line, Some(2));
        assert_eq!(got[1].location.line, Some(4));
        assert_eq!(got[0].fields["title"], "two\r\nlines");
    }

    #[test]
    fn google_xml_items_have_their_fields_lines_and_repeated_elements() {
        let xml = r#"<?xml version="1.0"?>
<rss xmlns:g="http://base.google.com/ns/1.0" version="2.0">
<channel><title>Shop</title>
<item>
  <g:id>A1</g:id>
  <title>Mug &amp; saucer</title>
  <description>Big <![CDATA[<b>mug</b>]]> &amp; <i>saucer</i> set</description>
  <g:product_type>Home &gt; Kitchen</g:product_type>
  <g:product_type>Gifts</g:product_type>
  <g:shipping><g:country>US</g:country></g:shipping>
</item>
<item><g:id>A2</g:id></item>
</channel></rss>"#;
        let got = records(FeedFormat::GoogleXml, xml).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].location.line, Some(4));
        assert_eq!(got[1].location.line, Some(12));
        let f = &got[0].fields;
        assert_eq!(f["g:id"], "A1");
        assert_eq!(f["title"], "Mug & saucer");
        assert_eq!(f["description"], "Big <b>mug</b> & saucer set");
        assert_eq!(
            f["g:product_type"],
            serde_json::json!(["Home > Kitchen", "Gifts"])
        );
        assert_eq!(f["g:shipping/g:country"], "US");
    }

    #[test]
    fn a_truncated_xml_feed_is_an_error_not_a_short_feed() {
        let err = records(
            FeedFormat::GoogleXml,
            "<rss><channel><item><g:id>A</g:id></item><item><g:id>B</g:id>",
        )
        .unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn a_truncated_json_array_is_an_error() {
        let err = records(FeedFormat::Json, r#"[{"id": "A"}, {"id": "B"#).unwrap_err();
        assert!(
            err.to_string().contains("not a complete JSON array"),
            "{err}"
        );
        let ok = records(FeedFormat::Json, r#"[{"id": "A"}, {"id": "B"}]"#).unwrap();
        assert_eq!(ok.len(), 2);
    }
}

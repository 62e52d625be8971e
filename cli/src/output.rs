//! The one output formatter: every tool's result becomes a [`Output`], rendered as an aligned
//! table, JSON, RFC 4180 CSV or JSON lines. The same bytes come out of every door.

use std::io::Write;
use std::sync::OnceLock;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde_json::{Map, Value};

/// The width tables wrap to: the terminal's, set once by the process that owns stdout
/// ([`crate::run`]); unset (captured output, pipes), cells are printed whole on one line.
static TERMINAL_WIDTH: OnceLock<u16> = OnceLock::new();

/// Tables written to this process's stdout wrap to `width` columns.
pub fn wrap_tables_to(width: u16) {
    let _ = TERMINAL_WIDTH.set(width);
}

/// The terminal's width when stdout is one.
pub fn terminal_width() -> Option<u16> {
    use std::io::IsTerminal;
    std::io::stdout()
        .is_terminal()
        .then(|| Table::new().width())
        .flatten()
}

/// How to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table.
    Table,
    /// One JSON document.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// What a tool produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// One record: field/value pairs, in order.
    Record(Map<String, Value>),
    /// Rows with the same columns.
    Rows {
        /// Column names, in order.
        columns: Vec<String>,
        /// One object per row (missing columns print empty).
        rows: Vec<Map<String, Value>>,
    },
}

/// A cell's text: strings as they are, null as empty, anything else as compact JSON.
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// An aligned table; long cells wrap when a terminal width is known and are never cut.
fn table(header: &[String], rows: impl Iterator<Item = Vec<String>>, width: Option<u16>) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(header);
    match width {
        Some(width) => table
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width),
        None => table.set_content_arrangement(ContentArrangement::Disabled),
    };
    for row in rows {
        table.add_row(row);
    }
    format!("{table}\n")
}

impl Output {
    /// Renders to `out`.
    pub fn render(&self, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
        match (self, format) {
            (Output::Record(record), Format::Table) => {
                let rows = record.iter().map(|(k, v)| vec![k.clone(), cell(Some(v))]);
                let header = ["field".to_string(), "value".to_string()];
                out.write_all(table(&header, rows, TERMINAL_WIDTH.get().copied()).as_bytes())
            }
            (Output::Record(record), Format::Json) => writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(record).unwrap_or_default()
            ),
            (Output::Record(record), Format::Jsonl) => {
                writeln!(out, "{}", Value::Object(record.clone()))
            }
            (Output::Record(record), Format::Csv) => {
                let columns: Vec<String> = record.keys().cloned().collect();
                write_csv(&columns, std::slice::from_ref(record), out)
            }
            (Output::Rows { columns, rows }, Format::Table) => {
                let body = rows
                    .iter()
                    .map(|row| columns.iter().map(|c| cell(row.get(c))).collect());
                out.write_all(table(columns, body, TERMINAL_WIDTH.get().copied()).as_bytes())?;
                writeln!(
                    out,
                    "{} row{}",
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" }
                )
            }
            (Output::Rows { rows, .. }, Format::Json) => {
                let array = Value::Array(rows.iter().cloned().map(Value::Object).collect());
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&array).unwrap_or_default()
                )
            }
            (Output::Rows { rows, .. }, Format::Jsonl) => {
                for row in rows {
                    writeln!(out, "{}", Value::Object(row.clone()))?;
                }
                Ok(())
            }
            (Output::Rows { columns, rows }, Format::Csv) => write_csv(columns, rows, out),
        }
    }
}

/// Writes rows as CSV with a header.
pub fn write_csv(
    columns: &[String],
    rows: &[Map<String, Value>],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(columns)?;
    for row in rows {
        writer.write_record(columns.iter().map(|c| cell(row.get(c))))?;
    }
    writer.flush()
}

/// Streams rows to a file or stdout in a format, one row at a time (flat memory).
pub struct RowWriter<'a> {
    format: Format,
    columns: Vec<String>,
    out: Box<dyn Write + 'a>,
    csv: Option<csv::Writer<Box<dyn Write + 'a>>>,
    written: usize,
}

impl<'a> RowWriter<'a> {
    /// Starts the stream (writes the CSV header or the JSON array's opening).
    pub fn new(
        format: Format,
        columns: Vec<String>,
        out: Box<dyn Write + 'a>,
    ) -> std::io::Result<Self> {
        let mut writer = RowWriter {
            format,
            columns,
            out,
            csv: None,
            written: 0,
        };
        match format {
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(std::mem::replace(
                    &mut writer.out,
                    Box::new(std::io::sink()),
                ));
                csv.write_record(&writer.columns)?;
                writer.csv = Some(csv);
            }
            Format::Json => writer.out.write_all(b"[")?,
            Format::Jsonl | Format::Table => {}
        }
        Ok(writer)
    }

    /// Continues a stream that already holds `written` rows (its CSV header or JSON opening
    /// included): used to resume an interrupted export onto its partial file.
    pub fn resume(
        format: Format,
        columns: Vec<String>,
        out: Box<dyn Write + 'a>,
        written: usize,
    ) -> Self {
        let mut writer = RowWriter {
            format,
            columns,
            out,
            csv: None,
            written,
        };
        if format == Format::Csv {
            writer.csv = Some(csv::Writer::from_writer(std::mem::replace(
                &mut writer.out,
                Box::new(std::io::sink()),
            )));
        }
        writer
    }

    /// Pushes every row written so far to the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if let Some(csv) = self.csv.as_mut() {
            csv.flush()?;
        }
        self.out.flush()
    }

    /// Writes one row.
    pub fn row(&mut self, row: &Map<String, Value>) -> std::io::Result<()> {
        match self.format {
            Format::Csv => {
                let csv = self.csv.as_mut().expect("csv writer");
                csv.write_record(self.columns.iter().map(|c| cell(row.get(c))))?;
            }
            Format::Json => {
                if self.written > 0 {
                    self.out.write_all(b",")?;
                }
                self.out.write_all(b"\n  ")?;
                serde_json::to_writer(&mut self.out, row)?;
            }
            Format::Jsonl | Format::Table => {
                serde_json::to_writer(&mut self.out, row)?;
                self.out.write_all(b"\n")?;
            }
        }
        self.written += 1;
        Ok(())
    }

    /// Ends the stream; returns how many rows were written.
    pub fn finish(mut self) -> std::io::Result<usize> {
        match self.format {
            Format::Csv => self.csv.take().expect("csv writer").flush()?,
            Format::Json => self
                .out
                .write_all(if self.written > 0 { b"\n]\n" } else { b"]\n" })?,
            _ => {}
        }
        self.out.flush()?;
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows() -> Output {
        let row = |id: &str, title: &str| {
            json!({"id": id, "title": title})
                .as_object()
                .unwrap()
                .clone()
        };
        Output::Rows {
            columns: vec!["id".into(), "title".into()],
            rows: vec![row("1", "Blue, \"large\" mug"), row("2", &"x".repeat(80))],
        }
    }

    fn render(output: &Output, format: Format) -> String {
        let mut out = Vec::new();
        output.render(format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_is_rfc4180_and_json_parses() {
        assert_eq!(
            render(&rows(), Format::Csv).lines().nth(1),
            Some("1,\"Blue, \"\"large\"\" mug\"")
        );
        let parsed: Value = serde_json::from_str(&render(&rows(), Format::Json)).unwrap();
        assert_eq!(parsed[0]["title"], "Blue, \"large\" mug");
        assert_eq!(render(&rows(), Format::Jsonl).lines().count(), 2);
    }

    #[test]
    fn tables_align_and_keep_long_cells_whole_or_wrap_them_to_the_terminal() {
        let text = render(&rows(), Format::Table);
        let widths: Vec<usize> = text
            .lines()
            .filter(|l| !l.ends_with("rows"))
            .map(|l| l.chars().count())
            .collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "aligned:\n{text}");
        assert!(text.contains(&"x".repeat(80)), "never cut:\n{text}");
        assert!(text.ends_with("2 rows\n"));

        let body = [vec!["1".to_string(), "x".repeat(80)]].into_iter();
        let wrapped = table(&["id".into(), "title".into()], body, Some(40));
        assert!(
            wrapped.lines().all(|l| l.chars().count() <= 40),
            "{wrapped}"
        );
        let kept: usize = wrapped.lines().map(|l| l.matches('x').count()).sum();
        assert_eq!(kept, 80, "wrapped, not cut:\n{wrapped}");
    }

    #[test]
    fn a_resumed_stream_continues_the_one_it_was_cut_from() {
        let Output::Rows { columns, rows: all } = rows() else {
            unreachable!()
        };
        for format in [Format::Json, Format::Csv, Format::Jsonl] {
            let mut first = Vec::new();
            let mut writer = RowWriter::new(format, columns.clone(), Box::new(&mut first)).unwrap();
            writer.row(&all[0]).unwrap();
            writer.flush().unwrap();
            drop(writer);
            let mut rest = Vec::new();
            let mut writer = RowWriter::resume(format, columns.clone(), Box::new(&mut rest), 1);
            writer.row(&all[1]).unwrap();
            assert_eq!(writer.finish().unwrap(), 2);
            first.extend(rest);
            let joined = String::from_utf8(first).unwrap();
            if format == Format::Json {
                assert_eq!(
                    serde_json::from_str::<Value>(&joined).unwrap(),
                    serde_json::from_str::<Value>(&render(&rows(), format)).unwrap()
                );
            } else {
                assert_eq!(joined, render(&rows(), format));
            }
        }
    }

    #[test]
    fn streamed_json_and_csv_match_the_batch_formatter() {
        for format in [Format::Json, Format::Csv, Format::Jsonl] {
            let Output::Rows { columns, rows: all } = rows() else {
                unreachable!()
            };
            let mut buffer = Vec::new();
            let mut writer =
                RowWriter::new(format, columns.clone(), Box::new(&mut buffer)).unwrap();
            for row in &all {
                writer.row(row).unwrap();
            }
            assert_eq!(writer.finish().unwrap(), 2);
            let streamed = String::from_utf8(buffer).unwrap();
            if format == Format::Json {
                assert_eq!(
                    serde_json::from_str::<Value>(&streamed).unwrap(),
                    serde_json::from_str::<Value>(&render(&rows(), format)).unwrap()
                );
            } else {
                assert_eq!(streamed, render(&rows(), format));
            }
        }
    }
}

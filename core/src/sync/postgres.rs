//! The PostgreSQL destination: one table per stream, created and migrated from the stream's
//! columns (a column the spec adds is added; `id` is the primary key), rows upserted by id.
//!
//! Exactly once: a slice's rows are copied into a staging table and upserted, and the slice
//! is recorded as done, in one transaction. A sync killed mid-slice leaves nothing of it, and
//! the resumed run writes it again. The state lives in the database (`_klaviyo_sync_streams`,
//! `_klaviyo_sync_slices`), beside the rows it covers. A snapshot stream's commit also
//! deletes the rows its snapshot no longer has.

use std::collections::HashSet;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client as PgClient, Config, NoTls};

use super::schema::{Cell, Column, ColumnKind};
use super::state::{State, StreamState};
use super::{Destination, PartWriter, SliceId};
use crate::auth::BoxFuture;
use crate::error::{Error, Result};

/// Tables in one schema of a PostgreSQL database.
pub struct PostgresDestination {
    config: Config,
    /// TLS, unless `sslmode=disable`.
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    schema: String,
    /// Streams whose table this process has created or migrated; held while one is (the
    /// slices start at once, and concurrent CREATE TABLE IF NOT EXISTS can collide).
    migrated: tokio::sync::Mutex<HashSet<&'static str>>,
    /// The connection holding the sync's advisory lock, from `load` on: one sync per schema.
    lock: tokio::sync::Mutex<Option<PgClient>>,
}

/// The advisory lock's key: one sync of a schema at a time.
const LOCK_KEY: &str = "klaviyo-bridge warehouse sync";

fn pg_error(what: &str, e: tokio_postgres::Error) -> Error {
    // The server's own message (a missing permission, a full disk) says what to fix.
    let detail = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        // A connection's cause (a refused TLS certificate, a closed port) is in its sources.
        None => with_causes(&e),
    };
    Error::Config(format!("PostgreSQL: {what}: {detail}"))
}

/// An error's text followed by its causes'.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// A quoted identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn sql_type(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Str => "text",
        ColumnKind::Int => "bigint",
        ColumnKind::Float => "double precision",
        ColumnKind::Bool => "boolean",
        ColumnKind::Timestamp => "timestamptz",
        ColumnKind::Json => "jsonb",
    }
}

fn copy_type(kind: ColumnKind) -> Type {
    match kind {
        ColumnKind::Str => Type::TEXT,
        ColumnKind::Int => Type::INT8,
        ColumnKind::Float => Type::FLOAT8,
        ColumnKind::Bool => Type::BOOL,
        ColumnKind::Timestamp => Type::TIMESTAMPTZ,
        ColumnKind::Json => Type::JSONB,
    }
}

/// A cell as the value COPY sends for its column.
fn sql_value(cell: &Cell, kind: ColumnKind) -> Box<dyn ToSql + Sync + Send> {
    match (cell, kind) {
        // PostgreSQL text and jsonb cannot hold NUL: it is dropped rather than failing the slice.
        (Cell::Str(s), ColumnKind::Str) => Box::new(Some(s.replace('\0', ""))),
        (Cell::Int(n), ColumnKind::Int) => Box::new(Some(*n)),
        (Cell::Float(n), ColumnKind::Float) => Box::new(Some(*n)),
        (Cell::Int(n), ColumnKind::Float) => Box::new(Some(*n as f64)),
        (Cell::Bool(b), ColumnKind::Bool) => Box::new(Some(*b)),
        (Cell::Timestamp(micros), ColumnKind::Timestamp) => {
            let at = if *micros >= 0 {
                UNIX_EPOCH + Duration::from_micros(*micros as u64)
            } else {
                UNIX_EPOCH - Duration::from_micros(micros.unsigned_abs())
            };
            Box::new(Some(at))
        }
        (Cell::Json(text), ColumnKind::Json) => Box::new(Some(
            serde_json::from_str::<Value>(&text.replace("\\u0000", "")).unwrap_or(Value::Null),
        )),
        (_, ColumnKind::Str) => Box::new(None::<String>),
        (_, ColumnKind::Int) => Box::new(None::<i64>),
        (_, ColumnKind::Float) => Box::new(None::<f64>),
        (_, ColumnKind::Bool) => Box::new(None::<bool>),
        (_, ColumnKind::Timestamp) => Box::new(None::<std::time::SystemTime>),
        (_, ColumnKind::Json) => Box::new(None::<Value>),
    }
}

/// Drives a connection until it closes.
async fn log_when_closed<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(e) = connection.await {
        tracing::debug!(error = %e, "PostgreSQL connection closed");
    }
}

/// The client TLS configuration: verified against the CA certificates of the PEM file in
/// `PGSSLROOTCERT` (as PostgreSQL's own tools take it; `system` names the platform's roots)
/// or else the platform's roots. `None` when the platform has no roots and TLS is only
/// preferred; a `PGSSLROOTCERT` that cannot be read is an error either way (the user asked
/// for a CA).
fn tls_config(required: bool) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>> {
    crate::tls::install_provider();
    let root_file = std::env::var_os("PGSSLROOTCERT").filter(|p| !p.is_empty() && *p != "system");
    let config = match root_file {
        Some(path) => {
            use rustls_pki_types::pem::PemObject;
            let unreadable = |e: &dyn std::fmt::Display| {
                Error::Config(format!(
                    "PGSSLROOTCERT {}: {e}; give a PEM file of the server's CA certificates",
                    std::path::Path::new(&path).display()
                ))
            };
            let mut roots = rustls::RootCertStore::empty();
            for certificate in rustls_pki_types::CertificateDer::pem_file_iter(&path)
                .map_err(|e| unreadable(&e))?
            {
                roots
                    .add(certificate.map_err(|e| unreadable(&e))?)
                    .map_err(|e| unreadable(&e))?;
            }
            if roots.is_empty() {
                return Err(unreadable(&"no certificate in it"));
            }
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth()
        }
        None => {
            use rustls_platform_verifier::ConfigVerifierExt;
            match rustls::ClientConfig::with_platform_verifier() {
                Ok(config) => config,
                Err(e) if required => {
                    return Err(Error::Config(format!(
                        "sslmode=require, and the platform's TLS roots cannot be read ({e}): give the server's CA's PEM file in PGSSLROOTCERT"
                    )));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the platform's TLS roots cannot be read: PostgreSQL in plain text (sslmode=prefer); set PGSSLROOTCERT, or sslmode=require to insist on TLS");
                    return Ok(None);
                }
            }
        }
    };
    Ok(Some(std::sync::Arc::new(config)))
}

/// What an `sslmode` value means here: libpq's `verify-ca` and `verify-full` are `require`
/// (every TLS connection is verified, by the server's name too), `allow` is `prefer`.
fn ssl_mode(value: &str) -> Option<&'static str> {
    match value {
        "disable" => Some("disable"),
        "allow" | "prefer" => Some("prefer"),
        "require" | "verify-ca" | "verify-full" => Some("require"),
        _ => None,
    }
}

/// The connection string with its `sslmode` (or else `PGSSLMODE`'s) said as tokio-postgres
/// takes it. Only that parameter is touched: the rest (a password, options) is as given.
fn with_ssl_mode(url: &str, environment: Option<&str>) -> Result<String> {
    let unknown = |value: &str| {
        Error::Config(format!(
            "sslmode {value:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
        ))
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut given = false;
        let mut pairs: Vec<String> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslmode", value)) => {
                    given = true;
                    let decoded = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
                    let mode = ssl_mode(&decoded).ok_or_else(|| unknown(&decoded))?;
                    pairs.push(format!("sslmode={mode}"));
                }
                _ => pairs.push(pair.to_string()),
            }
        }
        if !given && let Some(value) = environment {
            pairs.push(format!(
                "sslmode={}",
                ssl_mode(value).ok_or_else(|| unknown(value))?
            ));
        }
        return Ok(if pairs.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", pairs.join("&"))
        });
    }
    // key=value settings: `sslmode = 'verify-full'` and the like, found by the key.
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    let mut given = false;
    while let Some(at) = rest.find("sslmode") {
        let starts_a_key = rest[..at].chars().last().is_none_or(char::is_whitespace);
        let after = rest[at + "sslmode".len()..].trim_start();
        let Some(value_and_rest) = after.strip_prefix('=').filter(|_| starts_a_key) else {
            out.push_str(&rest[..at + "sslmode".len()]);
            rest = &rest[at + "sslmode".len()..];
            continue;
        };
        let value_and_rest = value_and_rest.trim_start();
        let (value, tail) = match value_and_rest.strip_prefix('\'') {
            Some(quoted) => {
                let end = quoted.find('\'').unwrap_or(quoted.len());
                (&quoted[..end], &quoted[(end + 1).min(quoted.len())..])
            }
            None => {
                let end = value_and_rest
                    .find(char::is_whitespace)
                    .unwrap_or(value_and_rest.len());
                (&value_and_rest[..end], &value_and_rest[end..])
            }
        };
        given = true;
        out.push_str(&rest[..at]);
        out.push_str(&format!(
            "sslmode={}",
            ssl_mode(value).ok_or_else(|| unknown(value))?
        ));
        rest = tail;
    }
    out.push_str(rest);
    if !given && let Some(value) = environment {
        out.push_str(&format!(
            " sslmode={}",
            ssl_mode(value).ok_or_else(|| unknown(value))?
        ));
    }
    Ok(out)
}

/// Whether every place the connection may go is this machine (a loopback name or address, or
/// a Unix socket).
fn is_local(config: &Config) -> bool {
    let loopback_address = |ip: &std::net::IpAddr| ip.is_loopback();
    // A hostaddr is where the connection goes, whatever the host's name.
    if !config.get_hostaddrs().is_empty() {
        return config.get_hostaddrs().iter().all(loopback_address);
    }
    config.get_hosts().iter().all(|host| match host {
        tokio_postgres::config::Host::Tcp(name) => {
            name == "localhost"
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(_) => true,
    })
}

/// TLS for a connection, by its `sslmode`: none for `disable` and for Unix sockets (as libpq,
/// which ignores sslmode there); for `prefer` (the default) none on this machine, as before
/// TLS was supported (a local server's certificate is often its distribution's self-signed
/// one), else TLS when the server offers it; for `require`, TLS always. Verified by the
/// server's name, so `require` needs a `host` name, not only a `hostaddr`.
fn tls_for(config: &Config) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>> {
    use tokio_postgres::config::{Host, SslMode};
    let names: Vec<&String> = config
        .get_hosts()
        .iter()
        .filter_map(|h| match h {
            Host::Tcp(name) => Some(name),
            #[cfg(unix)]
            Host::Unix(_) => None,
        })
        .collect();
    match config.get_ssl_mode() {
        SslMode::Disable => Ok(None),
        _ if names.is_empty() && config.get_hostaddrs().is_empty() => Ok(None),
        SslMode::Require if names.is_empty() => Err(Error::Config(
            "sslmode=require verifies the server's certificate by its name: give host=NAME as well as hostaddr".into(),
        )),
        SslMode::Require => tls_config(true),
        _ if names.is_empty() || is_local(config) => Ok(None),
        _ => tls_config(false),
    }
}

impl PostgresDestination {
    /// `postgres://user:password@host:port/database`; the sync's tables go in `schema`.
    /// A URL without a password takes it from `PGPASSWORD`, as PostgreSQL's own tools do (so
    /// it need not be on the command line); `PGSSLMODE` likewise gives the `sslmode` a URL
    /// does not (see [`tls_for`] and [`tls_config`]).
    pub fn new(url: &str, schema: impl Into<String>) -> Result<Self> {
        let environment = std::env::var("PGSSLMODE").ok().filter(|m| !m.is_empty());
        let url = with_ssl_mode(url, environment.as_deref())?;
        // The causes name the option at fault, never its value.
        let mut config: Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| Error::Config(format!("the PostgreSQL URL is not valid ({}); give postgres://user:password@host:port/database", with_causes(&e))))?;
        if config.get_password().is_none()
            && let Ok(password) = std::env::var("PGPASSWORD")
        {
            config.password(password);
        }
        let tls = tls_for(&config)?;
        if tls.is_none() {
            // Plain text on purpose (a socket, this machine): not a `require` left unmet.
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        }
        Ok(PostgresDestination {
            config,
            tls,
            schema: schema.into(),
            migrated: tokio::sync::Mutex::new(HashSet::new()),
            lock: tokio::sync::Mutex::new(None),
        })
    }

    async fn connect(&self) -> Result<PgClient> {
        let untrusted = |e: tokio_postgres::Error| match pg_error("cannot connect", e) {
            Error::Config(text) if text.contains("invalid peer certificate") => {
                Error::Config(format!(
                    "{text}: the server's TLS certificate is not trusted; give its CA's PEM file in PGSSLROOTCERT (or sslmode=disable on a network you trust)"
                ))
            }
            other => other,
        };
        let client = match &self.tls {
            None => {
                let (client, connection) = self.config.connect(NoTls).await.map_err(untrusted)?;
                tokio::spawn(log_when_closed(connection));
                client
            }
            Some(tls) => {
                let connector = tokio_postgres_rustls::MakeRustlsConnect::new((**tls).clone());
                let (client, connection) =
                    self.config.connect(connector).await.map_err(untrusted)?;
                tokio::spawn(log_when_closed(connection));
                client
            }
        };
        Ok(client)
    }

    fn table(&self, name: &str) -> String {
        format!("{}.{}", ident(&self.schema), ident(name))
    }

    async fn prepare_state(&self, client: &PgClient) -> Result<()> {
        let statements = format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {streams} (stream text PRIMARY KEY, state jsonb NOT NULL);
             CREATE TABLE IF NOT EXISTS {slices} (stream text NOT NULL, run text NOT NULL, slice integer NOT NULL, PRIMARY KEY (stream, run, slice));",
            schema = ident(&self.schema),
            streams = self.table("_klaviyo_sync_streams"),
            slices = self.table("_klaviyo_sync_slices"),
        );
        client
            .batch_execute(&statements)
            .await
            .map_err(|e| pg_error("creating the state tables", e))
    }

    /// Creates the stream's table, or adds the columns it lacks.
    async fn migrate(
        &self,
        client: &PgClient,
        stream: &'static str,
        columns: &[Column],
    ) -> Result<()> {
        let mut migrated = self.migrated.lock().await;
        if migrated.contains(stream) {
            return Ok(());
        }
        let table = self.table(stream);
        let keys = key_columns(stream);
        let key_list: Vec<String> = keys.iter().map(|k| ident(k)).collect();
        let mut statements = format!(
            "CREATE TABLE IF NOT EXISTS {table} ({}, _klaviyo_run text NOT NULL, PRIMARY KEY ({}));",
            key_list
                .iter()
                .map(|k| format!("{k} text NOT NULL"))
                .collect::<Vec<_>>()
                .join(", "),
            key_list.join(", ")
        );
        for column in columns.iter().filter(|c| !keys.contains(&c.name)) {
            statements.push_str(&format!(
                "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {} {};",
                ident(column.name),
                sql_type(column.kind)
            ));
        }
        client
            .batch_execute(&statements)
            .await
            .map_err(|e| pg_error(&format!("creating or migrating {table}"), e))?;
        migrated.insert(stream);
        Ok(())
    }
}

/// The primary key of a stream's table (`id`, or a membership's parent id and `id`).
fn key_columns(stream: &str) -> &'static [&'static str] {
    super::streams::stream(stream).map_or(&["id"], |s| s.key_columns)
}

impl Destination for PostgresDestination {
    fn load(&self) -> BoxFuture<'_, Result<State>> {
        Box::pin(async move {
            let client = self.connect().await?;
            let held: bool = client
                .query_one(
                    "SELECT pg_try_advisory_lock(hashtext($1 || $2))",
                    &[&LOCK_KEY, &self.schema],
                )
                .await
                .map_err(|e| pg_error("taking the sync lock", e))?
                .get(0);
            if !held {
                return Err(Error::InvalidInput(format!(
                    "another sync into schema {} of this database is running; wait for it to end",
                    self.schema
                )));
            }
            self.prepare_state(&client).await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT stream, state FROM {}",
                        self.table("_klaviyo_sync_streams")
                    ),
                    &[],
                )
                .await
                .map_err(|e| pg_error("reading the sync state", e))?;
            let mut state = State::default();
            for row in rows {
                let stream: String = row.get(0);
                let saved: Value = row.get(1);
                let mut entry: StreamState = serde_json::from_value(saved).map_err(|e| {
                    Error::Config(format!("the sync state of {stream} is not a state ({e})"))
                })?;
                if let Some(run) = entry.run.as_mut() {
                    let done = client
                        .query(
                            &format!(
                                "SELECT slice FROM {} WHERE stream = $1 AND run = $2",
                                self.table("_klaviyo_sync_slices")
                            ),
                            &[&stream, &run.id],
                        )
                        .await
                        .map_err(|e| pg_error("reading the sync state", e))?;
                    run.done = done.iter().map(|r| r.get::<_, i32>(0) as usize).collect();
                }
                state.streams.insert(stream, entry);
            }
            *self.lock.lock().await = Some(client);
            Ok(state)
        })
    }

    fn save_stream<'a>(
        &'a self,
        stream: &'a str,
        state: &'a StreamState,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let client = self.connect().await?;
            let mut saved = state.clone();
            // Done slices are rows of their own, written with the slices' rows.
            if let Some(run) = saved.run.as_mut() {
                run.done.clear();
            }
            let value = serde_json::to_value(&saved).map_err(|e| Error::Config(e.to_string()))?;
            client
                .execute(
                    &format!(
                        "INSERT INTO {} (stream, state) VALUES ($1, $2) ON CONFLICT (stream) DO UPDATE SET state = EXCLUDED.state",
                        self.table("_klaviyo_sync_streams")
                    ),
                    &[&stream, &value],
                )
                .await
                .map_err(|e| pg_error("saving the sync state", e))?;
            if state.run.is_none() {
                // The run is over: its slices' records are no longer needed.
                client
                    .execute(
                        &format!(
                            "DELETE FROM {} WHERE stream = $1",
                            self.table("_klaviyo_sync_slices")
                        ),
                        &[&stream],
                    )
                    .await
                    .map_err(|e| pg_error("saving the sync state", e))?;
            }
            Ok(())
        })
    }

    fn part<'a>(
        &'a self,
        slice: &'a SliceId,
        columns: &'static [Column],
    ) -> BoxFuture<'a, Result<Box<dyn PartWriter>>> {
        Box::pin(async move {
            let client = self.connect().await?;
            self.migrate(&client, slice.stream, columns).await?;
            let names: Vec<String> = columns.iter().map(|c| ident(c.name)).collect();
            client
                .batch_execute(&format!(
                    "BEGIN; CREATE TEMP TABLE staging ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA;",
                    names.join(", "),
                    self.table(slice.stream)
                ))
                .await
                .map_err(|e| pg_error("starting a slice", e))?;
            Ok(Box::new(PostgresPart {
                client,
                table: self.table(slice.stream),
                slices: self.table("_klaviyo_sync_slices"),
                slice: slice.clone(),
                columns,
                rows: 0,
            }) as Box<dyn PartWriter>)
        })
    }

    fn finished<'a>(
        &'a self,
        _: &'a SliceId,
        _: &'static [Column],
        _: u64,
    ) -> BoxFuture<'a, Result<()>> {
        // The slice was marked done in its own transaction.
        Box::pin(async { Ok(()) })
    }
}

/// A slice's rows, staged inside its open transaction.
struct PostgresPart {
    client: PgClient,
    table: String,
    slices: String,
    slice: SliceId,
    columns: &'static [Column],
    rows: u64,
}

impl PartWriter for PostgresPart {
    fn write(&mut self, rows: Vec<Vec<Cell>>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if rows.is_empty() {
                return Ok(());
            }
            let names: Vec<String> = self.columns.iter().map(|c| ident(c.name)).collect();
            let sink = self
                .client
                .copy_in(&format!(
                    "COPY staging ({}) FROM STDIN BINARY",
                    names.join(", ")
                ))
                .await
                .map_err(|e| pg_error("copying rows", e))?;
            let types: Vec<Type> = self.columns.iter().map(|c| copy_type(c.kind)).collect();
            let writer = BinaryCopyInWriter::new(sink, &types);
            futures_util::pin_mut!(writer);
            for row in &rows {
                let values: Vec<Box<dyn ToSql + Sync + Send>> = row
                    .iter()
                    .zip(self.columns)
                    .map(|(cell, column)| sql_value(cell, column.kind))
                    .collect();
                let refs: Vec<&(dyn ToSql + Sync)> = values
                    .iter()
                    .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                writer
                    .as_mut()
                    .write(&refs)
                    .await
                    .map_err(|e| pg_error("copying rows", e))?;
            }
            writer
                .finish()
                .await
                .map_err(|e| pg_error("copying rows", e))?;
            self.rows += rows.len() as u64;
            Ok(())
        })
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<u64>> {
        Box::pin(async move {
            let keys = key_columns(self.slice.stream);
            let names: Vec<String> = self.columns.iter().map(|c| ident(c.name)).collect();
            let updates: Vec<String> = self
                .columns
                .iter()
                .filter(|c| !keys.contains(&c.name))
                .map(|c| format!("{n} = EXCLUDED.{n}", n = ident(c.name)))
                .chain(["_klaviyo_run = EXCLUDED._klaviyo_run".to_string()])
                .collect();
            let key = keys.iter().map(|k| ident(k)).collect::<Vec<_>>().join(", ");
            // A record twice in one slice (a page boundary moved under it): the later copy wins.
            let upsert = format!(
                "INSERT INTO {table} ({cols}, _klaviyo_run) SELECT DISTINCT ON ({key}) {cols}, $1 FROM staging ORDER BY {key}, ctid DESC ON CONFLICT ({key}) DO UPDATE SET {updates}",
                table = self.table,
                cols = names.join(", "),
                updates = updates.join(", "),
            );
            let run = self.slice.run.clone();
            self.client
                .execute(&upsert, &[&run])
                .await
                .map_err(|e| pg_error("upserting rows", e))?;
            if self.slice.snapshot {
                // What the snapshot no longer has was deleted in Klaviyo.
                self.client
                    .execute(
                        &format!("DELETE FROM {} WHERE _klaviyo_run <> $1", self.table),
                        &[&run],
                    )
                    .await
                    .map_err(|e| pg_error("removing deleted rows", e))?;
            }
            let index = self.slice.index as i32;
            self.client
                .execute(
                    &format!("INSERT INTO {} (stream, run, slice) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", self.slices),
                    &[&self.slice.stream, &run, &index],
                )
                .await
                .map_err(|e| pg_error("saving the sync state", e))?;
            self.client
                .batch_execute("COMMIT")
                .await
                .map_err(|e| pg_error("committing a slice", e))?;
            Ok(self.rows)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_ssl_modes_are_said_as_tokio_postgres_takes_them_and_nothing_else_is_touched() {
        // The password and the options hold text like the parameter: they stay as given.
        let url = "postgres://u:p%40sslmode=verify-ca@db.example.com/x?options=-c%20a%3Db&sslmode=verify-full";
        assert_eq!(
            with_ssl_mode(url, None).unwrap(),
            "postgres://u:p%40sslmode=verify-ca@db.example.com/x?options=-c%20a%3Db&sslmode=require"
        );
        assert_eq!(
            with_ssl_mode("postgresql://db.example.com/x", Some("verify-ca")).unwrap(),
            "postgresql://db.example.com/x?sslmode=require"
        );
        // The URL's own mode wins over PGSSLMODE.
        assert_eq!(
            with_ssl_mode("postgres://h/x?sslmode=disable", Some("require")).unwrap(),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(
            with_ssl_mode(
                "host=h sslmode = 'verify-full' application_name=mysslmode=x",
                None
            )
            .unwrap(),
            "host=h sslmode=require application_name=mysslmode=x"
        );
        assert_eq!(
            with_ssl_mode("host=h", Some("allow")).unwrap(),
            "host=h sslmode=prefer"
        );
        let bad = with_ssl_mode("postgres://h/x?sslmode=bogus", None).unwrap_err();
        assert!(bad.to_string().contains("verify-full"), "{bad}");
    }

    #[test]
    fn tls_is_skipped_on_sockets_and_this_machine_and_required_by_name() {
        let config = |text: &str| -> Config { text.parse().unwrap() };
        // A Unix socket: no TLS, whatever the mode (as libpq).
        assert!(
            tls_for(&config("host=/run/postgresql sslmode=require"))
                .unwrap()
                .is_none()
        );
        // This machine, preferred: plain text, as a distribution's self-signed server needs.
        assert!(
            tls_for(&config("postgres://u@localhost:5432/x"))
                .unwrap()
                .is_none()
        );
        assert!(
            tls_for(&config("postgres://u@db.example.com/x?sslmode=disable"))
                .unwrap()
                .is_none()
        );
        // Required by address alone: no name to verify the certificate by.
        let nameless = tls_for(&config("hostaddr=10.0.0.5 sslmode=require")).unwrap_err();
        assert!(nameless.to_string().contains("host=NAME"), "{nameless}");
    }
}

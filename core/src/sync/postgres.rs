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
    let mut detail = e
        .as_db_error()
        .map_or_else(|| e.to_string(), |db| db.message().to_string());
    // A connection's cause (a refused TLS certificate, a closed port) is in its sources.
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        detail.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    Error::Config(format!("PostgreSQL: {what}: {detail}"))
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

/// TLS for `sslmode=prefer` (the default) and `require`: always verified, against the CA
/// certificates of the PEM file in `PGSSLROOTCERT` (as PostgreSQL's own tools take it) or
/// else the platform's roots. With `prefer`, a server that offers no TLS is spoken to in
/// plain text; one that offers TLS must present a certificate these roots trust.
fn tls_config() -> Result<std::sync::Arc<rustls::ClientConfig>> {
    crate::tls::install_provider();
    let config = match std::env::var_os("PGSSLROOTCERT").filter(|p| !p.is_empty()) {
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
            rustls::ClientConfig::with_platform_verifier()
                .map_err(|e| Error::Config(format!("the platform's TLS roots: {e}")))?
        }
    };
    Ok(std::sync::Arc::new(config))
}

impl PostgresDestination {
    /// `postgres://user:password@host:port/database`; the sync's tables go in `schema`.
    /// A URL without a password takes it from `PGPASSWORD`, as PostgreSQL's own tools do (so
    /// it need not be on the command line). `sslmode` is `disable`, `prefer` (the default:
    /// TLS when the server offers it), `require`, or libpq's `verify-ca`/`verify-full`, which
    /// are `require` here: every TLS connection is verified (see [`tls_config`]).
    pub fn new(url: &str, schema: impl Into<String>) -> Result<Self> {
        let url = url
            .replace("sslmode=verify-full", "sslmode=require")
            .replace("sslmode=verify-ca", "sslmode=require");
        let mut config: Config = url
            .parse()
            .map_err(|e| Error::Config(format!("the PostgreSQL URL is not valid ({e}); give postgres://user:password@host:port/database")))?;
        if config.get_password().is_none()
            && let Ok(password) = std::env::var("PGPASSWORD")
        {
            config.password(password);
        }
        let tls = match config.get_ssl_mode() {
            tokio_postgres::config::SslMode::Disable => None,
            tokio_postgres::config::SslMode::Require => Some(tls_config()?),
            // Opportunistic, as libpq's prefer is: a machine without TLS roots (and no
            // PGSSLROOTCERT) speaks plain text, as to a server that offers no TLS.
            _ => tls_config().ok(),
        };
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
            Error::Config(text) if text.contains("certificate") => Error::Config(format!(
                "{text}: the server's TLS certificate is not trusted; give its CA's PEM file in PGSSLROOTCERT (or sslmode=disable on a network you trust)"
            )),
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

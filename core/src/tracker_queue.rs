//! The tracker's shared queue (`queue = "redis://…"`): events kept in a Redis Stream that
//! every process of the account adds to and delivers from, instead of a local spool.
//!
//! - `track()` adds the event to the stream (one round trip, by a script that refuses it when
//!   the stream holds `max_queue` events) before it returns, so a process killed after
//!   `track()` returned loses nothing.
//! - Every tracker is also a sender: a consumer of the stream's group ([`GROUP`]) that reads
//!   entries, delivers them in bulk jobs, and acknowledges and deletes each entry only once
//!   Klaviyo accepted its job or finally refused the event. The stream's length is therefore
//!   what is still undelivered.
//! - A sender renews its claim on the entries it holds while it works on them; entries a
//!   dead sender held go idle and are claimed by another after `claim_after`. An entry sent
//!   twice that way (the sender died after Klaviyo accepted the job, before the ack) is
//!   de-duplicated by Klaviyo through the event's `unique_id`.
//!
//! The stream's key is named by a SHA-256 of the credential (`?queue=NAME` names it instead,
//! as OAuth clients must), so processes of one account share it and nothing else does.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};

use crate::auth::Secret;
use crate::error::Result;
use crate::redis_store::{Health, STORE_TIMEOUT, within};
use crate::runtime::ForkLocal;

/// The consumer group every sender of an account's stream joins.
pub const GROUP: &str = "senders";
/// The field of a stream entry that holds the event.
const FIELD: &str = "e";
/// How long a read waits for new entries before the sender looks around again.
pub const READ_BLOCK: Duration = Duration::from_millis(500);

/// Adds an event unless the stream is full. KEYS: the stream. ARGV: the most entries, the
/// event. Returns the entry's id, or nil when full.
const ADD: &str = r#"
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', 'e', ARGV[2])
"#;

/// Acknowledges and deletes entries. KEYS: the stream. ARGV: the group, then the ids.
const DONE: &str = r#"
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
return redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
"#;

/// Deletes the group's members that hold nothing and were idle longer than ARGV[3] ms, but
/// never ARGV[2] (the caller). KEYS: the stream. ARGV: the group, the caller, the idle ms.
const FORGET: &str = r#"
local gone = 0
for _, member in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #member, 2 do f[member[i]] = member[i + 1] end
  if f['name'] ~= ARGV[2] and f['pending'] == 0 and f['idle'] > tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    gone = gone + 1
  end
end
return gone
"#;

/// Ids per acknowledging call (Lua's `unpack` has a stack limit).
const DONE_CHUNK: usize = 1000;

/// What adding an event did.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    /// In the stream, with this entry id.
    Queued(String),
    /// The stream holds `max_queue` events already.
    Full,
}

/// One store call, which [`TrackerQueue::call`] may make twice.
enum Call<'a> {
    Command(redis::Cmd),
    Script(redis::ScriptInvocation<'a>),
}

/// An entry read from the stream: its id and the event as the tracker wrote it.
pub type Entry = (String, Vec<u8>);

/// One tracker's connection to the account's stream.
pub struct TrackerQueue {
    client: redis::Client,
    key: String,
    consumer: String,
    health: Health,
    /// `track()`'s connection (synchronous: `track()` is), rebuilt after a fork.
    adding: ForkLocal<std::sync::Mutex<Option<redis::Connection>>>,
    /// The sender's blocking reads hold a connection of their own.
    reading: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// Acknowledgements, claims and flush checks.
    commands: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    add: redis::Script,
    done: redis::Script,
    forget: redis::Script,
    address: String,
}

impl std::fmt::Debug for TrackerQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackerQueue")
            .field("address", &self.address)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

/// A name for this sender that says where it runs, unique per tracker.
fn consumer_name() -> String {
    let mut host = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer it is given.
    let named = unsafe { libc::gethostname(host.as_mut_ptr().cast(), host.len()) } == 0;
    let host = if named {
        let end = host.iter().position(|&b| b == 0).unwrap_or(host.len());
        String::from_utf8_lossy(&host[..end]).into_owned()
    } else {
        "host".into()
    };
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

fn message(e: redis::RedisError) -> String {
    e.to_string()
}

impl TrackerQueue {
    /// The stream in the Redis at `url` for the account `credential` identifies (or the one
    /// `?queue=NAME` names). Connects on first use.
    pub fn new(url: &Secret, credential: Option<&str>) -> Result<Self> {
        let store = crate::redis_store::open(url, "queue", "queue", credential, "tracker queue")?;
        Ok(TrackerQueue {
            client: store.client,
            key: format!("klaviyo-bridge:events:{}", store.account),
            consumer: consumer_name(),
            health: Health::new(
                "tracker queue",
                &store.address,
                "this process queues and delivers its own events in memory until it answers".into(),
                "queueing events there",
            ),
            adding: ForkLocal::new(),
            reading: tokio::sync::Mutex::new(None),
            commands: tokio::sync::Mutex::new(None),
            add: redis::Script::new(ADD),
            done: redis::Script::new(DONE),
            forget: redis::Script::new(FORGET),
            address: store.address,
        })
    }

    /// The stream's key (a hash of the credential).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// This sender's name in the group.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Whether to use the stream now (false for a while after it failed).
    pub fn available(&self) -> bool {
        self.health.available()
    }

    /// Adds an event (blocking the calling thread for one round trip, at most
    /// [`STORE_TIMEOUT`] per step); `Err` when Redis did not answer.
    pub fn add(&self, payload: &[u8], max_len: usize) -> std::result::Result<Added, String> {
        let slot = self.adding.get(|| std::sync::Mutex::new(None));
        let mut connection = slot.lock().unwrap_or_else(|e| e.into_inner());
        let outcome = (|| {
            if connection.is_none() {
                let fresh = self
                    .client
                    .get_connection_with_timeout(STORE_TIMEOUT)
                    .map_err(message)?;
                fresh
                    .set_read_timeout(Some(STORE_TIMEOUT))
                    .map_err(message)?;
                fresh
                    .set_write_timeout(Some(STORE_TIMEOUT))
                    .map_err(message)?;
                *connection = Some(fresh);
            }
            let Some(open) = connection.as_mut() else {
                return Err("no connection".to_string());
            };
            let id: Option<String> = self
                .add
                .key(&self.key)
                .arg(max_len)
                .arg(payload)
                .invoke(open)
                .map_err(message)?;
            Ok(id.map_or(Added::Full, Added::Queued))
        })();
        if outcome.is_err() {
            // A timed-out connection may still deliver the late answer: start afresh.
            *connection = None;
        }
        self.health.record(&outcome);
        outcome
    }

    /// A connection from `slot`, opened if needed; true when it was just opened.
    async fn connection(
        &self,
        slot: &tokio::sync::Mutex<Option<MultiplexedConnection>>,
        response: Duration,
    ) -> std::result::Result<(MultiplexedConnection, bool), String> {
        let mut slot = slot.lock().await;
        if let Some(open) = slot.as_ref() {
            return Ok((open.clone(), false));
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(STORE_TIMEOUT))
            .set_response_timeout(Some(response));
        let open = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(message)?;
        *slot = Some(open.clone());
        Ok((open, true))
    }

    /// Runs one call on `slot`'s connection within `limit`, notes the store's health, and
    /// drops the connection after a failure. A connection that broke while idle (Redis
    /// restarted since its last use) is replaced once before the call counts as failed.
    async fn call<T: redis::FromRedisValue>(
        &self,
        slot: &tokio::sync::Mutex<Option<MultiplexedConnection>>,
        limit: Duration,
        call: Call<'_>,
    ) -> std::result::Result<T, String> {
        let mut answered = None;
        let outcome = within(limit, async {
            loop {
                let (mut connection, fresh) = self.connection(slot, limit).await?;
                let reply = match &call {
                    Call::Command(command) => command.query_async(&mut connection).await,
                    Call::Script(script) => script.invoke_async(&mut connection).await,
                };
                match reply {
                    Ok(value) => return Ok(value),
                    Err(e) if !fresh && (e.is_io_error() || e.is_connection_dropped()) => {
                        *slot.lock().await = None;
                    }
                    Err(e) => {
                        // An error reply (a missing or existing group, a script's error) is
                        // an answer, not an outage.
                        if !(e.is_io_error()
                            || e.is_connection_dropped()
                            || e.is_connection_refusal()
                            || e.is_timeout())
                        {
                            answered = Some(e.to_string());
                        }
                        return Err(message(e));
                    }
                }
            }
        })
        .await;
        if let Some(reply) = answered {
            return Err(reply);
        }
        if outcome.is_err() {
            *slot.lock().await = None;
        }
        self.health.record(&outcome);
        outcome
    }

    /// Makes the stream and its group if they are missing (a new account, or a Redis that
    /// lost its data).
    async fn ensure_group(&self) -> std::result::Result<(), String> {
        let mut create = redis::cmd("XGROUP");
        create
            .arg("CREATE")
            .arg(&self.key)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM");
        let made: std::result::Result<(), String> = self
            .call(&self.commands, STORE_TIMEOUT, Call::Command(create))
            .await;
        match made {
            Err(e) if e.contains("BUSYGROUP") => Ok(()),
            other => other,
        }
    }

    /// Up to `count` new entries for this sender, waiting up to [`READ_BLOCK`] for some.
    pub async fn read(&self, count: usize) -> std::result::Result<Vec<Entry>, String> {
        let mut command = redis::cmd("XREADGROUP");
        command
            .arg("GROUP")
            .arg(GROUP)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(READ_BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(">");
        let read = || {
            self.call::<Option<StreamReadReply>>(
                &self.reading,
                READ_BLOCK + STORE_TIMEOUT,
                Call::Command(command.clone()),
            )
        };
        let reply = match read().await {
            Err(e) if e.contains("NOGROUP") => {
                self.ensure_group().await?;
                read().await?
            }
            other => other?,
        };
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(entry)
            .collect())
    }

    /// Up to `count` entries that other senders held without renewing for `idle`: theirs now
    /// this sender's, looking in the group's pending list from `cursor` on; also where the
    /// next claim should look (`0-0`: from the start). Also removes senders that hold
    /// nothing and were gone that long.
    pub async fn claim(
        &self,
        count: usize,
        idle: Duration,
        cursor: &str,
    ) -> std::result::Result<(Vec<Entry>, String), String> {
        let mut command = redis::cmd("XAUTOCLAIM");
        command
            .arg(&self.key)
            .arg(GROUP)
            .arg(&self.consumer)
            .arg(idle.as_millis() as u64)
            .arg(cursor)
            .arg("COUNT")
            .arg(count);
        let reply: StreamAutoClaimReply = self
            .call(&self.commands, STORE_TIMEOUT, Call::Command(command))
            .await?;
        self.forget_gone_senders(idle).await;
        Ok((
            reply.claimed.into_iter().map(entry).collect(),
            reply.next_stream_id,
        ))
    }

    /// Best effort: drops group members that hold nothing and were silent for twice `idle`
    /// (each tracker that ever ran would stay listed otherwise), checked and deleted in one
    /// script so that a member that reads again in between keeps what it read.
    async fn forget_gone_senders(&self, idle: Duration) {
        let mut script = self.forget.prepare_invoke();
        script
            .key(&self.key)
            .arg(GROUP)
            .arg(&self.consumer)
            .arg(idle.as_millis() as u64 * 2);
        let _ = self
            .call::<i64>(&self.commands, STORE_TIMEOUT, Call::Script(script))
            .await;
    }

    /// Renews this sender's claim on entries it still works on, so no one takes them.
    pub async fn renew(&self, ids: &[String]) -> std::result::Result<(), String> {
        for chunk in ids.chunks(DONE_CHUNK) {
            let mut command = redis::cmd("XCLAIM");
            command
                .arg(&self.key)
                .arg(GROUP)
                .arg(&self.consumer)
                .arg(0)
                .arg(chunk)
                .arg("JUSTID");
            self.call::<redis::Value>(&self.commands, STORE_TIMEOUT, Call::Command(command))
                .await?;
        }
        Ok(())
    }

    /// Acknowledges and deletes settled entries.
    pub async fn done(&self, ids: &[String]) -> std::result::Result<(), String> {
        for chunk in ids.chunks(DONE_CHUNK) {
            let mut script = self.done.prepare_invoke();
            script.key(&self.key).arg(GROUP).arg(chunk);
            self.call::<i64>(&self.commands, STORE_TIMEOUT, Call::Script(script))
                .await?;
        }
        Ok(())
    }

    /// Whether every entry up to `id` (inclusive) has left the stream: delivered or finally
    /// refused, by whichever sender.
    pub async fn settled_through(&self, id: &str) -> std::result::Result<bool, String> {
        let mut command = redis::cmd("XRANGE");
        command.arg(&self.key).arg("-").arg(id).arg("COUNT").arg(1);
        let left: Vec<redis::Value> = self
            .call(&self.commands, STORE_TIMEOUT, Call::Command(command))
            .await?;
        Ok(left.is_empty())
    }
}

/// An entry's id and event; an entry without the event field reads as empty (and is
/// dropped as unreadable by the tracker).
fn entry(id: StreamId) -> Entry {
    let payload = match id.map.get(FIELD) {
        Some(redis::Value::BulkString(bytes)) => bytes.clone(),
        _ => Vec::new(),
    };
    (id.id, payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_named_by_a_hash_and_the_url_stays_secret() {
        let queue = TrackerQueue::new(
            &Secret::new("redis://:hunter2@127.0.0.1:1/0"),
            Some("pk_secret_0123456789"),
        )
        .unwrap();
        assert!(queue.key().starts_with("klaviyo-bridge:events:"));
        assert!(!queue.key().contains("pk_secret"));
        let shown = format!("{queue:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("pk_secret"),
            "{shown}"
        );
        let other = TrackerQueue::new(&Secret::new("redis://127.0.0.1:1/0"), Some("pk_b")).unwrap();
        assert_ne!(queue.key(), other.key());
        assert_ne!(queue.consumer(), other.consumer());
    }

    #[test]
    fn an_unreachable_store_is_an_error_not_a_hang() {
        // Port 1 on loopback refuses at once.
        let queue = TrackerQueue::new(&Secret::new("redis://127.0.0.1:1/0"), Some("k")).unwrap();
        assert!(queue.add(b"{}", 10).is_err());
        assert!(!queue.available(), "after a failure the store rests");
    }
}

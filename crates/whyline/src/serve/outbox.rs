//! The durable store behind the alert receiver: every received alert and
//! every notification waits here (SQLite, one file under `--state`) until it
//! is done, so a restart loses nothing and a re-sent alert is not sent twice.
//!
//! Two tables. `received`: one row per alert firing or resolving (keyed by
//! group, fingerprint, status and start: Alertmanager re-sends the same
//! alert on every group interval), answered once. `outbox`: one row per
//! message and notifier (keyed by the message's alerts), delivered once.
//! A row is written before the receiver answers 2xx and marked delivered only
//! after the notifier answered 2xx.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension as _, params};

/// What the store can fail with, in words for the log and the 503.
pub(crate) type StoreResult<T> = Result<T, String>;

/// The store.
pub(crate) struct Outbox {
    connection: Mutex<Connection>,
    path: PathBuf,
}

/// One alert of a post, as it is stored.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    /// Its dedup key (group, fingerprint, status, start).
    pub(crate) key: String,
    /// Alertmanager's group key.
    pub(crate) group_key: String,
    /// Alertmanager's fingerprint.
    pub(crate) fingerprint: String,
    /// `firing` or `resolved`.
    pub(crate) status: &'static str,
    /// When it started, Unix ms.
    pub(crate) starts_at: i64,
    /// The alert and its group key, as JSON.
    pub(crate) alert: String,
}

/// A received alert that waits for its why.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    /// Its dedup key.
    pub(crate) key: String,
    /// The alert as received (the webhook's JSON of one alert plus its group key).
    pub(crate) alert: serde_json::Value,
}

/// A notification that waits to be delivered.
#[derive(Debug, Clone)]
pub(crate) struct Due {
    /// Row id.
    pub(crate) id: i64,
    /// The message's key (sent as the idempotency key).
    pub(crate) message_key: String,
    /// The notifier's name.
    pub(crate) notifier: String,
    /// The body to POST.
    pub(crate) body: String,
    /// Attempts so far.
    pub(crate) attempts: i64,
}

/// Counts, for `/api/alerts` and the tests.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub(crate) struct Counts {
    /// Alerts received (distinct).
    pub(crate) received: i64,
    /// Alerts still waiting for their why.
    pub(crate) unanswered: i64,
    /// Notifications delivered.
    pub(crate) delivered: i64,
    /// Notifications waiting (never tried, or to be retried).
    pub(crate) waiting: i64,
}

impl Outbox {
    /// Opens (or creates) the store in `dir`.
    pub(crate) fn open(dir: &Path) -> StoreResult<Outbox> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the state folder {}: {e}", dir.display()))?;
        let path = dir.join("alerts.sqlite");
        let connection =
            Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        // WAL with full sync: a committed row survives a crash or power cut.
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA busy_timeout = 5000;
                 CREATE TABLE IF NOT EXISTS received (
                   key TEXT PRIMARY KEY,
                   group_key TEXT NOT NULL,
                   fingerprint TEXT NOT NULL,
                   status TEXT NOT NULL,
                   starts_at INTEGER NOT NULL,
                   alert TEXT NOT NULL,
                   received_at INTEGER NOT NULL,
                   root TEXT,
                   answered INTEGER NOT NULL DEFAULT 0
                 );
                 CREATE INDEX IF NOT EXISTS received_unanswered ON received (answered);
                 CREATE INDEX IF NOT EXISTS received_firing ON received (group_key, fingerprint, starts_at);
                 CREATE TABLE IF NOT EXISTS outbox (
                   id INTEGER PRIMARY KEY,
                   message_key TEXT NOT NULL,
                   notifier TEXT NOT NULL,
                   body TEXT NOT NULL,
                   created_at INTEGER NOT NULL,
                   attempts INTEGER NOT NULL DEFAULT 0,
                   next_at INTEGER NOT NULL,
                   delivered_at INTEGER,
                   last_error TEXT,
                   UNIQUE (message_key, notifier)
                 );
                 CREATE INDEX IF NOT EXISTS outbox_due ON outbox (delivered_at, next_at);",
            )
            .map_err(|e| format!("cannot prepare {}: {e}", path.display()))?;
        Ok(Outbox {
            connection: Mutex::new(connection),
            path,
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(&self, work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let mut connection = self
            .connection
            .lock()
            .map_err(|_| "the alert store is unusable after an earlier failure".to_string())?;
        work(&mut connection).map_err(|e| format!("the alert store ({}): {e}", self.path.display()))
    }

    /// Stores the alerts of one post in one transaction; returns how many were new.
    pub(crate) fn receive(&self, alerts: &[Incoming], now: i64) -> StoreResult<usize> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut new = 0;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO received (key, group_key, fingerprint, status, starts_at, alert, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for a in alerts {
                    new += insert.execute(params![
                        a.key,
                        a.group_key,
                        a.fingerprint,
                        a.status,
                        a.starts_at,
                        a.alert,
                        now
                    ])?;
                }
            }
            tx.commit()?;
            Ok(new)
        })
    }

    /// Alerts that wait for their why, oldest first.
    pub(crate) fn unanswered(&self, limit: usize) -> StoreResult<Vec<Pending>> {
        self.with(|c| {
            let mut select = c.prepare_cached(
                "SELECT key, alert FROM received WHERE answered = 0 ORDER BY received_at, rowid LIMIT ?1",
            )?;
            let rows = select.query_map(params![limit as i64], |row| {
                let text: String = row.get(1)?;
                Ok(Pending {
                    key: row.get(0)?,
                    alert: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
                })
            })?;
            rows.collect()
        })
    }

    /// The root cause named when this alert fired (for its resolve).
    pub(crate) fn root_of_firing(
        &self,
        group_key: &str,
        fingerprint: &str,
        starts_at: i64,
    ) -> StoreResult<Option<String>> {
        self.with(|c| {
            c.query_row(
                "SELECT root FROM received WHERE group_key = ?1 AND fingerprint = ?2 AND status = 'firing'
                 AND starts_at = ?3 AND answered = 1",
                params![group_key, fingerprint, starts_at],
                |row| row.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
        })
    }

    /// Marks alerts answered and queues their notifications, in one transaction.
    pub(crate) fn answer(
        &self,
        answered: &[(String, Option<String>)],
        notifications: &[(String, String, String)],
        now: i64,
    ) -> StoreResult<usize> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut queued = 0;
            {
                let mut mark = tx
                    .prepare_cached("UPDATE received SET answered = 1, root = ?2 WHERE key = ?1")?;
                for (key, root) in answered {
                    mark.execute(params![key, root])?;
                }
                let mut queue = tx.prepare_cached(
                    "INSERT OR IGNORE INTO outbox (message_key, notifier, body, created_at, next_at)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                )?;
                for (message_key, notifier, body) in notifications {
                    queued += queue.execute(params![message_key, notifier, body, now])?;
                }
            }
            tx.commit()?;
            Ok(queued)
        })
    }

    /// Notifications of `notifier` due now, oldest first.
    pub(crate) fn due(&self, notifier: &str, now: i64, limit: usize) -> StoreResult<Vec<Due>> {
        self.with(|c| {
            let mut select = c.prepare_cached(
                "SELECT id, message_key, notifier, body, attempts FROM outbox
                 WHERE delivered_at IS NULL AND notifier = ?1 AND next_at <= ?2 ORDER BY id LIMIT ?3",
            )?;
            let rows = select.query_map(params![notifier, now, limit as i64], |row| {
                Ok(Due {
                    id: row.get(0)?,
                    message_key: row.get(1)?,
                    notifier: row.get(2)?,
                    body: row.get(3)?,
                    attempts: row.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    /// When the next notification of `notifier` is due, if any waits.
    pub(crate) fn next_due(&self, notifier: &str) -> StoreResult<Option<i64>> {
        self.with(|c| {
            c.query_row(
                "SELECT MIN(next_at) FROM outbox WHERE delivered_at IS NULL AND notifier = ?1",
                params![notifier],
                |row| row.get::<_, Option<i64>>(0),
            )
        })
    }

    /// Marks a notification delivered.
    pub(crate) fn delivered(&self, id: i64, now: i64) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE outbox SET delivered_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
                params![id, now],
            )
            .map(|_| ())
        })
    }

    /// Records a failed attempt and when to try again.
    pub(crate) fn failed(&self, id: i64, error: &str, next_at: i64) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_at = ?3 WHERE id = ?1",
                params![id, error, next_at],
            )
            .map(|_| ())
        })
    }

    /// How much is stored and waiting.
    pub(crate) fn counts(&self) -> StoreResult<Counts> {
        self.with(|c| {
            let count = |sql: &str| c.query_row(sql, [], |row| row.get::<_, i64>(0));
            Ok(Counts {
                received: count("SELECT COUNT(*) FROM received")?,
                unanswered: count("SELECT COUNT(*) FROM received WHERE answered = 0")?,
                delivered: count("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL")?,
                waiting: count("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")?,
            })
        })
    }
}

/// The pause before attempt `attempts + 1`: doubling from one second, at most
/// five minutes (exponential back-off, as Alertmanager's own notifiers do).
pub(crate) fn back_off_ms(attempts: i64) -> i64 {
    let exponent = attempts.clamp(0, 20) as u32;
    1_000_i64.saturating_mul(1_i64 << exponent).min(300_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(key: &str) -> Incoming {
        Incoming {
            key: key.to_string(),
            group_key: "g".to_string(),
            fingerprint: key.to_string(),
            status: "firing",
            starts_at: 1,
            alert: "{}".to_string(),
        }
    }

    #[test]
    fn a_re_sent_alert_is_stored_once_and_survives_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Outbox::open(dir.path()).expect("open");
        assert_eq!(
            store
                .receive(&[alert("a"), alert("b")], 10)
                .expect("receive"),
            2
        );
        assert_eq!(store.receive(&[alert("a")], 11).expect("receive"), 0);
        drop(store);
        let store = Outbox::open(dir.path()).expect("reopen");
        assert_eq!(store.unanswered(10).expect("pending").len(), 2);
        let queued = store
            .answer(
                &[("a".to_string(), Some("cpu".to_string()))],
                &[
                    ("m1".to_string(), "slack".to_string(), "{}".to_string()),
                    ("m1".to_string(), "slack".to_string(), "{}".to_string()),
                ],
                12,
            )
            .expect("answer");
        assert_eq!(queued, 1, "the same message is queued once per notifier");
        let due = store.due("slack", 12, 10).expect("due");
        assert_eq!(due.len(), 1);
        store.failed(due[0].id, "down", 20).expect("failed");
        assert!(store.due("slack", 19, 10).expect("due").is_empty());
        assert_eq!(store.next_due("slack").expect("next"), Some(20));
        store.delivered(due[0].id, 21).expect("delivered");
        let counts = store.counts().expect("counts");
        assert_eq!(
            (
                counts.received,
                counts.unanswered,
                counts.delivered,
                counts.waiting
            ),
            (2, 1, 1, 0)
        );
    }

    #[test]
    fn back_off_doubles_and_is_capped() {
        assert_eq!(back_off_ms(0), 1_000);
        assert_eq!(back_off_ms(3), 8_000);
        assert_eq!(back_off_ms(40), 300_000);
    }
}

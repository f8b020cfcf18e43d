//! Calls in SQLite. Each call is one row: its state as JSON and a version.
//! A change reads the row, applies the change and writes it back in one
//! transaction, and only if the version is still the one the party last
//! saw: two parties editing at once never overwrite each other silently; the
//! later one is told to reload.
//!
//! Party links are capabilities: 32 random bytes, handed out once. Only
//! their SHA-256 is stored, so a copy of the database opens no party page.

use std::path::Path;
use std::sync::Mutex;

use base64::Engine;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};

use crate::call::{Call, Refusal};

/// The schema, one step per entry; a database is brought up to date when
/// opened (its `user_version` counts the steps applied).
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE calls (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE party_links (
        key_hash TEXT PRIMARY KEY,
        call_id TEXT NOT NULL REFERENCES calls(id),
        party_id TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE INDEX party_links_by_party ON party_links(call_id, party_id);
",
    "
    CREATE TABLE admissions (
        call_id TEXT NOT NULL REFERENCES calls(id),
        member_id TEXT NOT NULL,
        admitted_at TEXT NOT NULL,
        PRIMARY KEY (call_id, member_id)
    );
",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the schedule database failed: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("the schedule database holds a call it cannot read: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// Why a change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("no such call")]
    NotFound,
    /// Someone changed the call since `expected` was read.
    #[error("the call changed since you loaded it (now version {current}): reload and try again")]
    Conflict { current: u64 },
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for UpdateError {
    fn from(e: rusqlite::Error) -> Self {
        UpdateError::Store(e.into())
    }
}

pub struct Store {
    conn: Mutex<Connection>,
}

/// A party's capability link key, as handed out (never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyLink {
    pub party_id: String,
    pub key: String,
}

fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_key() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

impl Store {
    /// Opens (creating it if need be) the database at `path` and brings
    /// its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        Self::prepare(conn)
    }

    /// A database in memory, for tests.
    pub fn in_memory() -> Result<Store, StoreError> {
        Self::prepare(Connection::open_in_memory()?)
    }

    fn prepare(mut conn: Connection) -> Result<Store, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let applied: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tx = conn.transaction()?;
        for (i, step) in MIGRATIONS.iter().enumerate().skip(applied) {
            tx.execute_batch(step)?;
            tx.pragma_update(None, "user_version", i + 1)?;
        }
        tx.commit()?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding it leaves SQLite consistent (the
        // transaction is rolled back), so the lock is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores a new call; returns each party's link key, to be handed out
    /// once.
    pub fn create(&self, call: &Call) -> Result<Vec<PartyLink>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO calls (id, version, body, created_at) VALUES (?1, 1, ?2, ?3)",
            params![
                call.id,
                serde_json::to_string(call)?,
                call.created_at.to_rfc3339()
            ],
        )?;
        let mut links = Vec::with_capacity(call.parties.len());
        for party in &call.parties {
            let key = new_key();
            tx.execute(
                "INSERT INTO party_links (key_hash, call_id, party_id) VALUES (?1, ?2, ?3)",
                params![hash(&key), call.id, party.id],
            )?;
            links.push(PartyLink {
                party_id: party.id.clone(),
                key,
            });
        }
        tx.commit()?;
        Ok(links)
    }

    /// The call and party a link key opens; `None` for an unknown or
    /// revoked key.
    pub fn party_of(&self, key: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT call_id, party_id FROM party_links WHERE key_hash = ?1 AND revoked_at IS NULL",
                params![hash(key)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Revokes a party's links and hands out a new one.
    pub fn replace_link(
        &self,
        call_id: &str,
        party_id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<PartyLink, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE party_links SET revoked_at = ?3 WHERE call_id = ?1 AND party_id = ?2 AND revoked_at IS NULL",
            params![call_id, party_id, now.to_rfc3339()],
        )?;
        let key = new_key();
        tx.execute(
            "INSERT INTO party_links (key_hash, call_id, party_id) VALUES (?1, ?2, ?3)",
            params![hash(&key), call_id, party_id],
        )?;
        tx.commit()?;
        Ok(PartyLink {
            party_id: party_id.to_string(),
            key,
        })
    }

    /// The call and its version.
    pub fn load(&self, call_id: &str) -> Result<Option<(Call, u64)>, StoreError> {
        let row: Option<(String, u64)> = self
            .conn()
            .query_row(
                "SELECT body, version FROM calls WHERE id = ?1",
                params![call_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(body, version)| Ok((serde_json::from_str(&body)?, version)))
            .transpose()
    }

    /// Remembers that a host let a member into the call, so that it does
    /// not wait in the lobby again, even after a restart. Kept apart from
    /// the call's row: an admission is not an edit, and must not make a
    /// party's pending edit conflict.
    pub fn admit(
        &self,
        call_id: &str,
        member_id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO admissions (call_id, member_id, admitted_at)
             SELECT id, ?2, ?3 FROM calls WHERE id = ?1",
            params![call_id, member_id, now.to_rfc3339()],
        )?;
        Ok(())
    }

    /// Whether a host has let this member into the call before.
    pub fn is_admitted(&self, call_id: &str, member_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM admissions WHERE call_id = ?1 AND member_id = ?2",
                params![call_id, member_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Applies `change` to the call if it is still at version `expected`,
    /// all in one transaction: on any refusal nothing is stored. Returns
    /// the call as stored and its new version.
    pub fn update(
        &self,
        call_id: &str,
        expected: u64,
        change: impl FnOnce(&mut Call) -> Result<(), Refusal>,
    ) -> Result<(Call, u64), UpdateError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(String, u64)> = tx
            .query_row(
                "SELECT body, version FROM calls WHERE id = ?1",
                params![call_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (body, version) = row.ok_or(UpdateError::NotFound)?;
        if version != expected {
            return Err(UpdateError::Conflict { current: version });
        }
        let mut call: Call = serde_json::from_str(&body).map_err(StoreError::from)?;
        change(&mut call)?;
        let version = version + 1;
        tx.execute(
            "UPDATE calls SET body = ?2, version = ?3 WHERE id = ?1",
            params![
                call_id,
                serde_json::to_string(&call).map_err(StoreError::from)?,
                version
            ],
        )?;
        tx.commit()?;
        Ok((call, version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::NewCall;

    fn call() -> Call {
        let new: NewCall = serde_json::from_value(serde_json::json!({
            "title": "T", "duration_minutes": 60,
            "parties": [{"name": "A", "time_zone": "UTC"}, {"name": "B", "time_zone": "Asia/Tokyo"}]
        }))
        .unwrap();
        Call::create(new, "org", "2026-11-25T00:00:00Z".parse().unwrap()).unwrap()
    }

    #[test]
    fn links_open_their_party_until_replaced_and_only_hashes_are_stored() {
        let store = Store::in_memory().unwrap();
        let call = call();
        let links = store.create(&call).unwrap();
        assert_eq!(links.len(), 2);
        let (call_id, party_id) = store.party_of(&links[1].key).unwrap().unwrap();
        assert_eq!(
            (call_id.as_str(), party_id.as_str()),
            (call.id.as_str(), call.parties[1].id.as_str())
        );
        assert_eq!(store.party_of("guess").unwrap(), None);
        let stored: Vec<String> = store
            .conn()
            .prepare("SELECT key_hash FROM party_links")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(!stored.contains(&links[0].key));
        let new = store
            .replace_link(&call.id, &links[1].party_id, call.created_at)
            .unwrap();
        assert_eq!(
            store.party_of(&links[1].key).unwrap(),
            None,
            "the old link is revoked"
        );
        assert!(store.party_of(&new.key).unwrap().is_some());
        assert!(
            store.party_of(&links[0].key).unwrap().is_some(),
            "the other party's still works"
        );
    }

    #[test]
    fn a_stale_version_conflicts_and_a_refusal_stores_nothing() {
        let store = Store::in_memory().unwrap();
        let call = call();
        store.create(&call).unwrap();
        let (_, v2) = store
            .update(&call.id, 1, |c| {
                c.title = "Renamed".into();
                Ok(())
            })
            .unwrap();
        assert_eq!(v2, 2);
        let stale = store.update(&call.id, 1, |c| {
            c.title = "Lost".into();
            Ok(())
        });
        assert!(matches!(stale, Err(UpdateError::Conflict { current: 2 })));
        let refused = store.update(&call.id, 2, |c| {
            c.title = "Half".into();
            Err(Refusal::NotACandidate)
        });
        assert!(matches!(refused, Err(UpdateError::Refused(_))));
        let (stored, version) = store.load(&call.id).unwrap().unwrap();
        assert_eq!((stored.title.as_str(), version), ("Renamed", 2));
        assert!(matches!(
            store.update("nope", 1, |_| Ok(())),
            Err(UpdateError::NotFound)
        ));
    }

    #[test]
    fn admissions_are_remembered_apart_from_the_call_version() {
        let store = Store::in_memory().unwrap();
        let call = call();
        store.create(&call).unwrap();
        let member = "member-1";
        assert!(!store.is_admitted(&call.id, member).unwrap());
        store.admit(&call.id, member, call.created_at).unwrap();
        store.admit(&call.id, member, call.created_at).unwrap();
        assert!(store.is_admitted(&call.id, member).unwrap());
        assert!(!store.is_admitted(&call.id, "someone-else").unwrap());
        assert_eq!(
            store.load(&call.id).unwrap().unwrap().1,
            1,
            "no new version"
        );
        // An admission to a call that does not exist stores nothing.
        store
            .admit("no-such-call", member, call.created_at)
            .unwrap();
        assert!(!store.is_admitted("no-such-call", member).unwrap());
    }

    #[test]
    fn a_reopened_database_has_everything() {
        let dir = std::env::temp_dir().join(format!("hotline-schedule-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("schedule.db");
        let call = call();
        let member = "member-1";
        let links = {
            let store = Store::open(&path).unwrap();
            let links = store.create(&call).unwrap();
            store.admit(&call.id, member, call.created_at).unwrap();
            links
        };
        let store = Store::open(&path).unwrap();
        assert!(store.party_of(&links[0].key).unwrap().is_some());
        assert!(store.is_admitted(&call.id, member).unwrap());
        assert_eq!(store.load(&call.id).unwrap().unwrap().0, call);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

//! The audit log: one JSON object per line, appended to `audit.log` in the
//! data directory. Who joined, left, was refused, published. Never a token,
//! a secret or a key.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::error;

/// A handle for recording events; cheap to clone.
#[derive(Debug, Clone)]
pub struct AuditLog {
    lines: mpsc::UnboundedSender<String>,
}

/// Owns the writer task; `close` flushes what was recorded.
pub struct AuditWriter {
    task: JoinHandle<()>,
}

impl AuditLog {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("audit.log")
    }

    /// Opens (creating or appending) the log and starts its writer task.
    pub async fn open(data_dir: &Path) -> std::io::Result<(AuditLog, AuditWriter)> {
        tokio::fs::create_dir_all(data_dir).await?;
        let path = Self::path(data_dir);
        let mut options = tokio::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&path).await?;
        let (lines, mut rx) = mpsc::unbounded_channel::<String>();
        let task = tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                if let Err(e) = file.write_all(line.as_bytes()).await {
                    error!(path = %path.display(), "audit log write failed: {e}");
                }
            }
            let _ = file.flush().await;
        });
        Ok((AuditLog { lines }, AuditWriter { task }))
    }

    /// Records `event` with its fields (an object) and the current time.
    pub fn record(&self, event: &str, fields: Value) {
        let mut entry = json!({ "ts": now_rfc3339(), "event": event });
        if let (Some(entry), Value::Object(fields)) = (entry.as_object_mut(), fields) {
            entry.extend(fields);
        }
        let mut line = entry.to_string();
        line.push('\n');
        let _ = self.lines.send(line);
    }
}

impl AuditWriter {
    /// Waits until every line recorded before all handles were dropped is
    /// written.
    pub async fn close(self) {
        let _ = self.task.await;
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

//! Scheduled calls: the parties (delegations) of a call, each in its own
//! time zone, say when they can; Hotline lists the slots that suit
//! everyone, and the time is agreed once every party accepts the same one.
//! Everything is stored in SQLite, each change in one transaction against
//! the version the party last saw. See `docs/scheduling.md`.

pub mod call;
pub mod ics;
pub mod slots;
pub mod store;
pub mod view;

/// Where the schedule's time comes from: the system clock, or one a test
/// moves (so that tests reach a call's time without waiting).
#[derive(Clone)]
pub struct Clock(std::sync::Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>);

impl Clock {
    pub fn system() -> Clock {
        Clock(std::sync::Arc::new(chrono::Utc::now))
    }

    pub fn new(now: impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync + 'static) -> Clock {
        Clock(std::sync::Arc::new(now))
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

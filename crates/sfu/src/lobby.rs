//! The lobby: who waits for a host to let them into a room, and which
//! identities have been let in already (they do not wait again while the
//! room exists). The room decides when to knock, admit and refuse; this
//! keeps the list and says what each side must be told.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use hotline_proto::{ServerMessage, WaitingParticipant};

use crate::ids::ParticipantId;
use crate::room::JoinRequest;

/// Most people waiting at once: a bound on what joins that nobody admits
/// can hold, far above any real call.
pub const MAX_WAITING: usize = 200;

/// Someone waiting to be let in, with what they asked to join as.
#[derive(Debug)]
pub(crate) struct Waiter {
    pub id: ParticipantId,
    pub request: JoinRequest,
    since: Instant,
    since_unix_ms: u64,
    last_seen: Instant,
    /// What `waiting` last told them about hosts being present.
    told_hosts_present: Option<bool>,
}

#[derive(Debug, Default)]
pub(crate) struct Lobby {
    /// Whether people without a host grant wait here before entering.
    pub enabled: bool,
    /// In the order they came.
    waiting: Vec<Waiter>,
    /// Identities that entered (admitted, or in while the lobby was off).
    admitted: HashSet<String>,
}

impl Lobby {
    pub fn new(enabled: bool) -> Lobby {
        Lobby {
            enabled,
            ..Lobby::default()
        }
    }

    /// Whether this request has to wait for a host.
    pub fn must_wait(&self, request: &JoinRequest) -> bool {
        self.enabled
            && !request.grants.host
            && !request.admitted
            && !self.admitted.contains(&request.identity)
    }

    pub fn is_full(&self) -> bool {
        self.waiting.len() >= MAX_WAITING
    }

    /// Adds a waiter; returns the one of the same identity it replaces (an
    /// earlier tab of the same person), if any.
    pub fn knock(
        &mut self,
        now: Instant,
        unix_ms: u64,
        id: ParticipantId,
        request: JoinRequest,
    ) -> Option<Waiter> {
        let replaced = self
            .waiting
            .iter()
            .position(|w| w.request.identity == request.identity)
            .map(|i| self.waiting.remove(i));
        self.waiting.push(Waiter {
            id,
            request,
            since: now,
            since_unix_ms: unix_ms,
            last_seen: now,
            told_hosts_present: None,
        });
        replaced
    }

    /// Remembers an identity as let in.
    pub fn remember(&mut self, identity: &str) {
        self.admitted.insert(identity.to_string());
    }

    pub fn is_waiting(&self, id: &ParticipantId) -> bool {
        self.waiting.iter().any(|w| &w.id == id)
    }

    /// The waiter a host named by its participant id.
    pub fn named(&self, participant_id: &str) -> Option<ParticipantId> {
        self.waiting
            .iter()
            .find(|w| w.id.as_str() == participant_id)
            .map(|w| w.id.clone())
    }

    pub fn take(&mut self, id: &ParticipantId) -> Option<Waiter> {
        let i = self.waiting.iter().position(|w| &w.id == id)?;
        Some(self.waiting.remove(i))
    }

    /// Everyone waiting, in the order they came.
    pub fn take_all(&mut self) -> Vec<Waiter> {
        std::mem::take(&mut self.waiting)
    }

    pub fn touch(&mut self, id: &ParticipantId, now: Instant) {
        if let Some(w) = self.waiting.iter_mut().find(|w| &w.id == id) {
            w.last_seen = now;
        }
    }

    /// Takes out the waiters silent for `timeout` (their connection died
    /// without closing).
    pub fn take_silent(&mut self, now: Instant, timeout: Duration) -> Vec<Waiter> {
        let (silent, live) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| now.saturating_duration_since(w.last_seen) >= timeout);
        self.waiting = live;
        silent
    }

    /// When the next waiter falls silent for `timeout`.
    pub fn next_timeout(&self, timeout: Duration) -> Option<Instant> {
        self.waiting.iter().map(|w| w.last_seen + timeout).min()
    }

    pub fn ids(&self) -> impl Iterator<Item = &ParticipantId> {
        self.waiting.iter().map(|w| &w.id)
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The `waiting` messages owed: to each waiter not yet told that hosts
    /// are (or are not) present.
    pub fn news_for_waiters(
        &mut self,
        room: &str,
        hosts_present: bool,
    ) -> Vec<(ParticipantId, ServerMessage)> {
        self.waiting
            .iter_mut()
            .filter(|w| w.told_hosts_present != Some(hosts_present))
            .map(|w| {
                w.told_hosts_present = Some(hosts_present);
                (
                    w.id.clone(),
                    ServerMessage::Waiting {
                        participant_id: w.id.to_string(),
                        room: room.to_string(),
                        name: w.request.name.clone(),
                        hosts_present,
                    },
                )
            })
            .collect()
    }

    /// What hosts see: whether the lobby is on and who waits.
    pub fn for_hosts(&self) -> ServerMessage {
        let mut waiting: Vec<&Waiter> = self.waiting.iter().collect();
        waiting.sort_by_key(|w| w.since);
        ServerMessage::Lobby {
            enabled: self.enabled,
            waiting: waiting
                .into_iter()
                .map(|w| WaitingParticipant {
                    participant_id: w.id.to_string(),
                    identity: w.request.identity.clone(),
                    name: w.request.name.clone(),
                    since_ms: w.since_unix_ms,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_proto::Grants;

    fn request(identity: &str, host: bool) -> JoinRequest {
        JoinRequest {
            identity: identity.into(),
            name: identity.to_uppercase(),
            grants: Grants {
                host,
                ..Grants::default()
            },
            estimate_bandwidth: true,
            admitted: false,
            languages: Vec::new(),
            e2ee: false,
        }
    }

    #[test]
    fn only_guests_never_let_in_wait_and_only_while_it_is_on() {
        let mut lobby = Lobby::new(false);
        assert!(!lobby.must_wait(&request("guest", false)));
        lobby.enabled = true;
        assert!(lobby.must_wait(&request("guest", false)));
        assert!(!lobby.must_wait(&request("host", true)));
        assert!(!lobby.must_wait(&JoinRequest {
            admitted: true,
            ..request("guest", false)
        }));
        lobby.remember("guest");
        assert!(!lobby.must_wait(&request("guest", false)));
    }

    #[test]
    fn a_second_knock_of_one_identity_replaces_the_first_and_waiters_hear_of_hosts_once() {
        let now = Instant::now();
        let mut lobby = Lobby::new(true);
        let first = ParticipantId::random();
        assert!(lobby
            .knock(now, 1, first.clone(), request("guest", false))
            .is_none());
        let second = ParticipantId::random();
        let replaced = lobby.knock(now, 2, second.clone(), request("guest", false));
        assert_eq!(replaced.map(|w| w.id), Some(first));
        assert_eq!(lobby.ids().count(), 1);
        assert_eq!(lobby.news_for_waiters("r", false).len(), 1);
        assert!(lobby.news_for_waiters("r", false).is_empty());
        assert_eq!(lobby.news_for_waiters("r", true).len(), 1);
        assert_eq!(lobby.named(second.as_str()), Some(second.clone()));
        assert!(lobby.take(&second).is_some());
        assert!(lobby.is_empty());
    }

    #[test]
    fn silent_waiters_are_taken_out() {
        let now = Instant::now();
        let mut lobby = Lobby::new(true);
        let quiet = ParticipantId::random();
        let chatty = ParticipantId::random();
        lobby.knock(now, 1, quiet.clone(), request("quiet", false));
        lobby.knock(now, 1, chatty.clone(), request("chatty", false));
        let timeout = Duration::from_secs(20);
        lobby.touch(&chatty, now + Duration::from_secs(10));
        assert_eq!(lobby.next_timeout(timeout), Some(now + timeout));
        let gone = lobby.take_silent(now + timeout, timeout);
        assert_eq!(gone.iter().map(|w| &w.id).collect::<Vec<_>>(), [&quiet]);
        assert!(lobby.is_waiting(&chatty));
    }
}

//! A scheduled call and its negotiation, as plain data: what each party
//! said, and the rules that turn it into an agreed time. No storage, no
//! clock: `now` is passed in.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::slots::{self, Interval, LocalWindow};

/// Limits on what one call may hold: enough for any delegation, small
/// enough that a hostile organizer or party cannot grow it without bound.
pub const MAX_PARTIES: usize = 8;
pub const MAX_MEMBERS: usize = 50;
pub const MAX_WINDOWS: usize = 50;
pub const MAX_TEXT_CHARS: usize = 200;
pub const MAX_LANGUAGES: usize = 10;
/// Windows may reach this far ahead.
pub const MAX_DAYS_AHEAD: i64 = 366;
pub const MIN_DURATION_MINUTES: u32 = 15;
pub const MAX_DURATION_MINUTES: u32 = 8 * 60;
pub const MAX_AGENDA_ITEMS: usize = 50;
/// The log kept for each call (oldest dropped first).
const MAX_EVENTS: usize = 200;

/// The rooms of scheduled calls are named this and the call's id; they
/// exist even where rooms are not created on demand.
pub const ROOM_PREFIX: &str = "call-";

/// A member's part in the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Principal,
    Adviser,
    Interpreter,
    NoteTaker,
    Observer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// For an interpreter: the language pair, e.g. `["ru", "en"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<[String; 2]>,
    /// Bumped to revoke the member's personal link (it is derived from
    /// this).
    #[serde(default)]
    pub link_generation: u32,
    /// Made a host by the organizer (principals always are: see
    /// [`Member::is_host`]).
    #[serde(default)]
    pub host: bool,
}

impl Member {
    /// Whether the member hosts the call: admits from the lobby, mutes,
    /// removes, locks. The principals do, and whoever the organizer made one.
    pub fn is_host(&self) -> bool {
        self.host || self.role == Role::Principal
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Party {
    pub id: String,
    pub name: String,
    /// IANA name, e.g. `Europe/Moscow`.
    pub time_zone: String,
    pub members: Vec<Member>,
    /// When it can, in its own local time; `None` until it said.
    pub windows: Option<Vec<LocalWindow>>,
    /// The slot it accepts, if any.
    pub accepted: Option<DateTime<Utc>>,
}

impl Party {
    pub fn zone(&self) -> Tz {
        // Checked when the call was created.
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }
}

/// Something that happened in the negotiation, shown to every party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// The party that did it; `None` for the organizer.
    pub party_id: Option<String>,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    Created,
    WindowsChanged,
    /// The first party to accept a slot proposes it.
    Proposed {
        start: DateTime<Utc>,
    },
    Accepted {
        start: DateTime<Utc>,
    },
    Withdrew,
    Agreed {
        start: DateTime<Utc>,
    },
    /// The agreed time no longer holds: every party must agree again (and
    /// approve its announcement again).
    Reopened {
        start: DateTime<Utc>,
    },
    AgendaProposed {
        item_id: String,
        title: String,
    },
    AgendaAccepted {
        item_id: String,
    },
    AgendaWithdrawn {
        item_id: String,
    },
    AgendaReordered,
    ReleaseApproved,
    ReleaseWithdrawn,
    /// Every party approved: the agreed time is public.
    Released,
}

/// An agenda item a party proposed; agreed once every party accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaItem {
    pub id: String,
    pub title: String,
    pub proposed_by: String,
    pub accepted_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub id: String,
    /// Who created it (the identity of the organizer's credential): only
    /// they manage it.
    pub organizer: String,
    pub title: String,
    pub duration_minutes: u32,
    /// The call's languages, e.g. `["ru", "en"]`.
    pub languages: Vec<String>,
    pub e2ee_required: bool,
    pub parties: Vec<Party>,
    pub agreed: Option<DateTime<Utc>>,
    /// In the order the parties set.
    #[serde(default)]
    pub agenda: Vec<AgendaItem>,
    /// The parties that approve announcing the agreed time.
    #[serde(default)]
    pub release_approved_by: Vec<String>,
    /// Every party approved: the agreed time is public.
    #[serde(default)]
    pub released: bool,
    pub events: Vec<Event>,
    pub created_at: DateTime<Utc>,
}

/// What an organizer sends to create a call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCall {
    pub title: String,
    pub duration_minutes: u32,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub e2ee_required: bool,
    pub parties: Vec<NewParty>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewParty {
    pub name: String,
    pub time_zone: String,
    #[serde(default)]
    pub members: Vec<NewMember>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub languages: Option<[String; 2]>,
    /// Made a host of the call besides the principals (who always are).
    #[serde(default)]
    pub host: bool,
}

/// Why a request is refused: said to the user as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Invalid(String),
    #[error("that slot is not one that suits every party")]
    NotACandidate,
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::Invalid(message.into())
}

/// Trimmed, non-empty, not too long, no control characters.
fn text(what: &str, value: &str) -> Result<String, Refusal> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(format!("{what} must not be empty")));
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(format!(
            "{what} is longer than {MAX_TEXT_CHARS} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(format!("{what} has control characters")));
    }
    Ok(value.to_string())
}

/// A language tag like `en`, `ru` or `pt-BR`, in its canonical case (the
/// rooms' interpretation channels are named by it).
fn language(value: &str) -> Result<String, Refusal> {
    hotline_proto::Language::parse(value)
        .map(|l| l.as_str().to_string())
        .ok_or_else(|| invalid(format!("`{value}` is not a language tag like en or pt-BR")))
}

/// A new random id: 16 bytes, URL-safe.
pub fn new_id() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

impl Call {
    /// A call as the organizer described it, checked.
    pub fn create(new: NewCall, organizer: &str, now: DateTime<Utc>) -> Result<Call, Refusal> {
        let title = text("the title", &new.title)?;
        if !(MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES).contains(&new.duration_minutes) {
            return Err(invalid(format!(
                "the duration must be {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES} minutes"
            )));
        }
        if new.languages.len() > MAX_LANGUAGES {
            return Err(invalid(format!("at most {MAX_LANGUAGES} languages")));
        }
        let languages = new
            .languages
            .iter()
            .map(|l| language(l))
            .collect::<Result<Vec<_>, _>>()?;
        if !(2..=MAX_PARTIES).contains(&new.parties.len()) {
            return Err(invalid(format!("a call has 2 to {MAX_PARTIES} parties")));
        }
        let mut parties = Vec::with_capacity(new.parties.len());
        for p in new.parties {
            let name = text("a party's name", &p.name)?;
            if parties.iter().any(|q: &Party| q.name == name) {
                return Err(invalid(format!("two parties are named {name}")));
            }
            let zone: Tz = p.time_zone.parse().map_err(|_| {
                invalid(format!(
                    "`{}` is not a time zone: use an IANA name like Europe/Moscow or America/New_York",
                    p.time_zone
                ))
            })?;
            if p.members.len() > MAX_MEMBERS {
                return Err(invalid(format!(
                    "a party has at most {MAX_MEMBERS} members"
                )));
            }
            let members = p
                .members
                .into_iter()
                .map(|m| {
                    let languages = match (m.role, m.languages) {
                        (Role::Interpreter, Some([from, to])) => {
                            let pair = [language(&from)?, language(&to)?];
                            // The call's room has a channel per language of the
                            // call: an interpreter needs both of its pair.
                            if let Some(missing) = pair.iter().find(|l| !languages.contains(l)) {
                                return Err(invalid(format!(
                                    "interpreter {} works into {missing}: list it among the call's languages",
                                    m.name.trim()
                                )));
                            }
                            if pair[0] == pair[1] {
                                return Err(invalid("an interpreter's two languages must differ"));
                            }
                            Some(pair)
                        }
                        (Role::Interpreter, None) => {
                            return Err(invalid(format!(
                                "interpreter {} needs a language pair",
                                m.name.trim()
                            )))
                        }
                        (_, Some(_)) => {
                            return Err(invalid("only interpreters have a language pair"))
                        }
                        (_, None) => None,
                    };
                    Ok(Member {
                        id: new_id(),
                        name: text("a member's name", &m.name)?,
                        role: m.role,
                        languages,
                        link_generation: 0,
                        host: m.host,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            parties.push(Party {
                id: new_id(),
                name,
                time_zone: zone.name().to_string(),
                members,
                windows: None,
                accepted: None,
            });
        }
        Ok(Call {
            id: new_id(),
            organizer: organizer.to_string(),
            title,
            duration_minutes: new.duration_minutes,
            languages,
            e2ee_required: new.e2ee_required,
            parties,
            agreed: None,
            agenda: Vec::new(),
            release_approved_by: Vec::new(),
            released: false,
            events: vec![Event {
                at: now,
                party_id: None,
                kind: EventKind::Created,
            }],
            created_at: now,
        })
    }

    pub fn duration(&self) -> Duration {
        Duration::minutes(i64::from(self.duration_minutes))
    }

    pub fn party(&self, id: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.id == id)
    }

    /// A member and its party.
    pub fn member(&self, id: &str) -> Option<(&Party, &Member)> {
        self.parties
            .iter()
            .find_map(|p| Some((p, p.members.iter().find(|m| m.id == id)?)))
    }

    /// How long before the agreed start members may join.
    pub const JOIN_EARLY: Duration = Duration::minutes(15);

    /// When members may join: from [`Self::JOIN_EARLY`] before the agreed
    /// start to its end; `None` while no time is agreed.
    pub fn join_window(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let start = self.agreed?;
        Some((start - Self::JOIN_EARLY, start + self.duration()))
    }

    /// The room the call takes place in.
    pub fn room(&self) -> String {
        format!("{ROOM_PREFIX}{}", self.id)
    }

    /// The id of the call a room belongs to, when it is a scheduled call's
    /// room.
    pub fn id_of_room(room: &str) -> Option<&str> {
        room.strip_prefix(ROOM_PREFIX)
    }

    fn intervals(&self) -> Option<Vec<Vec<Interval>>> {
        self.parties
            .iter()
            .map(|p| Some(slots::to_intervals(p.zone(), p.windows.as_deref()?)))
            .collect()
    }

    /// The slots that suit every party, from `now` on; empty until every
    /// party has said when it can.
    pub fn candidates(&self, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        self.intervals()
            .map(|i| slots::candidate_slots(&i, self.duration(), now))
            .unwrap_or_default()
    }

    fn fits(&self, start: DateTime<Utc>) -> bool {
        self.intervals()
            .is_some_and(|i| slots::fits(&i, self.duration(), start))
    }

    fn log(&mut self, at: DateTime<Utc>, party_id: Option<&str>, kind: EventKind) {
        if self.events.len() == MAX_EVENTS {
            self.events.remove(0);
        }
        self.events.push(Event {
            at,
            party_id: party_id.map(str::to_string),
            kind,
        });
    }

    /// Sets when a party can, in its local time. Acceptances the new
    /// windows rule out are dropped; an agreed time they rule out is
    /// reopened.
    pub fn set_windows(
        &mut self,
        party_id: &str,
        windows: Vec<LocalWindow>,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let party = self.party_index(party_id)?;
        if windows.len() > MAX_WINDOWS {
            return Err(invalid(format!("at most {MAX_WINDOWS} windows")));
        }
        let zone = self.parties[party].zone();
        let latest = now + Duration::days(MAX_DAYS_AHEAD);
        for w in &windows {
            let show = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M").to_string();
            if w.end <= w.start {
                return Err(invalid(format!(
                    "the window from {} to {} ends before it starts",
                    show(w.start),
                    show(w.end)
                )));
            }
            let interval = slots::to_intervals(zone, std::slice::from_ref(w));
            let Some(i) = interval.first() else {
                return Err(invalid(format!(
                    "the window from {} to {} is empty in {}",
                    show(w.start),
                    show(w.end),
                    zone.name()
                )));
            };
            if i.end <= now {
                return Err(invalid(format!(
                    "the window from {} to {} is in the past",
                    show(w.start),
                    show(w.end)
                )));
            }
            if i.start > latest {
                return Err(invalid(format!(
                    "windows may reach at most {MAX_DAYS_AHEAD} days ahead"
                )));
            }
        }
        self.parties[party].windows = Some(windows);
        self.log(now, Some(party_id), EventKind::WindowsChanged);
        for p in 0..self.parties.len() {
            if let Some(start) = self.parties[p].accepted {
                if !self.fits(start) {
                    self.parties[p].accepted = None;
                }
            }
        }
        if let Some(start) = self.agreed {
            if !self.fits(start) {
                self.reopen(start, party_id, now);
            }
        }
        Ok(())
    }

    /// The agreed time no longer holds: nor does its announcement.
    fn reopen(&mut self, start: DateTime<Utc>, party_id: &str, now: DateTime<Utc>) {
        self.agreed = None;
        self.release_approved_by.clear();
        self.released = false;
        self.log(now, Some(party_id), EventKind::Reopened { start });
    }

    /// A party accepts a slot (the first to accept one proposes it), or
    /// withdraws its acceptance (`None`). The time is agreed when every
    /// party accepts the same slot; a party that changes its mind after
    /// that reopens it.
    pub fn accept(
        &mut self,
        party_id: &str,
        start: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let party = self.party_index(party_id)?;
        if let Some(start) = start {
            if start < now || !self.fits(start) || !self.on_grid(start) {
                return Err(Refusal::NotACandidate);
            }
        }
        if self.parties[party].accepted == start {
            return Ok(());
        }
        self.parties[party].accepted = start;
        let kind = match start {
            Some(start)
                if self
                    .parties
                    .iter()
                    .enumerate()
                    .all(|(i, p)| i == party || p.accepted != Some(start)) =>
            {
                EventKind::Proposed { start }
            }
            Some(start) => EventKind::Accepted { start },
            None => EventKind::Withdrew,
        };
        self.log(now, Some(party_id), kind);
        if let Some(agreed) = self.agreed {
            if start != Some(agreed) {
                self.reopen(agreed, party_id, now);
            }
        }
        if let Some(start) = start {
            if self.parties.iter().all(|p| p.accepted == Some(start)) {
                self.agreed = Some(start);
                self.log(now, None, EventKind::Agreed { start });
            }
        }
        Ok(())
    }

    /// The index of the party with this id.
    fn party_index(&self, party_id: &str) -> Result<usize, Refusal> {
        self.parties
            .iter()
            .position(|p| p.id == party_id)
            .ok_or_else(|| invalid("no such party"))
    }

    /// A party proposes an agenda item (and accepts it); returns its id.
    pub fn propose_item(
        &mut self,
        party_id: &str,
        title: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Refusal> {
        self.party_index(party_id)?;
        let title = text("an agenda item", title)?;
        if self.agenda.len() >= MAX_AGENDA_ITEMS {
            return Err(invalid(format!(
                "the agenda has at most {MAX_AGENDA_ITEMS} items"
            )));
        }
        let id = new_id();
        self.agenda.push(AgendaItem {
            id: id.clone(),
            title: title.clone(),
            proposed_by: party_id.to_string(),
            accepted_by: vec![party_id.to_string()],
        });
        self.log(
            now,
            Some(party_id),
            EventKind::AgendaProposed {
                item_id: id.clone(),
                title,
            },
        );
        Ok(id)
    }

    /// A party accepts an agenda item, or withdraws its acceptance.
    pub fn accept_item(
        &mut self,
        party_id: &str,
        item_id: &str,
        accept: bool,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        self.party_index(party_id)?;
        let item = self
            .agenda
            .iter_mut()
            .find(|i| i.id == item_id)
            .ok_or_else(|| invalid("no such agenda item"))?;
        let accepted = item.accepted_by.iter().any(|p| p == party_id);
        let kind = match (accept, accepted) {
            (true, false) => {
                item.accepted_by.push(party_id.to_string());
                EventKind::AgendaAccepted {
                    item_id: item_id.to_string(),
                }
            }
            (false, true) => {
                item.accepted_by.retain(|p| p != party_id);
                EventKind::AgendaWithdrawn {
                    item_id: item_id.to_string(),
                }
            }
            _ => return Ok(()),
        };
        self.log(now, Some(party_id), kind);
        Ok(())
    }

    /// Whether every party accepts the item.
    pub fn item_agreed(&self, item: &AgendaItem) -> bool {
        self.parties
            .iter()
            .all(|p| item.accepted_by.contains(&p.id))
    }

    /// Puts the agenda in the order of `item_ids` (every item, once).
    pub fn reorder(
        &mut self,
        party_id: &str,
        item_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        self.party_index(party_id)?;
        let every_item_once = item_ids.len() == self.agenda.len()
            && self
                .agenda
                .iter()
                .all(|item| item_ids.iter().filter(|id| **id == item.id).count() == 1);
        if !every_item_once {
            return Err(invalid("the new order must list every agenda item once"));
        }
        let ordered = item_ids
            .iter()
            .filter_map(|id| self.agenda.iter().find(|item| &item.id == id).cloned())
            .collect();
        self.agenda = ordered;
        self.log(now, Some(party_id), EventKind::AgendaReordered);
        Ok(())
    }

    /// A party approves announcing the agreed time, or withdraws its
    /// approval. Once every party approves, the time is public.
    pub fn approve_release(
        &mut self,
        party_id: &str,
        approve: bool,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        self.party_index(party_id)?;
        if self.agreed.is_none() {
            return Err(invalid(
                "the time must be agreed before it can be announced",
            ));
        }
        let approved = self.release_approved_by.iter().any(|p| p == party_id);
        match (approve, approved) {
            (true, false) => {
                self.release_approved_by.push(party_id.to_string());
                self.log(now, Some(party_id), EventKind::ReleaseApproved);
                if !self.released
                    && self
                        .parties
                        .iter()
                        .all(|p| self.release_approved_by.contains(&p.id))
                {
                    self.released = true;
                    self.log(now, None, EventKind::Released);
                }
            }
            (false, true) if self.released => {
                return Err(invalid("the time is already announced"));
            }
            (false, true) => {
                self.release_approved_by.retain(|p| p != party_id);
                self.log(now, Some(party_id), EventKind::ReleaseWithdrawn);
            }
            _ => {}
        }
        Ok(())
    }

    fn on_grid(&self, start: DateTime<Utc>) -> bool {
        start.timestamp().rem_euclid(slots::GRID_MINUTES * 60) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn local(d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    /// Moscow 16:00-19:00 (13-16 UTC), Washington 09:00-12:00 (14-17 UTC),
    /// on 3 December: slots from 14:00 to 15:00 UTC.
    fn both_can_on_3_december(call: &mut Call, now: DateTime<Utc>) {
        let window = |from, to| {
            vec![LocalWindow {
                start: local(3, from),
                end: local(3, to),
            }]
        };
        let (m, w) = (call.parties[0].id.clone(), call.parties[1].id.clone());
        call.set_windows(&m, window(16, 19), now).unwrap();
        call.set_windows(&w, window(9, 12), now).unwrap();
    }

    fn two_party_call(now: DateTime<Utc>) -> Call {
        let new: NewCall = serde_json::from_value(serde_json::json!({
            "title": "Strategic stability",
            "duration_minutes": 60,
            "languages": ["ru", "en"],
            "parties": [
                {"name": "Moscow", "time_zone": "Europe/Moscow", "members": [
                    {"name": "A", "role": "principal"},
                    {"name": "I", "role": "interpreter", "languages": ["ru", "en"]}
                ]},
                {"name": "Washington", "time_zone": "America/New_York", "members": [
                    {"name": "B", "role": "principal"},
                    {"name": "C", "role": "adviser", "host": true}
                ]}
            ]
        }))
        .unwrap();
        Call::create(new, "org", now).unwrap()
    }

    #[test]
    fn principals_and_members_made_hosts_host_the_call() {
        let call = two_party_call(utc("2026-11-25T00:00:00Z"));
        let hosts: Vec<&str> = call
            .parties
            .iter()
            .flat_map(|p| &p.members)
            .filter(|m| m.is_host())
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(hosts, ["A", "B", "C"]);
    }

    #[test]
    fn every_party_accepting_one_slot_agrees_it_and_a_change_reopens_it() {
        let now = utc("2026-11-25T00:00:00Z");
        let mut call = two_party_call(now);
        let (m, w) = (call.parties[0].id.clone(), call.parties[1].id.clone());
        assert!(call.candidates(now).is_empty(), "nothing until both said");
        both_can_on_3_december(&mut call, now);
        let slots = call.candidates(now);
        assert_eq!(slots.first(), Some(&utc("2026-12-03T14:00:00Z")));
        assert_eq!(slots.last(), Some(&utc("2026-12-03T15:00:00Z")));
        // Not a slot: refused, nothing changes.
        let before = call.clone();
        assert_eq!(
            call.accept(&m, Some(utc("2026-12-03T13:00:00Z")), now),
            Err(Refusal::NotACandidate)
        );
        assert_eq!(
            call.accept(&m, Some(utc("2026-12-03T14:05:00Z")), now),
            Err(Refusal::NotACandidate)
        );
        assert_eq!(call, before);

        let slot = utc("2026-12-03T14:30:00Z");
        call.accept(&m, Some(slot), now).unwrap();
        assert!(matches!(
            call.events.last().unwrap().kind,
            EventKind::Proposed { .. }
        ));
        assert_eq!(call.agreed, None);
        call.accept(&w, Some(slot), now).unwrap();
        assert_eq!(call.agreed, Some(slot));
        // Washington narrows its window: the agreed slot no longer fits.
        call.set_windows(
            &w,
            vec![LocalWindow {
                start: local(3, 10),
                end: local(3, 12),
            }],
            now,
        )
        .unwrap();
        assert_eq!(call.agreed, None);
        assert!(call
            .events
            .iter()
            .any(|e| e.kind == EventKind::Reopened { start: slot }));
        assert!(call.parties.iter().all(|p| p.accepted.is_none()));
        // Agreed again on a later slot, then Moscow changes its mind.
        let later = utc("2026-12-03T15:00:00Z");
        call.accept(&m, Some(later), now).unwrap();
        call.accept(&w, Some(later), now).unwrap();
        assert_eq!(call.agreed, Some(later));
        call.accept(&m, None, now).unwrap();
        assert_eq!(call.agreed, None);
        assert_eq!(call.parties[1].accepted, Some(later));
    }

    #[test]
    fn bad_calls_and_windows_are_refused_with_a_reason() {
        let now = utc("2026-11-25T00:00:00Z");
        let bad = |json: serde_json::Value| match serde_json::from_value::<NewCall>(json) {
            Ok(new) => Call::create(new, "org", now).err().map(|e| e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        let party = |tz: &str| serde_json::json!({"name": tz, "time_zone": tz});
        let base = |parties: serde_json::Value| serde_json::json!({"title": "T", "duration_minutes": 60, "parties": parties});
        assert!(bad(base(serde_json::json!([
            party("Europe/Moscow"),
            party("Mars/Olympus")
        ])))
        .unwrap()
        .contains("not a time zone"));
        assert!(bad(base(serde_json::json!([party("Europe/Moscow")])))
            .unwrap()
            .contains("2 to"));
        assert!(bad(serde_json::json!({"title": "T", "duration_minutes": 5, "parties": [party("UTC"), party("Asia/Tokyo")]})).unwrap().contains("duration"));
        assert!(bad(serde_json::json!({"title": "T", "duration_minutes": 60, "parties": [party("UTC"), party("Asia/Tokyo")], "admin": true})).unwrap().contains("unknown field"));
        assert!(bad(serde_json::json!({"title": "", "duration_minutes": 60, "parties": [party("UTC"), party("Asia/Tokyo")]})).unwrap().contains("empty"));
        assert!(bad(base(serde_json::json!([{"name": "A", "time_zone": "UTC", "members": [{"name": "I", "role": "interpreter"}]}, party("Asia/Tokyo")]))).unwrap().contains("language pair"));
        let with_interpreter = |pair: serde_json::Value| serde_json::json!({"title": "T", "duration_minutes": 60, "languages": ["ru", "en"], "parties": [{"name": "A", "time_zone": "UTC", "members": [{"name": "I", "role": "interpreter", "languages": pair}]}, party("Asia/Tokyo")]});
        assert!(bad(with_interpreter(serde_json::json!(["ru", "fr"])))
            .unwrap()
            .contains("works into fr"));
        assert!(bad(with_interpreter(serde_json::json!(["en", "EN"])))
            .unwrap()
            .contains("must differ"));
        assert!(bad(with_interpreter(serde_json::json!(["ru", "en"]))).is_none());
        assert!(bad(base(serde_json::json!([party("UTC"), party("UTC")])))
            .unwrap()
            .contains("two parties"));

        let mut call = two_party_call(now);
        let m = call.parties[0].id.clone();
        let before = call.clone();
        let w = |s: NaiveDateTime, e: NaiveDateTime| vec![LocalWindow { start: s, end: e }];
        let inverted = call.set_windows(&m, w(local(3, 19), local(3, 16)), now);
        assert!(inverted
            .unwrap_err()
            .to_string()
            .contains("ends before it starts"));
        let past = NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        let in_past = call.set_windows(&m, w(past, past + Duration::hours(1)), now);
        assert!(in_past.unwrap_err().to_string().contains("in the past"));
        let far = NaiveDate::from_ymd_opt(2028, 1, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        assert!(call
            .set_windows(&m, w(far, far + Duration::hours(1)), now)
            .is_err());
        assert_eq!(call, before, "nothing partial is kept");
    }

    #[test]
    fn the_agenda_is_agreed_item_by_item_and_the_time_announced_when_all_approve() {
        let now = utc("2026-11-25T00:00:00Z");
        let mut call = two_party_call(now);
        let (m, w) = (call.parties[0].id.clone(), call.parties[1].id.clone());
        let a = call.propose_item(&m, "Arms control", now).unwrap();
        let b = call.propose_item(&w, "Trade", now).unwrap();
        assert!(!call.item_agreed(&call.agenda[0]));
        call.accept_item(&w, &a, true, now).unwrap();
        assert!(call.item_agreed(&call.agenda[0]));
        assert!(!call.item_agreed(&call.agenda[1]));
        call.reorder(&m, &[b.clone(), a.clone()], now).unwrap();
        assert_eq!(call.agenda[0].id, b);
        let before = call.clone();
        assert!(call.reorder(&m, std::slice::from_ref(&a), now).is_err());
        assert!(call.reorder(&m, &[a.clone(), a.clone()], now).is_err());
        assert_eq!(
            call.agenda, before.agenda,
            "a refused order changes nothing"
        );

        // No announcement before the time is agreed.
        assert!(call.approve_release(&m, true, now).is_err());
        both_can_on_3_december(&mut call, now);
        let slot = utc("2026-12-03T14:00:00Z");
        call.accept(&m, Some(slot), now).unwrap();
        call.accept(&w, Some(slot), now).unwrap();
        call.approve_release(&m, true, now).unwrap();
        assert!(!call.released);
        call.approve_release(&w, true, now).unwrap();
        assert!(call.released);
        // A change of the time takes the announcement back.
        call.accept(&w, None, now).unwrap();
        assert!(!call.released && call.release_approved_by.is_empty());
    }
}

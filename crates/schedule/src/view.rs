//! What a party sees on its page: the call, every party, the slots that
//! suit everyone shown in every party's local time, who accepted which, the
//! agreed time if any, and what happened. It says nothing a party should
//! not know: no links, no other party's windows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::call::{Call, Event, Role};
use crate::slots::LocalWindow;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartyView {
    pub call: CallSummary,
    /// Send it back with a change: a change made meanwhile by another party
    /// is a conflict, not overwritten.
    pub version: u64,
    /// The party this page belongs to.
    pub party_id: String,
    pub parties: Vec<PartySummary>,
    /// This party's windows, in its local time.
    pub windows: Vec<LocalWindow>,
    /// The slots that suit every party, earliest first; empty until every
    /// party said when it can.
    pub slots: Vec<SlotView>,
    pub agreed: Option<SlotView>,
    /// In the order the parties set.
    pub agenda: Vec<AgendaItemView>,
    pub release: ReleaseView,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgendaItemView {
    pub item_id: String,
    pub title: String,
    pub proposed_by: String,
    pub accepted_by: Vec<String>,
    /// Every party accepts it.
    pub agreed: bool,
}

/// Whether the agreed time may be announced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseView {
    pub approved_by: Vec<String>,
    pub released: bool,
}

/// The call's public page: before every party approved the announcement
/// it says only that a call is planned, in the same shape, with no time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicView {
    pub title: String,
    /// `planned` until released, then `scheduled`.
    pub status: String,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub parties: Vec<String>,
}

impl PublicView {
    pub fn of(call: &Call) -> PublicView {
        let start = call.agreed.filter(|_| call.released);
        PublicView {
            title: call.title.clone(),
            status: if start.is_some() {
                "scheduled"
            } else {
                "planned"
            }
            .to_string(),
            start,
            end: start.map(|s| s + call.duration()),
            parties: call.parties.iter().map(|p| p.name.clone()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSummary {
    pub id: String,
    pub title: String,
    pub duration_minutes: u32,
    pub languages: Vec<String>,
    pub e2ee_required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartySummary {
    pub party_id: String,
    pub name: String,
    pub time_zone: String,
    pub members: Vec<MemberSummary>,
    /// Whether it has said when it can (not when).
    pub windows_given: bool,
    pub accepted: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<[String; 2]>,
}

/// One slot, in UTC and in each party's local time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotView {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub local: Vec<LocalSlot>,
    /// The parties that accept it.
    pub accepted_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalSlot {
    pub party_id: String,
    /// RFC 3339 with the party's offset, e.g. `2026-03-09T09:00:00-04:00`.
    pub start: String,
    pub end: String,
    /// The zone's abbreviation at that time, e.g. `EDT`.
    pub zone: String,
}

impl PartyView {
    pub fn of(call: &Call, version: u64, party_id: &str, now: DateTime<Utc>) -> PartyView {
        let slot = |start: DateTime<Utc>| {
            let end = start + call.duration();
            SlotView {
                start,
                end,
                local: call
                    .parties
                    .iter()
                    .map(|p| {
                        let zone = p.zone();
                        let (s, e) = (start.with_timezone(&zone), end.with_timezone(&zone));
                        LocalSlot {
                            party_id: p.id.clone(),
                            start: s.to_rfc3339(),
                            end: e.to_rfc3339(),
                            zone: s.format("%Z").to_string(),
                        }
                    })
                    .collect(),
                accepted_by: call
                    .parties
                    .iter()
                    .filter(|p| p.accepted == Some(start))
                    .map(|p| p.id.clone())
                    .collect(),
            }
        };
        PartyView {
            call: CallSummary {
                id: call.id.clone(),
                title: call.title.clone(),
                duration_minutes: call.duration_minutes,
                languages: call.languages.clone(),
                e2ee_required: call.e2ee_required,
            },
            version,
            party_id: party_id.to_string(),
            parties: call
                .parties
                .iter()
                .map(|p| PartySummary {
                    party_id: p.id.clone(),
                    name: p.name.clone(),
                    time_zone: p.time_zone.clone(),
                    members: p
                        .members
                        .iter()
                        .map(|m| MemberSummary {
                            name: m.name.clone(),
                            role: m.role,
                            languages: m.languages.clone(),
                        })
                        .collect(),
                    windows_given: p.windows.is_some(),
                    accepted: p.accepted,
                })
                .collect(),
            windows: call
                .party(party_id)
                .and_then(|p| p.windows.clone())
                .unwrap_or_default(),
            slots: call.candidates(now).into_iter().map(slot).collect(),
            agreed: call.agreed.map(slot),
            agenda: call
                .agenda
                .iter()
                .map(|item| AgendaItemView {
                    item_id: item.id.clone(),
                    title: item.title.clone(),
                    proposed_by: item.proposed_by.clone(),
                    accepted_by: item.accepted_by.clone(),
                    agreed: call.item_agreed(item),
                })
                .collect(),
            release: ReleaseView {
                approved_by: call.release_approved_by.clone(),
                released: call.released,
            },
            events: call.events.clone(),
        }
    }
}

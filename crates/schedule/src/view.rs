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
    /// This party's own members with their personal links (to hand to
    /// each: it joins the call, and downloads its calendar invitation).
    pub members: Vec<MemberLink>,
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
pub struct MemberLink {
    pub member_id: String,
    pub name: String,
    pub role: Role,
    /// `/join/KEY`.
    pub link: String,
}

/// What a member's personal link shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub call: CallSummary,
    pub name: String,
    pub role: Role,
    /// Hosts the call: goes straight in and admits the others.
    pub host: bool,
    pub party: String,
    pub time_zone: String,
    /// The agreed time, with the member's local time.
    pub agreed: Option<SlotView>,
    /// When joining opens and closes (15 minutes before the start, and the
    /// end); `None` while no time is agreed.
    pub join_opens: Option<DateTime<Utc>>,
    pub join_closes: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<[String; 2]>,
    /// Hosts the call (admits from the lobby).
    pub host: bool,
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

/// A slot in UTC and in each party's local time, with who accepts it.
fn slot_view(call: &Call, start: DateTime<Utc>) -> SlotView {
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
}

impl CallSummary {
    fn of(call: &Call) -> CallSummary {
        CallSummary {
            id: call.id.clone(),
            title: call.title.clone(),
            duration_minutes: call.duration_minutes,
            languages: call.languages.clone(),
            e2ee_required: call.e2ee_required,
        }
    }
}

impl MemberView {
    /// `None` for a member the call does not have.
    pub fn of(call: &Call, member_id: &str) -> Option<MemberView> {
        let (party, member) = call.member(member_id)?;
        let window = call.join_window();
        Some(MemberView {
            call: CallSummary::of(call),
            name: member.name.clone(),
            role: member.role,
            host: member.is_host(),
            party: party.name.clone(),
            time_zone: party.time_zone.clone(),
            agreed: call.agreed.map(|start| slot_view(call, start)),
            join_opens: window.map(|(opens, _)| opens),
            join_closes: window.map(|(_, closes)| closes),
        })
    }
}

impl PartyView {
    /// `member_link` gives each of the party's members its personal link.
    pub fn of(
        call: &Call,
        version: u64,
        party_id: &str,
        now: DateTime<Utc>,
        member_link: impl Fn(&crate::call::Member) -> String,
    ) -> PartyView {
        let slot = |start| slot_view(call, start);
        PartyView {
            call: CallSummary::of(call),
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
                            host: m.is_host(),
                        })
                        .collect(),
                    windows_given: p.windows.is_some(),
                    accepted: p.accepted,
                })
                .collect(),
            members: call
                .party(party_id)
                .map(|p| {
                    p.members
                        .iter()
                        .map(|m| MemberLink {
                            member_id: m.id.clone(),
                            name: m.name.clone(),
                            role: m.role,
                            link: member_link(m),
                        })
                        .collect()
                })
                .unwrap_or_default(),
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

//! A member's calendar invitation (iCalendar, RFC 5545): the agreed time in
//! the member's own time zone, with its personal join link.

use chrono::{DateTime, Offset, Utc};

use crate::call::{Call, Member, Party};

/// Escapes a TEXT value (RFC 5545 3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (RFC 5545 3.1), never inside a
/// character.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3);
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

fn role_name(member: &Member) -> &'static str {
    use crate::call::Role::*;
    match member.role {
        Principal => "principal",
        Adviser => "adviser",
        Interpreter => "interpreter",
        NoteTaker => "note-taker",
        Observer => "observer",
    }
}

/// The invitation of `member` (of `party`) to `call`, which must have an
/// agreed time; `join_url` is the member's personal link.
pub fn invitation(
    call: &Call,
    party: &Party,
    member: &Member,
    join_url: &str,
    now: DateTime<Utc>,
) -> Option<String> {
    let start = call.agreed?;
    let end = start + call.duration();
    let zone = party.zone();
    let local_start = start.with_timezone(&zone);
    let local_end = end.with_timezone(&zone);
    let offset = local_start.offset().fix().local_minus_utc();
    let offset = format!(
        "{}{:02}{:02}",
        if offset < 0 { '-' } else { '+' },
        offset.abs() / 3600,
        offset.abs() % 3600 / 60
    );
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let local = |t: &DateTime<chrono_tz::Tz>| t.format("%Y%m%dT%H%M%S").to_string();
    let agenda: Vec<String> = call
        .agenda
        .iter()
        .filter(|item| call.item_agreed(item))
        .enumerate()
        .map(|(i, item)| format!("{}. {}", i + 1, item.title))
        .collect();
    let mut description = format!(
        "Join: {join_url}\nAs {} ({}) with {}.",
        member.name,
        role_name(member),
        party.name
    );
    if !agenda.is_empty() {
        description.push_str("\nAgenda:\n");
        description.push_str(&agenda.join("\n"));
    }
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//Hotline//Scheduled call//EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        "METHOD:PUBLISH".to_string(),
        // The zone's offset at the call (one component: enough for this
        // event's times, which is all it describes).
        "BEGIN:VTIMEZONE".to_string(),
        format!("TZID:{}", zone.name()),
        "BEGIN:STANDARD".to_string(),
        "DTSTART:19700101T000000".to_string(),
        format!("TZOFFSETFROM:{offset}"),
        format!("TZOFFSETTO:{offset}"),
        format!("TZNAME:{}", escape(&local_start.format("%Z").to_string())),
        "END:STANDARD".to_string(),
        "END:VTIMEZONE".to_string(),
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}-{}@hotline", call.id, member.id),
        format!("DTSTAMP:{}", stamp(now)),
        format!("DTSTART;TZID={}:{}", zone.name(), local(&local_start)),
        format!("DTEND;TZID={}:{}", zone.name(), local(&local_end)),
        format!("SUMMARY:{}", escape(&call.title)),
        format!("DESCRIPTION:{}", escape(&description)),
        format!("URL:{join_url}"),
        "END:VEVENT".to_string(),
        "END:VCALENDAR".to_string(),
    ];
    Some(lines.iter().map(|l| fold(l)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::NewCall;

    #[test]
    fn the_invitation_is_in_the_members_zone_with_its_link() {
        let now = "2026-11-25T00:00:00Z".parse().unwrap();
        let new: NewCall = serde_json::from_value(serde_json::json!({
            "title": "Talks; stability, arms control",
            "duration_minutes": 90,
            "parties": [
                {"name": "Moscow", "time_zone": "Europe/Moscow", "members": [{"name": "A", "role": "principal"}]},
                {"name": "Washington", "time_zone": "America/New_York", "members": [{"name": "B", "role": "observer"}]}
            ]
        }))
        .unwrap();
        let mut call = Call::create(new, "org", now).unwrap();
        let (party, member) = (call.parties[1].clone(), call.parties[1].members[0].clone());
        assert_eq!(
            invitation(&call, &party, &member, "https://x/join/k", now),
            None
        );
        call.agreed = Some("2026-12-03T14:30:00Z".parse().unwrap());
        let ics = invitation(&call, &party, &member, "https://x/join/k", now).unwrap();
        assert!(
            ics.contains("DTSTART;TZID=America/New_York:20261203T093000\r\n"),
            "{ics}"
        );
        assert!(ics.contains("DTEND;TZID=America/New_York:20261203T110000\r\n"));
        assert!(ics.contains("TZOFFSETTO:-0500\r\n"));
        assert!(ics.contains("SUMMARY:Talks\\; stability\\, arms control\r\n"));
        assert!(ics.contains("URL:https://x/join/k\r\n"));
        assert!(ics.lines().all(|l| l.len() <= 75), "folded");
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    }
}

//! The slots that suit every party. Each party says when it can in its own
//! wall-clock time; those windows become instants through the IANA
//! time-zone database (so a window across a daylight-saving change is as
//! long as the clocks on that party's wall say), and the candidate slots are
//! the starts on a 15-minute grid from which the whole call fits inside a
//! window of every party.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Slots start on this grid (every time zone's offset is a multiple of it,
/// so the grid is the same in every party's local time).
pub const GRID_MINUTES: i64 = 15;

/// At most this many candidate slots are listed, earliest first.
pub const MAX_SLOTS: usize = 200;

/// A span a party can do, in its own local (wall-clock) time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalWindow {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

/// A span of time, as instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Which end of a window a local time is: it decides the instant of a wall
/// time that occurs twice (the hour repeated when clocks go back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Start,
    End,
}

/// The instant of wall-clock time `local` in `zone`. A time the clocks
/// skip (the hour lost when they go forward) is the moment they jump; a
/// time they show twice is the earlier for a window's start and the later
/// for its end, so that the window is as long as the party meant.
pub fn local_to_utc(zone: Tz, local: NaiveDateTime, edge: Edge) -> DateTime<Utc> {
    use chrono::LocalResult;
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, later) => match edge {
            Edge::Start => earlier.with_timezone(&Utc),
            Edge::End => later.with_timezone(&Utc),
        },
        LocalResult::None => {
            // In a gap: the first wall time after it. Gaps are whole
            // quarter hours long, at most a few hours.
            let mut probe = local;
            for _ in 0..(4 * 24) {
                probe += Duration::minutes(GRID_MINUTES);
                let rounded = probe
                    - Duration::minutes(i64::from(
                        chrono::Timelike::minute(&probe) % GRID_MINUTES as u32,
                    ))
                    - Duration::seconds(i64::from(chrono::Timelike::second(&probe)));
                if let LocalResult::Single(t) | LocalResult::Ambiguous(t, _) =
                    zone.from_local_datetime(&rounded)
                {
                    return t.with_timezone(&Utc);
                }
            }
            // No zone has a gap this long; treat the wall time as UTC.
            Utc.from_utc_datetime(&local)
        }
    }
}

/// A party's windows as instants.
pub fn to_intervals(zone: Tz, windows: &[LocalWindow]) -> Vec<Interval> {
    windows
        .iter()
        .map(|w| Interval {
            start: local_to_utc(zone, w.start, Edge::Start),
            end: local_to_utc(zone, w.end, Edge::End),
        })
        .filter(|i| i.end > i.start)
        .collect()
}

/// Sorted, with overlapping and touching intervals joined.
fn merged(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.sort_by_key(|i| i.start);
    let mut out: Vec<Interval> = Vec::with_capacity(intervals.len());
    for i in intervals {
        match out.last_mut() {
            Some(last) if i.start <= last.end => last.end = last.end.max(i.end),
            _ => out.push(i),
        }
    }
    out
}

/// The times inside an interval of both `a` and `b` (each merged).
fn intersect(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        if start < end {
            out.push(Interval { start, end });
        }
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The starts, on the grid and not before `not_before`, of every slot of
/// `duration` that lies inside a window of each party; earliest first, at
/// most [`MAX_SLOTS`]. Empty when any party has no windows.
pub fn candidate_slots(
    parties: &[Vec<Interval>],
    duration: Duration,
    not_before: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let Some((first, rest)) = parties.split_first() else {
        return Vec::new();
    };
    let common = rest.iter().fold(merged(first.clone()), |acc, p| {
        intersect(&acc, &merged(p.clone()))
    });
    let grid = GRID_MINUTES * 60;
    let mut slots = Vec::new();
    for span in common {
        let from = span.start.max(not_before).timestamp();
        let mut start = from.div_euclid(grid) * grid;
        if start < from {
            start += grid;
        }
        while let Some(t) = DateTime::from_timestamp(start, 0) {
            if t + duration > span.end || slots.len() == MAX_SLOTS {
                break;
            }
            slots.push(t);
            start += grid;
        }
    }
    slots
}

/// Whether a slot starting at `start` fits every party's windows (two
/// windows of a party that touch count as one).
pub fn fits(parties: &[Vec<Interval>], duration: Duration, start: DateTime<Utc>) -> bool {
    !parties.is_empty()
        && parties.iter().all(|windows| {
            merged(windows.clone())
                .iter()
                .any(|w| w.start <= start && start + duration <= w.end)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const MOSCOW: Tz = chrono_tz::Europe::Moscow;
    const NEW_YORK: Tz = chrono_tz::America::New_York;

    #[test]
    fn moscow_and_new_york_across_the_march_change() {
        // New York moves its clocks forward on 8 March 2026 at 02:00
        // (UTC-5 to UTC-4); Moscow stays at UTC+3. Both can do 16:00-19:00
        // Moscow time on the 7th and 9th; New York 08:00-12:00 local on the
        // same days.
        let moscow = to_intervals(
            MOSCOW,
            &[
                LocalWindow {
                    start: local(2026, 3, 7, 16, 0),
                    end: local(2026, 3, 7, 19, 0),
                },
                LocalWindow {
                    start: local(2026, 3, 9, 16, 0),
                    end: local(2026, 3, 9, 19, 0),
                },
            ],
        );
        let new_york = to_intervals(
            NEW_YORK,
            &[
                LocalWindow {
                    start: local(2026, 3, 7, 8, 0),
                    end: local(2026, 3, 7, 12, 0),
                },
                LocalWindow {
                    start: local(2026, 3, 9, 8, 0),
                    end: local(2026, 3, 9, 12, 0),
                },
            ],
        );
        let slots = candidate_slots(
            &[moscow, new_york],
            Duration::hours(1),
            utc("2026-03-01T00:00:00Z"),
        );
        // The 7th: Moscow 13:00-16:00 UTC, New York 13:00-17:00 UTC (EST):
        // 13:00-16:00 in common, one-hour slots from 13:00 to 15:00.
        // The 9th: New York is 12:00-16:00 UTC (EDT): 13:00-16:00 again.
        let day = |d: u32| {
            (0..=8)
                .map(move |q| utc(&format!("2026-03-{d:02}T13:00:00Z")) + Duration::minutes(15 * q))
        };
        let expected: Vec<_> = day(7).chain(day(9)).collect();
        assert_eq!(slots, expected);
        // Seen from New York, the first slot on the 9th starts at 09:00 EDT,
        // on the 7th at 08:00 EST.
        assert_eq!(
            slots[0]
                .with_timezone(&NEW_YORK)
                .format("%H:%M %Z")
                .to_string(),
            "08:00 EST"
        );
        assert_eq!(
            slots[9]
                .with_timezone(&NEW_YORK)
                .format("%H:%M %Z")
                .to_string(),
            "09:00 EDT"
        );
    }

    #[test]
    fn a_window_across_the_change_is_as_long_as_the_wall_clock_says() {
        // 00:00-06:00 on the night New York springs forward is 5 hours.
        let i = to_intervals(
            NEW_YORK,
            &[LocalWindow {
                start: local(2026, 3, 8, 0, 0),
                end: local(2026, 3, 8, 6, 0),
            }],
        );
        assert_eq!(i[0].end - i[0].start, Duration::hours(5));
        // 00:00-06:00 on the night it falls back is 7 hours.
        let i = to_intervals(
            NEW_YORK,
            &[LocalWindow {
                start: local(2026, 11, 1, 0, 0),
                end: local(2026, 11, 1, 6, 0),
            }],
        );
        assert_eq!(i[0].end - i[0].start, Duration::hours(7));
    }

    #[test]
    fn wall_times_skipped_or_repeated_by_the_clocks() {
        // 02:30 does not exist in New York on 8 March 2026: the moment the
        // clocks jump, 03:00 EDT.
        let skipped = local_to_utc(NEW_YORK, local(2026, 3, 8, 2, 30), Edge::Start);
        assert_eq!(skipped, utc("2026-03-08T07:00:00Z"));
        // 01:30 happens twice on 1 November: a start takes the first.
        let start = local_to_utc(NEW_YORK, local(2026, 11, 1, 1, 30), Edge::Start);
        let end = local_to_utc(NEW_YORK, local(2026, 11, 1, 1, 30), Edge::End);
        assert_eq!(start, utc("2026-11-01T05:30:00Z"));
        assert_eq!(end, utc("2026-11-01T06:30:00Z"));
    }

    #[test]
    fn windows_across_midnight() {
        // Tokyo 22:00 on the 1st to 02:00 on the 2nd is London 13:00-17:00
        // on the 1st (GMT, in December).
        let tokyo = to_intervals(
            chrono_tz::Asia::Tokyo,
            &[LocalWindow {
                start: local(2026, 12, 1, 22, 0),
                end: local(2026, 12, 2, 2, 0),
            }],
        );
        let london = to_intervals(
            chrono_tz::Europe::London,
            &[LocalWindow {
                start: local(2026, 12, 1, 15, 0),
                end: local(2026, 12, 1, 18, 0),
            }],
        );
        let slots = candidate_slots(
            &[tokyo, london],
            Duration::minutes(90),
            utc("2026-11-01T00:00:00Z"),
        );
        assert_eq!(slots.first(), Some(&utc("2026-12-01T15:00:00Z")));
        assert_eq!(slots.last(), Some(&utc("2026-12-01T15:30:00Z")));
        assert_eq!(slots.len(), 3);
        // In Tokyo the first starts at midnight, on the 2nd.
        let in_tokyo = slots[0].with_timezone(&chrono_tz::Asia::Tokyo);
        assert_eq!(in_tokyo.format("%d %H:%M").to_string(), "02 00:00");
    }

    #[test]
    fn overlapping_windows_of_one_party_join_and_the_past_is_left_out() {
        let a = vec![
            Interval {
                start: utc("2026-05-01T10:00:00Z"),
                end: utc("2026-05-01T11:00:00Z"),
            },
            Interval {
                start: utc("2026-05-01T10:30:00Z"),
                end: utc("2026-05-01T12:00:00Z"),
            },
        ];
        let b = vec![Interval {
            start: utc("2026-05-01T09:00:00Z"),
            end: utc("2026-05-01T13:00:00Z"),
        }];
        let slots = candidate_slots(
            &[a.clone(), b.clone()],
            Duration::hours(2),
            utc("2026-05-01T00:00:00Z"),
        );
        assert_eq!(slots, [utc("2026-05-01T10:00:00Z")]);
        // Not before 10:07: the next grid point, 10:15, leaves no room.
        let slots = candidate_slots(
            &[a.clone(), b.clone()],
            Duration::hours(2),
            utc("2026-05-01T10:07:00Z"),
        );
        assert!(slots.is_empty());
        // A slot across the two overlapping windows fits.
        assert!(fits(
            &[a.clone(), b.clone()],
            Duration::hours(1),
            utc("2026-05-01T10:45:00Z")
        ));
        assert!(!fits(
            &[a, b],
            Duration::hours(1),
            utc("2026-05-01T11:15:00Z")
        ));
    }

    #[test]
    fn no_windows_no_slots_and_the_list_is_bounded() {
        assert!(candidate_slots(&[], Duration::hours(1), Utc::now()).is_empty());
        let wide = vec![Interval {
            start: utc("2026-01-01T00:00:00Z"),
            end: utc("2026-12-31T00:00:00Z"),
        }];
        let slots = candidate_slots(
            &[wide.clone(), wide],
            Duration::hours(1),
            utc("2026-01-01T00:00:00Z"),
        );
        assert_eq!(slots.len(), MAX_SLOTS);
    }
}

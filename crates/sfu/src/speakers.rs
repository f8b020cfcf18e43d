//! Who is speaking, from the audio level each browser writes into its
//! audio packets (RFC 6464 header extension): smoothed per participant, with
//! an active speaker that changes only for a clearly louder voice, so that
//! the client's layout does not jump between two people talking at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::ids::ParticipantId;

/// How often the list of speakers is worked out.
const CHECK_EVERY: Duration = Duration::from_millis(250);
/// Time constant of the smoothing: a syllable or two. Speech that stops
/// falls below the threshold within about a second.
const SMOOTHING: Duration = Duration::from_millis(300);
/// Quieter than this (-45 dBov) is not speech.
const SPEECH_AMPLITUDE: f32 = 0.005_6;
/// No audio packet for this long: not speaking (muted, gone, or lost).
const STALE_AFTER: Duration = Duration::from_millis(600);
/// How much louder (in amplitude, ~3.5 dB) someone must be to take over as
/// the active speaker from someone still speaking.
const TAKEOVER: f32 = 1.5;

struct Voice {
    /// Smoothed linear amplitude, 0..=1.
    amplitude: f32,
    last_at: Instant,
}

#[derive(Default)]
pub(crate) struct SpeakerDetector {
    voices: HashMap<ParticipantId, Voice>,
    /// The list last announced, loudest (the active speaker) first.
    announced: Vec<ParticipantId>,
    next_check: Option<Instant>,
}

impl SpeakerDetector {
    /// An audio packet from `who`'s microphone with `level` in -dBov (0 is
    /// the loudest, -127 silence), as str0m reports it.
    pub fn observe(&mut self, now: Instant, who: &ParticipantId, level: i8) {
        let amplitude = 10f32.powf(f32::from(level.min(0)) / 20.0);
        let voice = self.voices.entry(who.clone()).or_insert(Voice {
            amplitude: 0.0,
            last_at: now,
        });
        let elapsed = now.saturating_duration_since(voice.last_at).as_secs_f32();
        let keep = (-elapsed / SMOOTHING.as_secs_f32()).exp();
        voice.amplitude = keep * voice.amplitude + (1.0 - keep) * amplitude;
        voice.last_at = now;
        self.next_check.get_or_insert(now + CHECK_EVERY);
    }

    /// `who` muted its microphone or left: silent at once.
    pub fn silence(&mut self, now: Instant, who: &ParticipantId) {
        self.voices.remove(who);
        if self.announced.contains(who) {
            self.next_check = Some(now);
        }
    }

    /// When [`poll_change`](Self::poll_change) should next run.
    pub fn next_check(&self) -> Option<Instant> {
        self.next_check
    }

    /// The new list of speakers, loudest first, when it changed.
    pub fn poll_change(&mut self, now: Instant) -> Option<Vec<ParticipantId>> {
        if self.next_check.is_none_or(|at| now < at) {
            return None;
        }
        self.voices
            .retain(|_, v| now.saturating_duration_since(v.last_at) < STALE_AFTER * 4);
        self.next_check =
            (!self.voices.is_empty() || !self.announced.is_empty()).then_some(now + CHECK_EVERY);

        let speaking = |v: &Voice| {
            v.amplitude >= SPEECH_AMPLITUDE
                && now.saturating_duration_since(v.last_at) < STALE_AFTER
        };
        let mut list: Vec<(&ParticipantId, f32)> = self
            .voices
            .iter()
            .filter(|(_, v)| speaking(v))
            .map(|(id, v)| (id, v.amplitude))
            .collect();
        list.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        // The active speaker keeps the floor while speaking, unless someone
        // is clearly louder.
        if let Some(current) = self.announced.first() {
            if let Some(at) = list.iter().position(|(id, _)| *id == current) {
                if at > 0 && list[0].1 < list[at].1 * TAKEOVER {
                    let kept = list.remove(at);
                    list.insert(0, kept);
                }
            }
        }
        let list: Vec<ParticipantId> = list.into_iter().map(|(id, _)| id.clone()).collect();
        if list == self.announced {
            return None;
        }
        self.announced = list.clone();
        Some(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn talk(
        d: &mut SpeakerDetector,
        t0: Instant,
        from_ms: u64,
        to_ms: u64,
        who: &[(&ParticipantId, i8)],
    ) -> Vec<Vec<ParticipantId>> {
        let mut changes = Vec::new();
        for ms in (from_ms..to_ms).step_by(20) {
            let now = t0 + Duration::from_millis(ms);
            for (id, level) in who {
                d.observe(now, id, *level);
            }
            if let Some(list) = d.poll_change(now) {
                changes.push(list);
            }
        }
        changes
    }

    #[test]
    fn the_loud_one_speaks_and_a_clearly_louder_one_takes_over() {
        let (a, b) = (ParticipantId::random(), ParticipantId::random());
        let mut d = SpeakerDetector::default();
        let t0 = Instant::now();
        let changes = talk(&mut d, t0, 0, 1000, &[(&a, -20), (&b, -127)]);
        assert_eq!(changes, vec![vec![a.clone()]]);
        // B speaks up at about the same level: A keeps the floor.
        let changes = talk(&mut d, t0, 1000, 2000, &[(&a, -20), (&b, -19)]);
        assert_eq!(changes, vec![vec![a.clone(), b.clone()]]);
        // A falls silent: B is the active speaker at once, and A is off
        // the list within a second.
        let changes = talk(&mut d, t0, 2000, 3000, &[(&a, -127), (&b, -19)]);
        assert_eq!(changes.first(), Some(&vec![b.clone(), a.clone()]));
        assert_eq!(changes.last(), Some(&vec![b.clone()]));
        // A comes back much louder: takes over.
        let changes = talk(&mut d, t0, 3000, 4000, &[(&a, -6), (&b, -19)]);
        assert_eq!(changes.last(), Some(&vec![a.clone(), b.clone()]));
    }

    #[test]
    fn silence_and_muting_clear_the_list() {
        let a = ParticipantId::random();
        let mut d = SpeakerDetector::default();
        let t0 = Instant::now();
        talk(&mut d, t0, 0, 1000, &[(&a, -20)]);
        let now = t0 + Duration::from_millis(1000);
        d.silence(now, &a);
        assert_eq!(d.poll_change(now), Some(vec![]));
        // Packets that stop arriving also end the speech.
        talk(&mut d, t0, 2000, 3000, &[(&a, -20)]);
        let later = t0 + Duration::from_millis(3000) + STALE_AFTER;
        assert_eq!(d.poll_change(later), Some(vec![]));
        assert!(d.poll_change(later + CHECK_EVERY * 10).is_none());
    }
}

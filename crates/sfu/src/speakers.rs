//! Who is speaking, from the audio level each browser writes into its
//! audio packets (RFC 6464 header extension). A voice is speaking when most
//! of its recent packets are above a speech level (a click, a cough or a
//! periodic beep is not speech); the loudest is the active speaker, who
//! keeps the floor while speaking unless someone else has been clearly
//! louder for a second, so that the client's layout does not jump between
//! two people talking at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::ids::ParticipantId;

/// How often the list of speakers is worked out.
const CHECK_EVERY: Duration = Duration::from_millis(250);
/// Time constant of the smoothing of loudness and of activity.
const SMOOTHING: Duration = Duration::from_millis(400);
/// A packet quieter than this (-45 dBov) is not speech.
const SPEECH_AMPLITUDE: f32 = 0.005_6;
/// Share of recent packets that must be speech for a voice to be speaking.
const SPEECH_ACTIVITY: f32 = 0.3;
/// No audio packet for this long: not speaking (muted, gone, or lost).
const STALE_AFTER: Duration = Duration::from_millis(600);
/// How much louder (in amplitude, ~3.5 dB) and for how long someone must be
/// to take the floor from an active speaker who is still speaking.
const TAKEOVER: f32 = 1.5;
const TAKEOVER_AFTER: Duration = Duration::from_secs(1);

struct Voice {
    /// Smoothed linear amplitude, 0..=1.
    loudness: f32,
    /// Smoothed share of packets above the speech level, 0..=1.
    activity: f32,
    last_at: Instant,
    /// RTP timestamp of the latest packet (48 kHz for Opus).
    last_rtp_time: u32,
}

/// Clock rate of Opus RTP timestamps.
const OPUS_CLOCK: f32 = 48_000.0;
/// Audio time one packet stands for at most (a gap longer than this is
/// silence sent as nothing, e.g. DTX, and counts as this much).
const LONGEST_PACKET: f32 = 0.2;

#[derive(Default)]
pub(crate) struct SpeakerDetector {
    voices: HashMap<ParticipantId, Voice>,
    /// The list last announced, the active speaker first.
    announced: Vec<ParticipantId>,
    /// Someone louder than the active speaker, and since when.
    challenger: Option<(ParticipantId, Instant)>,
    next_check: Option<Instant>,
}

impl SpeakerDetector {
    /// An audio packet from `who`'s microphone with `level` in -dBov (0 is
    /// the loudest, -127 silence), as str0m reports it. Smoothing follows
    /// the packets' RTP timestamps, i.e. the audio's own time: packets that
    /// arrive bunched or late after network jitter weigh what they last.
    pub fn observe(&mut self, now: Instant, who: &ParticipantId, level: i8, rtp_time: u32) {
        let amplitude = 10f32.powf(f32::from(level.min(0)) / 20.0);
        let voice = self.voices.entry(who.clone()).or_insert(Voice {
            loudness: 0.0,
            activity: 0.0,
            last_at: now,
            last_rtp_time: rtp_time.wrapping_sub(960),
        });
        let ticks = rtp_time.wrapping_sub(voice.last_rtp_time) as i32;
        if ticks <= 0 {
            // Reordered or repeated: already counted.
            return;
        }
        let lasts = (ticks as f32 / OPUS_CLOCK).min(LONGEST_PACKET);
        let keep = (-lasts / SMOOTHING.as_secs_f32()).exp();
        voice.last_rtp_time = rtp_time;
        voice.loudness = keep * voice.loudness + (1.0 - keep) * amplitude;
        let speech = if amplitude >= SPEECH_AMPLITUDE {
            1.0
        } else {
            0.0
        };
        voice.activity = keep * voice.activity + (1.0 - keep) * speech;
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
    /// The active speaker as last announced.
    pub fn active(&self) -> Option<&ParticipantId> {
        self.announced.first()
    }

    pub fn next_check(&self) -> Option<Instant> {
        self.next_check
    }

    /// The new list of speakers, the active speaker first, when who speaks
    /// or who has the floor changed (not for every change of order among
    /// the others, which would be chatter).
    pub fn poll_change(&mut self, now: Instant) -> Option<Vec<ParticipantId>> {
        if self.next_check.is_none_or(|at| now < at) {
            return None;
        }
        self.voices
            .retain(|_, v| now.saturating_duration_since(v.last_at) < STALE_AFTER * 4);
        self.next_check =
            (!self.voices.is_empty() || !self.announced.is_empty()).then_some(now + CHECK_EVERY);

        let mut speaking: Vec<(&ParticipantId, f32)> = self
            .voices
            .iter()
            .filter(|(_, v)| {
                v.activity >= SPEECH_ACTIVITY
                    && now.saturating_duration_since(v.last_at) < STALE_AFTER
            })
            .map(|(id, v)| (id, v.loudness))
            .collect();
        speaking.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));

        let current = self
            .announced
            .first()
            .and_then(|c| speaking.iter().find(|(id, _)| *id == c).copied());
        let floor = match (current, speaking.first()) {
            (Some((current, loudness)), Some((loudest, top))) if loudest != &current => {
                if *top >= loudness * TAKEOVER {
                    let since = match &self.challenger {
                        Some((who, since)) if who == *loudest => *since,
                        _ => now,
                    };
                    self.challenger = Some(((*loudest).clone(), since));
                    if now.saturating_duration_since(since) >= TAKEOVER_AFTER {
                        self.challenger = None;
                        (*loudest).clone()
                    } else {
                        current.clone()
                    }
                } else {
                    self.challenger = None;
                    current.clone()
                }
            }
            (Some((current, _)), _) => {
                self.challenger = None;
                current.clone()
            }
            (None, Some((loudest, _))) => (*loudest).clone(),
            (None, None) => {
                self.challenger = None;
                return self.announce(Vec::new());
            }
        };
        // The others keep the order they were announced in; newcomers go
        // after them, loudest first.
        let mut list = vec![floor.clone()];
        list.extend(
            self.announced
                .iter()
                .filter(|id| **id != floor && speaking.iter().any(|(s, _)| s == id))
                .cloned(),
        );
        for (id, _) in &speaking {
            if !list.contains(id) {
                list.push((*id).clone());
            }
        }
        self.announce(list)
    }

    fn announce(&mut self, list: Vec<ParticipantId>) -> Option<Vec<ParticipantId>> {
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
                d.observe(now, id, *level, (ms * 48) as u32);
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
        // A falls silent: B has the floor within 0.8 s.
        let changes = talk(&mut d, t0, 2000, 2800, &[(&a, -127), (&b, -19)]);
        assert_eq!(changes, vec![vec![b.clone()]]);
        // A comes back much louder: takes over after a second of it.
        let changes = talk(&mut d, t0, 2800, 3700, &[(&a, -6), (&b, -19)]);
        assert_eq!(changes, vec![vec![b.clone(), a.clone()]]);
        let changes = talk(&mut d, t0, 3700, 4700, &[(&a, -6), (&b, -19)]);
        assert_eq!(changes, vec![vec![a.clone(), b.clone()]]);
    }

    /// A loud 40 ms beep every half second, silence in between, each 20 ms
    /// packet arriving at `arrival(ms)`: never listed as speaking.
    fn assert_beeps_are_not_speech(arrival: impl Fn(u64) -> u64) {
        let a = ParticipantId::random();
        let mut d = SpeakerDetector::default();
        let t0 = Instant::now();
        for ms in (0..5000u64).step_by(20) {
            let now = t0 + Duration::from_millis(arrival(ms));
            let level = if ms % 500 < 40 { -6 } else { -127 };
            d.observe(now, &a, level, (ms * 48) as u32);
            assert_eq!(d.poll_change(now), None, "listed as speaking at {ms} ms");
        }
    }

    #[test]
    fn a_beep_now_and_then_is_not_speech() {
        assert_beeps_are_not_speech(|ms| ms);
    }

    #[test]
    fn packets_bunched_by_jitter_weigh_what_they_last() {
        // The network holds packets back and delivers them in bursts of ten
        // every 200 ms: still not speech.
        assert_beeps_are_not_speech(|ms| ms - ms % 200 + 200);
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

//! Simultaneous interpretation: the floor, and one audio channel per
//! language. Interpreters publish on a channel of their grant's pair; per
//! channel at most one of them is live (the booth's others stand by, their
//! audio not forwarded); each listener hears the floor and the live
//! interpreter of the language it chose, and nothing of the others.

use std::collections::BTreeMap;

use hotline_proto::{
    ChannelInfo, Grants, Language, PublishedTrack, ServerMessage, TrackKind, TrackSource,
};

use crate::ids::ParticipantId;

/// Most languages a room may declare.
pub const MAX_LANGUAGES: usize = 8;

#[derive(Debug, Default)]
pub(crate) struct Interpretation {
    /// The room's languages; empty when it has no interpretation.
    languages: Vec<Language>,
    /// Who is live on each channel.
    live: BTreeMap<Language, ParticipantId>,
}

impl Interpretation {
    pub fn new(languages: &[Language]) -> Interpretation {
        let mut interpretation = Interpretation::default();
        interpretation.declare(languages);
        interpretation
    }

    pub fn languages(&self) -> &[Language] {
        &self.languages
    }

    /// Takes `languages` as the room's, unless it has some already (the
    /// first to declare them, a preset or the token that opened the room,
    /// decides). Returns whether they were taken.
    pub fn declare(&mut self, languages: &[Language]) -> bool {
        if !self.languages.is_empty() || languages.is_empty() {
            return false;
        }
        for language in languages.iter().take(MAX_LANGUAGES) {
            if !self.languages.contains(language) {
                self.languages.push(*language);
            }
        }
        true
    }

    pub fn has(&self, language: Language) -> bool {
        self.languages.contains(&language)
    }

    pub fn is_live(&self, language: Language, who: &ParticipantId) -> bool {
        self.live.get(&language) == Some(who)
    }

    /// The channel `who` is live on, if any.
    pub fn live_channel_of(&self, who: &ParticipantId) -> Option<Language> {
        self.live
            .iter()
            .find_map(|(language, live)| (live == who).then_some(*language))
    }

    /// Makes `who` the live interpreter of `language`, and no other
    /// channel's.
    pub fn go_live(&mut self, language: Language, who: &ParticipantId) {
        self.release(who);
        self.live.insert(language, who.clone());
    }

    /// `who` is live on `language` unless someone else already is there.
    pub fn go_live_if_free(&mut self, language: Language, who: &ParticipantId) {
        if !self.live.contains_key(&language) && self.live_channel_of(who).is_none() {
            self.live.insert(language, who.clone());
        }
    }

    /// Ends whatever `who` is live on; returns whether it was.
    pub fn release(&mut self, who: &ParticipantId) -> bool {
        let before = self.live.len();
        self.live.retain(|_, live| live != who);
        self.live.len() != before
    }

    /// What the room says of its interpretation, given each interpreter's
    /// channel (`booths`: participant and the channel of its track).
    pub fn message<'a>(
        &self,
        booths: impl Iterator<Item = (&'a ParticipantId, Language)>,
    ) -> ServerMessage {
        let mut channels: Vec<ChannelInfo> = self
            .languages
            .iter()
            .map(|language| ChannelInfo {
                language: *language,
                live: self.live.get(language).map(|p| p.to_string()),
                interpreters: Vec::new(),
            })
            .collect();
        for (who, language) in booths {
            if let Some(channel) = channels.iter_mut().find(|c| c.language == language) {
                channel.interpreters.push(who.to_string());
            }
        }
        ServerMessage::Interpretation {
            languages: self.languages.clone(),
            channels,
        }
    }

    /// Whether a participant with `grants` may publish `tracks`: an
    /// interpreter publishes interpretation audio only, on a language of
    /// its pair that the room has; nobody else publishes interpretation.
    pub fn check_tracks(&self, grants: &Grants, tracks: &[PublishedTrack]) -> Result<(), String> {
        for t in tracks {
            let interpretation = t.source == TrackSource::Interpretation;
            match (grants.interpret, interpretation) {
                (None, false) => {}
                (None, true) => {
                    return Err("only an interpreter can publish interpretation".into());
                }
                (Some(_), false) => {
                    return Err(
                        "an interpreter publishes interpretation audio only, on a language channel"
                            .into(),
                    );
                }
                (Some(pair), true) => {
                    let Some(language) = t.language else {
                        return Err("an interpretation track needs its language".into());
                    };
                    if t.kind != TrackKind::Audio {
                        return Err("interpretation is audio".into());
                    }
                    if !pair.contains(&language) {
                        return Err(format!(
                            "you interpret between {} and {}, not into {language}",
                            pair[0], pair[1]
                        ));
                    }
                    if !self.has(language) {
                        return Err(format!("this call has no {language} channel"));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(tag: &str) -> Language {
        Language::parse(tag).unwrap()
    }

    fn track(source: TrackSource, kind: TrackKind, language: Option<&str>) -> PublishedTrack {
        PublishedTrack {
            mid: "0".into(),
            kind,
            source,
            muted: false,
            layers: Vec::new(),
            language: language.map(lang),
        }
    }

    #[test]
    fn the_first_to_declare_languages_decides() {
        let mut i = Interpretation::default();
        assert!(!i.declare(&[]));
        assert!(i.declare(&[lang("ru"), lang("en"), lang("ru")]));
        assert!(!i.declare(&[lang("fr")]));
        assert_eq!(i.languages(), [lang("ru"), lang("en")]);
    }

    #[test]
    fn one_live_interpreter_per_channel_and_one_channel_per_interpreter() {
        let mut i = Interpretation::new(&[lang("ru"), lang("en")]);
        let (a, b) = (ParticipantId::random(), ParticipantId::random());
        i.go_live_if_free(lang("en"), &a);
        i.go_live_if_free(lang("en"), &b);
        assert!(i.is_live(lang("en"), &a) && !i.is_live(lang("en"), &b));
        // B takes over: A is off at once.
        i.go_live(lang("en"), &b);
        assert!(i.is_live(lang("en"), &b) && !i.is_live(lang("en"), &a));
        // B moves to Russian: English falls silent.
        i.go_live(lang("ru"), &b);
        assert_eq!(i.live_channel_of(&b), Some(lang("ru")));
        assert!(!i.is_live(lang("en"), &b));
        assert!(i.release(&b));
        assert!(!i.release(&b));
    }

    #[test]
    fn only_interpreters_publish_interpretation_and_only_that() {
        let i = Interpretation::new(&[lang("ru"), lang("en")]);
        let guest = Grants::default();
        let interpreter = Grants {
            interpret: Some([lang("ru"), lang("en")]),
            ..Grants::default()
        };
        let mic = track(TrackSource::Microphone, TrackKind::Audio, None);
        let into = |l: &str| track(TrackSource::Interpretation, TrackKind::Audio, Some(l));
        assert!(i.check_tracks(&guest, std::slice::from_ref(&mic)).is_ok());
        assert!(i.check_tracks(&guest, &[into("en")]).is_err());
        assert!(i.check_tracks(&interpreter, &[into("en")]).is_ok());
        assert!(i.check_tracks(&interpreter, &[mic]).is_err());
        assert!(i.check_tracks(&interpreter, &[into("fr")]).is_err());
        let no_language = track(TrackSource::Interpretation, TrackKind::Audio, None);
        assert!(i.check_tracks(&interpreter, &[no_language]).is_err());
        let video = track(TrackSource::Interpretation, TrackKind::Video, Some("en"));
        assert!(i.check_tracks(&interpreter, &[video]).is_err());
    }
}

//! The mood model: emotions on Russell's circumplex (valence, arousal), strategies, and the placement of
//! music on the same plane from real audio features.
//!
//! Coordinates are in [-1, 1] on both axes. Six of the seven emotions use the positions of the nearest
//! adjective in Russell (1980), "A circumplex model of affect", Fig. 4, as commonly digitised:
//! happy ≈ "happy"/"delighted" (0.89, 0.17–0.35), sad ≈ "sad" (-0.81, -0.40), angry ≈ "angry"
//! (-0.40, 0.79), surprise ≈ "astonished" (0.17, 0.89), neutral at the origin.
//!
//! Two choices need a justification:
//! - **fear**: Russell's "afraid" sits at (-0.12, 0.79), barely unpleasant, an artefact of the word list
//!   (it clusters with "alarmed"). FER-2013 fear faces are distressed, and the strategies must treat fear
//!   as an unpleasant state to steer away from, so fear is placed between "afraid" and "distressed"
//!   (-0.71, 0.55): (-0.60, 0.70).
//! - **disgust**: not on Russell's list. Appraisal studies (Scherer's Geneva Emotion Wheel, Russell &
//!   Mehrabian's PAD ratings, "disgusted" P = -0.60, A = 0.35) place it clearly unpleasant and moderately
//!   aroused, below anger: (-0.65, 0.35).

pub use moodlens_session::mood::{emotion_va, Mood, MoodError, SessionMood, Va};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::RecommendError;

/// Where the `uplift` strategy leads: pleasant, mildly aroused ("glad"/"pleased").
pub const UPLIFT_GOAL: Va = Va::new(0.80, 0.30);
/// Where the `calm` strategy leads: "relaxed"/"calm" in Russell's circumplex.
pub const CALM_GOAL: Va = Va::new(0.60, -0.60);
/// Where the `calm` music path ends. Spotify's valence underrates calm pieces (ambient, piano and
/// acoustic tracks score low although people label them calm, not sad: the Calm class of
/// `data_moods.csv` has the lowest mean valence), so in music space the path aims at low arousal
/// and the upper edge of the Calm cluster's valence rather than at Russell's "relaxed".
pub const CALM_MUSIC_GOAL: Va = Va::new(-0.10, -0.80);

/// How recommendations relate to the mood.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Content congruent with the mood (as in the original design: happy → comedy, sad → drama,
    /// angry → action); the default strategy per emotion is in the config.
    #[default]
    Match,
    /// Iso principle: music starts near the mood and moves step by step toward positive valence;
    /// movies lean to comforting, uplifting genres.
    Uplift,
    /// Toward low arousal and positive valence.
    Calm,
    /// Comfort (the default for sad): emotional dramas and gentle films, soothing acoustic and piano
    /// music that first meets the mood, then settles.
    Comfort,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [
        Strategy::Match,
        Strategy::Uplift,
        Strategy::Calm,
        Strategy::Comfort,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Strategy::Match => "match",
            Strategy::Uplift => "uplift",
            Strategy::Calm => "calm",
            Strategy::Comfort => "comfort",
        }
    }

    /// How an item relates to the mood under this strategy, for reasons ("fits happy",
    /// "toward calm").
    pub fn phrase(self, mood: &str) -> String {
        match self {
            Strategy::Match => format!("fits {mood}"),
            Strategy::Uplift => format!("lifts {mood}"),
            Strategy::Calm => "toward calm".to_string(),
            Strategy::Comfort => format!("comfort for {mood}"),
        }
    }

    /// A path of `n` points on the circumplex from `start` toward the strategy's goal (comfort:
    /// as calm). The engine plans music by music moods (see `engine` and docs/RECOMMEND.md,
    /// "Music: moods, not points"); this path is kept for callers that place points themselves.
    pub fn music_path(self, start: Va, n: usize) -> Vec<Va> {
        match self {
            Strategy::Match => vec![start; n],
            Strategy::Uplift => path(start, UPLIFT_GOAL, n),
            Strategy::Calm | Strategy::Comfort => {
                path(start.lerp(CALM_MUSIC_GOAL, 0.5), CALM_MUSIC_GOAL, n)
            }
        }
    }
}

fn path(from: Va, to: Va, n: usize) -> Vec<Va> {
    (0..n)
        .map(|i| {
            let t = if n <= 1 {
                1.0
            } else {
                i as f64 / (n - 1) as f64
            };
            from.lerp(to, t)
        })
        .collect()
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Strategy {
    type Err = RecommendError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "match" => Ok(Strategy::Match),
            "uplift" => Ok(Strategy::Uplift),
            "calm" => Ok(Strategy::Calm),
            "comfort" => Ok(Strategy::Comfort),
            other => Err(RecommendError::InvalidStrategy(format!(
                "unknown strategy '{other}': expected match, uplift, calm or comfort"
            ))),
        }
    }
}

/// Audio features of a track, as in Spotify's (now closed) audio-features endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AudioFeatures {
    pub valence: f64,
    pub energy: f64,
    pub danceability: f64,
    pub acousticness: f64,
    pub instrumentalness: f64,
    /// dB, typically -60..0.
    pub loudness: f64,
    pub tempo: f64,
}

impl AudioFeatures {
    /// The field names, as Spotify tables name their columns, in the order of
    /// [`AudioFeatures::from_array`].
    pub const NAMES: [&'static str; 7] = [
        "valence",
        "energy",
        "danceability",
        "acousticness",
        "instrumentalness",
        "loudness",
        "tempo",
    ];

    /// The features from their values in [`AudioFeatures::NAMES`] order.
    pub fn from_array(v: [f64; 7]) -> Self {
        AudioFeatures {
            valence: v[0],
            energy: v[1],
            danceability: v[2],
            acousticness: v[3],
            instrumentalness: v[4],
            loudness: v[5],
            tempo: v[6],
        }
    }

    /// Raw placement in [0, 1]²: (valence', arousal').
    ///
    /// arousal' = (2·energy + loudness' + (1 − acousticness) + (1 − instrumentalness)) / 5, with
    /// loudness' = clamp((dB + 30) / 30); valence' = (valence + danceability) / 2.
    /// Weights chosen from the literature's picture of arousal (energy, loudness, electric rather than
    /// acoustic, vocals) and checked against `data_moods.csv`; see docs/RECOMMEND.md.
    pub fn raw_placement(&self) -> (f64, f64) {
        let loud = ((self.loudness + 30.0) / 30.0).clamp(0.0, 1.0);
        let c = |x: f64| x.clamp(0.0, 1.0);
        let arousal = (2.0 * c(self.energy)
            + loud
            + (1.0 - c(self.acousticness))
            + (1.0 - c(self.instrumentalness)))
            / 5.0;
        let valence = (c(self.valence) + c(self.danceability)) / 2.0;
        (valence, arousal)
    }

    /// Placement on the circumplex, [-1, 1]²: the raw placement centred and scaled so that the
    /// catalog's typical spread covers the plane.
    pub fn va(&self) -> Va {
        let (v, a) = self.raw_placement();
        Va::new(
            ((v - 0.45) / 0.30).clamp(-1.0, 1.0),
            ((a - 0.55) / 0.35).clamp(-1.0, 1.0),
        )
    }

    /// Short words for a reason: "acoustic", "instrumental", "low energy", "danceable", …
    pub fn describe(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.acousticness >= 0.6 {
            v.push("acoustic");
        } else if self.acousticness <= 0.1 && self.energy >= 0.6 {
            v.push("electric");
        }
        if self.instrumentalness >= 0.5 {
            v.push("instrumental");
        }
        if self.energy < 0.35 {
            v.push("low energy");
        } else if self.energy > 0.75 {
            v.push("high energy");
        } else {
            v.push("mid energy");
        }
        if self.danceability >= 0.7 {
            v.push("danceable");
        }
        v
    }

    /// The closest of the four human music-mood labels (by the shipped prototypes).
    pub fn music_mood(&self) -> MusicMood {
        MusicPrototypes::default().classify(self.raw_placement())
    }
}

/// The four music moods people labelled in `data_moods.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MusicMood {
    Happy,
    Sad,
    Calm,
    Energetic,
}

impl MusicMood {
    pub const ALL: [MusicMood; 4] = [
        MusicMood::Happy,
        MusicMood::Sad,
        MusicMood::Calm,
        MusicMood::Energetic,
    ];

    pub fn label(self) -> &'static str {
        match self {
            MusicMood::Happy => "Happy",
            MusicMood::Sad => "Sad",
            MusicMood::Calm => "Calm",
            MusicMood::Energetic => "Energetic",
        }
    }

    /// A word for reasons: upbeat, melancholy, calm, energetic.
    pub fn word(self) -> &'static str {
        match self {
            MusicMood::Happy => "upbeat",
            MusicMood::Sad => "melancholy",
            MusicMood::Calm => "calm",
            MusicMood::Energetic => "energetic",
        }
    }

    /// Where the label's tracks sit in the raw placement plane (the shipped prototype).
    pub fn prototype(self) -> (f64, f64) {
        MusicPrototypes::default()
            .0
            .iter()
            .find(|(m, _, _)| *m == self)
            .map(|(_, v, a)| (*v, *a))
            .unwrap_or((0.45, 0.55))
    }

    /// Rank of the label on the way up (iso principle: sad, calm, energetic, happy).
    pub fn uplift_rank(self) -> u8 {
        match self {
            MusicMood::Sad => 0,
            MusicMood::Calm => 1,
            MusicMood::Energetic => 2,
            MusicMood::Happy => 3,
        }
    }

    /// Rank of the label on the way down to calm (energetic, happy, sad, calm).
    pub fn calm_rank(self) -> u8 {
        match self {
            MusicMood::Energetic => 0,
            MusicMood::Happy => 1,
            MusicMood::Sad => 2,
            MusicMood::Calm => 3,
        }
    }

    /// The music mood of a circumplex point (used to pick playlist queries): low arousal is Calm;
    /// high arousal without strong pleasure is Energetic; otherwise pleasant is Happy and unpleasant
    /// Sad (or Energetic when aroused).
    pub fn for_va(va: Va) -> MusicMood {
        if va.arousal < -0.45 {
            MusicMood::Calm
        } else if va.arousal > 0.6 && va.valence < 0.5 {
            MusicMood::Energetic
        } else if va.valence >= 0.0 {
            MusicMood::Happy
        } else if va.arousal >= 0.3 {
            MusicMood::Energetic
        } else {
            MusicMood::Sad
        }
    }
}

impl FromStr for MusicMood {
    type Err = RecommendError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "happy" => Ok(MusicMood::Happy),
            "sad" => Ok(MusicMood::Sad),
            "calm" => Ok(MusicMood::Calm),
            "energetic" => Ok(MusicMood::Energetic),
            other => Err(RecommendError::InvalidMood(format!(
                "unknown music mood '{other}'"
            ))),
        }
    }
}

/// Nearest-prototype classifier in the raw placement space.
#[derive(Debug, Clone, PartialEq)]
pub struct MusicPrototypes(pub [(MusicMood, f64, f64); 4]);

impl Default for MusicPrototypes {
    /// Class means of the raw placement over all 687 tracks of `data_moods.csv`.
    fn default() -> Self {
        MusicPrototypes([
            (MusicMood::Happy, 0.6010, 0.8014),
            (MusicMood::Sad, 0.3929, 0.5267),
            (MusicMood::Calm, 0.2791, 0.1696),
            (MusicMood::Energetic, 0.4746, 0.9052),
        ])
    }
}

impl MusicPrototypes {
    pub fn classify(&self, (v, a): (f64, f64)) -> MusicMood {
        let mut best = self.0[0].0;
        let mut bd = f64::INFINITY;
        for (m, pv, pa) in self.0 {
            let d = (v - pv).powi(2) + (a - pa).powi(2);
            if d < bd {
                bd = d;
                best = m;
            }
        }
        best
    }

    /// Fit prototypes as class means; `None` when a class has no example.
    pub fn fit(samples: &[((f64, f64), MusicMood)]) -> Option<MusicPrototypes> {
        let mut out = MusicPrototypes::default();
        for slot in out.0.iter_mut() {
            let pts: Vec<_> = samples.iter().filter(|(_, m)| *m == slot.0).collect();
            if pts.is_empty() {
                return None;
            }
            let n = pts.len() as f64;
            slot.1 = pts.iter().map(|(p, _)| p.0).sum::<f64>() / n;
            slot.2 = pts.iter().map(|(p, _)| p.1).sum::<f64>() / n;
        }
        Some(out)
    }
}

/// Agreement of the mapping with human labels, `k`-fold cross-validated (fold = row index mod k):
/// prototypes are fitted on the other folds and scored on the held-out one. Returns (agreement in
/// [0, 1], number of samples).
pub fn cross_validated_agreement(samples: &[(AudioFeatures, MusicMood)], k: usize) -> (f64, usize) {
    let placed: Vec<_> = samples
        .iter()
        .map(|(f, m)| (f.raw_placement(), *m))
        .collect();
    let mut correct = 0usize;
    for fold in 0..k {
        let train: Vec<_> = placed
            .iter()
            .enumerate()
            .filter(|(i, _)| i % k != fold)
            .map(|(_, s)| *s)
            .collect();
        let protos = MusicPrototypes::fit(&train).unwrap_or_default();
        correct += placed
            .iter()
            .enumerate()
            .filter(|(i, _)| i % k == fold)
            .filter(|(_, (p, m))| protos.classify(*p) == *m)
            .count();
    }
    let n = placed.len();
    (
        if n == 0 {
            0.0
        } else {
            correct as f64 / n as f64
        },
        n,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use moodlens_common::Emotion;

    #[test]
    fn all_emotions_on_the_plane_and_negative_ones_unpleasant() {
        for e in Emotion::ALL {
            let va = emotion_va(e);
            assert!((-1.0..=1.0).contains(&va.valence) && (-1.0..=1.0).contains(&va.arousal));
        }
        for e in [
            Emotion::Angry,
            Emotion::Disgust,
            Emotion::Fear,
            Emotion::Sad,
        ] {
            assert!(emotion_va(e).valence < -0.3, "{e}");
        }
        assert!(emotion_va(Emotion::Happy).valence > 0.5);
        assert!(emotion_va(Emotion::Fear).arousal > emotion_va(Emotion::Disgust).arousal);
    }

    #[test]
    fn probabilities_are_weighted_and_validated() {
        let mut p = [0.0; 7];
        p[Emotion::Happy.index()] = 0.5;
        p[Emotion::Sad.index()] = 0.5;
        let m = Mood::from_probabilities(&p).unwrap();
        let h = emotion_va(Emotion::Happy);
        let s = emotion_va(Emotion::Sad);
        assert!((m.va.valence - (h.valence + s.valence) / 2.0).abs() < 1e-9);
        // unnormalised input is renormalised
        let m2 = Mood::from_probabilities(&[0., 0., 0., 2., 0., 0., 0.]).unwrap();
        assert_eq!(m2.emotion, Emotion::Happy);
        assert!((m2.probabilities[3] - 1.0).abs() < 1e-12);
        assert!(Mood::from_probabilities(&[0.0; 7]).is_err());
        assert!(Mood::from_probabilities(&[1.0; 6]).is_err());
        assert!(Mood::from_probabilities(&[f64::NAN, 0., 0., 1., 0., 0., 0.]).is_err());
        assert!(Mood::from_probabilities(&[-1.0, 0., 0., 1., 0., 0., 0.]).is_err());
        assert_eq!(
            Mood::from_emotion(Emotion::Fear).va,
            emotion_va(Emotion::Fear)
        );
    }

    #[test]
    fn uplift_path_moves_monotonically_toward_positive_valence() {
        let start = emotion_va(Emotion::Sad);
        let p = Strategy::Uplift.music_path(start, 6);
        assert_eq!(p.len(), 6);
        assert_eq!(p[0], start);
        for w in p.windows(2) {
            assert!(w[1].valence > w[0].valence);
        }
        assert!(p[5].dist2(UPLIFT_GOAL) < 1e-12);
        let c = Strategy::Calm.music_path(emotion_va(Emotion::Angry), 4);
        assert!(c.iter().all(|v| v.arousal < 0.79));
        assert!(Strategy::Match
            .music_path(start, 3)
            .iter()
            .all(|v| *v == start));
        assert_eq!("UPLIFT".parse::<Strategy>().unwrap(), Strategy::Uplift);
        assert!("loud".parse::<Strategy>().is_err());
    }

    #[test]
    fn placement_orders_calm_below_energetic() {
        let calm = AudioFeatures {
            valence: 0.1,
            energy: 0.1,
            danceability: 0.3,
            acousticness: 0.95,
            instrumentalness: 0.9,
            loudness: -22.0,
            tempo: 80.0,
        };
        let loud = AudioFeatures {
            valence: 0.5,
            energy: 0.95,
            danceability: 0.5,
            acousticness: 0.01,
            instrumentalness: 0.0,
            loudness: -4.0,
            tempo: 150.0,
        };
        assert!(calm.va().arousal < loud.va().arousal);
        assert_eq!(calm.music_mood(), MusicMood::Calm);
        assert_eq!(loud.music_mood(), MusicMood::Energetic);
    }
}

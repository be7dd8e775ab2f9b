//! The one rule from what the camera saw to a mood, and the mood value every front end and the
//! recommender share.
//!
//! **The rule.** A session's mood is named by the most frequent smoothed top emotion over all faces
//! and frames (each face votes once per frame; ties go to the higher mean probability), and it is
//! described by the mean smoothed probabilities of the observations that voted for that emotion —
//! not of all observations — so the name, the distribution and the circumplex position (and so the
//! films and the music chosen from them) always describe the same mood. A session that switches
//! from a happy face to a sad one and ends with more happy votes is happy, with a happy
//! distribution; averaging everything would have placed it between the two and picked sad music
//! for a mood called happy. With several people seen for a while (each at least a tenth of the
//! longest one's frames, and 3 frames in videos), each gets a mood by the same rule over their own
//! observations ([`SessionMood::people`]).
//!
//! **Coordinates** are in [-1, 1] on both axes. Six of the seven emotions use the positions of the
//! nearest adjective in Russell (1980), "A circumplex model of affect", Fig. 4, as commonly
//! digitised: happy ≈ "happy"/"delighted" (0.89, 0.17–0.35), sad ≈ "sad" (-0.81, -0.40), angry ≈
//! "angry" (-0.40, 0.79), surprise ≈ "astonished" (0.17, 0.89), neutral at the origin. Two need a
//! justification:
//! - **fear**: Russell's "afraid" sits at (-0.12, 0.79), barely unpleasant, an artefact of the word
//!   list (it clusters with "alarmed"). FER-2013 fear faces are distressed, and the strategies must
//!   treat fear as an unpleasant state to steer away from, so fear is placed between "afraid" and
//!   "distressed" (-0.71, 0.55): (-0.60, 0.70).
//! - **disgust**: not on Russell's list. Appraisal studies (Scherer's Geneva Emotion Wheel, Russell &
//!   Mehrabian's PAD ratings, "disgusted" P = -0.60, A = 0.35) place it clearly unpleasant and
//!   moderately aroused, below anger: (-0.65, 0.35).

use crate::{Emotion, SessionSummary, TrackSummary, NUM_EMOTIONS};
use serde::{Deserialize, Serialize};

/// A mood that cannot be formed (bad probabilities).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MoodError(pub String);

/// A point on the valence/arousal plane, both in [-1, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Va {
    pub valence: f64,
    pub arousal: f64,
}

impl Va {
    pub const fn new(valence: f64, arousal: f64) -> Self {
        Va { valence, arousal }
    }

    pub fn dist2(self, o: Va) -> f64 {
        (self.valence - o.valence).powi(2) + (self.arousal - o.arousal).powi(2)
    }

    /// Linear interpolation from `self` (t = 0) to `o` (t = 1).
    pub fn lerp(self, o: Va, t: f64) -> Va {
        Va::new(
            self.valence + (o.valence - self.valence) * t,
            self.arousal + (o.arousal - self.arousal) * t,
        )
    }
}

/// Circumplex coordinates of an emotion (see the module documentation for the sources).
pub fn emotion_va(e: Emotion) -> Va {
    match e {
        Emotion::Angry => Va::new(-0.40, 0.79),
        Emotion::Disgust => Va::new(-0.65, 0.35),
        Emotion::Fear => Va::new(-0.60, 0.70),
        Emotion::Happy => Va::new(0.89, 0.26),
        Emotion::Sad => Va::new(-0.81, -0.40),
        Emotion::Surprise => Va::new(0.17, 0.89),
        Emotion::Neutral => Va::new(0.0, 0.0),
    }
}

/// The mood of a session: a dominant emotion and the full probability distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mood {
    /// The most probable emotion.
    pub emotion: Emotion,
    /// Probabilities in `Emotion::ALL` order, summing to 1.
    pub probabilities: [f64; NUM_EMOTIONS],
    /// Probability-weighted circumplex position.
    pub va: Va,
}

impl Mood {
    /// A certain mood: probability 1 on one emotion.
    pub fn from_emotion(e: Emotion) -> Mood {
        let mut p = [0.0; NUM_EMOTIONS];
        p[e.index()] = 1.0;
        Mood {
            emotion: e,
            probabilities: p,
            va: emotion_va(e),
        }
    }

    /// A mood from a 7-probability distribution (the model's output order). The values are
    /// renormalised; negative, non-finite or all-zero inputs are rejected.
    pub fn from_probabilities(p: &[f64]) -> Result<Mood, MoodError> {
        if p.len() != NUM_EMOTIONS {
            return Err(MoodError(format!(
                "expected {NUM_EMOTIONS} probabilities, got {}",
                p.len()
            )));
        }
        if p.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(MoodError(
                "probabilities must be finite and non-negative".into(),
            ));
        }
        let sum: f64 = p.iter().sum();
        if sum <= 0.0 {
            return Err(MoodError("probabilities sum to zero".into()));
        }
        let mut probs = [0.0; NUM_EMOTIONS];
        let (mut v, mut a) = (0.0, 0.0);
        let mut best = 0;
        for (i, x) in p.iter().enumerate() {
            probs[i] = x / sum;
            let e = Emotion::ALL[i];
            v += probs[i] * emotion_va(e).valence;
            a += probs[i] * emotion_va(e).arousal;
            if probs[i] > probs[best] {
                best = i;
            }
        }
        Ok(Mood {
            emotion: Emotion::ALL[best],
            probabilities: probs,
            va: Va::new(v, a),
        })
    }
}

impl Mood {
    /// A mood named `emotion` and described by `probabilities` (renormalised; their weighted
    /// circumplex position is the mood's), as the session rule forms it.
    pub fn from_reading(emotion: Emotion, probabilities: &[f64]) -> Result<Mood, MoodError> {
        let mut m = Mood::from_probabilities(probabilities)?;
        m.emotion = emotion;
        Ok(m)
    }
}

/// The mood of a whole session by the rule in the module docs: the session's mood, and each
/// person's when several people were seen for a while. What the recommender takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionMood {
    /// Everyone together.
    pub mood: Mood,
    /// One mood per person seen for a while (in order of appearance); empty or one for a single
    /// person.
    pub people: Vec<Mood>,
}

impl SessionMood {
    /// The mood of one or more sessions (e.g. one per photo, read together); `None` when no face
    /// was seen.
    pub fn of(summaries: &[&SessionSummary]) -> Option<SessionMood> {
        let mut votes = [0usize; NUM_EMOTIONS];
        let mut sums = [[0f64; NUM_EMOTIONS]; NUM_EMOTIONS];
        let mut mean_sum = [0f64; NUM_EMOTIONS];
        let mut n = 0u64;
        for s in summaries {
            for e in Emotion::ALL {
                votes[e.index()] += s.mood_votes.get(&e).copied().unwrap_or(0);
                mean_sum[e.index()] += s.mean_probabilities.get(&e).copied().unwrap_or(0.0) as f64
                    * s.face_observations as f64;
            }
            for (acc, v) in sums.iter_mut().zip(&s.vote_sums()) {
                for (a, x) in acc.iter_mut().zip(v) {
                    *a += x;
                }
            }
            n += s.face_observations;
        }
        let mean: crate::Probs = std::array::from_fn(|i| (mean_sum[i] / n.max(1) as f64) as f32);
        let label = crate::final_mood(&votes, &mean)?;
        let mood = reading(label, &sums[label.index()])?;
        let tracks: Vec<&TrackSummary> = summaries.iter().flat_map(|s| &s.tracks).collect();
        let people = people_of(&tracks)
            .into_iter()
            .filter_map(|t| reading(t.mood?, &t.vote_sums()[t.mood?.index()]))
            .collect();
        Some(SessionMood { mood, people })
    }

    /// True when the session saw several people (the recommender then makes one list for the
    /// group).
    pub fn is_group(&self) -> bool {
        self.people.len() > 1
    }
}

fn reading(label: Emotion, sums: &[f64; NUM_EMOTIONS]) -> Option<Mood> {
    Mood::from_reading(label, sums).ok()
}

/// The identities that count as people: seen in at least a tenth of the longest one's frames (and
/// 3 frames when the longest has more than one), so a face glimpsed for a moment is not a viewer.
pub fn people_of<'a>(tracks: &[&'a TrackSummary]) -> Vec<&'a TrackSummary> {
    let longest = tracks.iter().map(|t| t.frames).max().unwrap_or(0);
    let min = if longest <= 1 {
        1
    } else {
        (longest / 10).max(3).min(longest)
    };
    tracks
        .iter()
        .copied()
        .filter(|t| t.frames >= min && t.mood.is_some())
        .collect()
}

//! moodlens-session: what happens to per-face emotion probabilities between frames — IoU tracking
//! (each face keeps an identity across frames), a rolling window per identity that smooths the
//! 7-probability vectors, the top-3 of each face, and the session's final mood.
//!
//! Pure logic: no I/O, no OpenCV, no NN stack. Depends only on `moodlens-common` (the emotion labels
//! and their order) and serde (the summary is serialised for `--json`).
//!
//! Data flow: `Session::observe(boxes, probabilities)` once per frame → per-face [`FaceObservation`]s
//! (track id, box, raw and smoothed probabilities, top-3); `Session::summary()` at any time →
//! [`SessionSummary`] (final mood, vote counts, mean probabilities, per-track summaries).

pub mod mood;
pub mod smooth;
pub mod track;

pub use mood::{Mood, SessionMood, Va};
pub use moodlens_common::{Emotion, NUM_EMOTIONS};
pub use smooth::RollingWindow;
pub use track::{iou, BBox, TrackId, Tracker, TrackerConfig};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Seven probabilities in [`Emotion::ALL`] order.
pub type Probs = [f32; NUM_EMOTIONS];

/// One emotion with its probability (an entry of a top-k list).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub emotion: Emotion,
    pub probability: f32,
}

/// The `k` most probable emotions, most probable first. Ties keep the canonical emotion order.
/// Non-finite values sort last.
pub fn top_k(probs: &Probs, k: usize) -> Vec<Scored> {
    let mut idx: Vec<usize> = (0..NUM_EMOTIONS).collect();
    let key = |i: usize| {
        let p = probs[i];
        if p.is_finite() {
            p
        } else {
            f32::NEG_INFINITY
        }
    };
    // Stable sort: equal probabilities keep the canonical order.
    idx.sort_by(|&a, &b| key(b).total_cmp(&key(a)));
    idx.into_iter()
        .take(k.min(NUM_EMOTIONS))
        .map(|i| Scored {
            emotion: Emotion::ALL[i],
            probability: probs[i],
        })
        .collect()
}

/// The top-3 (what the UI shows per face).
pub fn top3(probs: &Probs) -> Vec<Scored> {
    top_k(probs, 3)
}

/// The single most probable emotion.
pub fn argmax(probs: &Probs) -> Emotion {
    top_k(probs, 1)[0].emotion
}

/// Probabilities keyed by emotion label (stable, readable JSON: `{"angry":0.1,...}`).
pub fn probs_map(probs: &Probs) -> BTreeMap<Emotion, f32> {
    Emotion::ALL
        .iter()
        .map(|e| (*e, probs[e.index()]))
        .collect()
}

/// Settings of a session. Defaults: 10-frame smoothing window, tracker defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SessionConfig {
    /// Length of the per-identity rolling window (frames); 1 disables smoothing.
    pub window: usize,
    pub tracker: TrackerConfig,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            window: 10,
            tracker: TrackerConfig::default(),
        }
    }
}

/// One face in one frame after tracking and smoothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceObservation {
    /// Stable identity of this face across frames (1, 2, ... in order of first appearance).
    pub track_id: TrackId,
    pub bbox: BBox,
    /// The classifier's probabilities for this frame.
    pub probabilities: Probs,
    /// Mean of the last `window` probability vectors of this identity (this frame included).
    pub smoothed: Probs,
    /// Top-3 of the smoothed probabilities.
    pub top3: Vec<Scored>,
}

impl FaceObservation {
    /// Most probable emotion after smoothing.
    pub fn emotion(&self) -> Emotion {
        self.top3[0].emotion
    }
}

/// Error for inconsistent input to [`Session::observe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LengthMismatch {
    pub boxes: usize,
    pub probabilities: usize,
}

impl std::fmt::Display for LengthMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} face boxes but {} probability vectors",
            self.boxes, self.probabilities
        )
    }
}

impl std::error::Error for LengthMismatch {}

#[derive(Debug, Clone, Default)]
struct TrackStats {
    frames: usize,
    first_frame: u64,
    last_frame: u64,
    votes: [usize; NUM_EMOTIONS],
    sum: [f64; NUM_EMOTIONS],
    vote_sums: VoteSums,
}

/// Per voted emotion, the summed smoothed probabilities of the observations that voted for it.
pub type VoteSums = [[f64; NUM_EMOTIONS]; NUM_EMOTIONS];

/// A tracked, smoothed emotion session over a stream of frames.
#[derive(Debug, Clone)]
pub struct Session {
    config: SessionConfig,
    tracker: Tracker,
    windows: BTreeMap<TrackId, RollingWindow>,
    stats: BTreeMap<TrackId, TrackStats>,
    frames: u64,
    frames_with_faces: u64,
    observations: u64,
    votes: [usize; NUM_EMOTIONS],
    sum: [f64; NUM_EMOTIONS],
    vote_sums: VoteSums,
}

impl Session {
    pub fn new(config: SessionConfig) -> Session {
        Session {
            config,
            tracker: Tracker::new(config.tracker),
            windows: BTreeMap::new(),
            stats: BTreeMap::new(),
            frames: 0,
            frames_with_faces: 0,
            observations: 0,
            votes: [0; NUM_EMOTIONS],
            sum: [0.0; NUM_EMOTIONS],
            vote_sums: [[0.0; NUM_EMOTIONS]; NUM_EMOTIONS],
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Frames observed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Feeds one frame: the face boxes and, in the same order, their probabilities. Returns one
    /// observation per face in the input order. Each face votes once per frame with its smoothed
    /// top emotion; frames without faces count as frames but cast no vote.
    pub fn observe(
        &mut self,
        boxes: &[BBox],
        probabilities: &[Probs],
    ) -> Result<Vec<FaceObservation>, LengthMismatch> {
        if boxes.len() != probabilities.len() {
            return Err(LengthMismatch {
                boxes: boxes.len(),
                probabilities: probabilities.len(),
            });
        }
        let frame = self.frames;
        self.frames += 1;
        let ids = self.tracker.update(boxes);
        // Forget the windows of tracks the tracker has dropped.
        let live: Vec<TrackId> = self.tracker.active_ids();
        self.windows.retain(|id, _| live.contains(id));
        if !boxes.is_empty() {
            self.frames_with_faces += 1;
        }
        let mut out = Vec::with_capacity(boxes.len());
        for ((bbox, probs), id) in boxes.iter().zip(probabilities).zip(ids) {
            let window = self
                .windows
                .entry(id)
                .or_insert_with(|| RollingWindow::new(self.config.window));
            window.push(sanitize(probs));
            let smoothed = window.mean();
            let top3 = top3(&smoothed);
            let top = top3[0].emotion;
            self.observations += 1;
            self.votes[top.index()] += 1;
            let st = self.stats.entry(id).or_insert_with(|| TrackStats {
                first_frame: frame,
                ..TrackStats::default()
            });
            st.frames += 1;
            st.last_frame = frame;
            st.votes[top.index()] += 1;
            for (i, v) in smoothed.iter().enumerate() {
                self.sum[i] += *v as f64;
                st.sum[i] += *v as f64;
                self.vote_sums[top.index()][i] += *v as f64;
                st.vote_sums[top.index()][i] += *v as f64;
            }
            out.push(FaceObservation {
                track_id: id,
                bbox: *bbox,
                probabilities: *probs,
                smoothed,
                top3,
            });
        }
        Ok(out)
    }

    /// The summary of everything observed so far.
    pub fn summary(&self) -> SessionSummary {
        let mean = mean_of(&self.sum, self.observations as usize);
        let tracks = self
            .stats
            .iter()
            .map(|(id, st)| {
                let m = mean_of(&st.sum, st.frames);
                let mood = final_mood(&st.votes, &m);
                TrackSummary {
                    track_id: *id,
                    frames: st.frames,
                    first_frame: st.first_frame,
                    last_frame: st.last_frame,
                    mood,
                    mean_probabilities: probs_map(&m),
                    mood_probabilities: mood_probs(mood, &st.vote_sums, &st.votes),
                    vote_sums: st.vote_sums,
                }
            })
            .collect();
        let final_mood = final_mood(&self.votes, &mean);
        SessionSummary {
            frames: self.frames,
            frames_with_faces: self.frames_with_faces,
            face_observations: self.observations,
            identities: self.stats.len(),
            final_mood,
            mood_probabilities: mood_probs(final_mood, &self.vote_sums, &self.votes),
            vote_sums: self.vote_sums,
            mood_votes: Emotion::ALL
                .iter()
                .map(|e| (*e, self.votes[e.index()]))
                .collect(),
            mean_probabilities: probs_map(&mean),
            tracks,
        }
    }
}

fn sanitize(p: &Probs) -> Probs {
    let mut out = *p;
    for v in out.iter_mut() {
        if !v.is_finite() {
            *v = 0.0;
        }
    }
    out
}

fn rebuild_vote_sums(
    mood: Option<Emotion>,
    probs: &BTreeMap<Emotion, f32>,
    votes: &BTreeMap<Emotion, usize>,
) -> VoteSums {
    let mut sums = [[0.0; NUM_EMOTIONS]; NUM_EMOTIONS];
    if let Some(m) = mood {
        let n = votes.get(&m).copied().unwrap_or(0) as f64;
        for e in Emotion::ALL {
            sums[m.index()][e.index()] = probs.get(&e).copied().unwrap_or(0.0) as f64 * n;
        }
    }
    sums
}

impl TrackSummary {
    /// [`VoteSums`] of this identity (see [`SessionSummary::vote_sums`]); the per-track vote
    /// counts are not printed, so a summary read back from JSON weighs by frames.
    pub fn vote_sums(&self) -> VoteSums {
        if self.vote_sums.iter().flatten().any(|v| *v != 0.0) {
            return self.vote_sums;
        }
        let votes = self
            .mood
            .map(|m| BTreeMap::from([(m, self.frames)]))
            .unwrap_or_default();
        rebuild_vote_sums(self.mood, &self.mood_probabilities, &votes)
    }
}

/// The mean smoothed probabilities of the observations that voted for `mood` (zeros without one).
fn mood_probs(
    mood: Option<Emotion>,
    sums: &VoteSums,
    votes: &[usize; NUM_EMOTIONS],
) -> BTreeMap<Emotion, f32> {
    match mood {
        Some(m) => probs_map(&mean_of(&sums[m.index()], votes[m.index()])),
        None => probs_map(&[0.0; NUM_EMOTIONS]),
    }
}

fn mean_of(sum: &[f64; NUM_EMOTIONS], n: usize) -> Probs {
    let mut m = [0f32; NUM_EMOTIONS];
    if n > 0 {
        for (mi, si) in m.iter_mut().zip(sum) {
            *mi = (si / n as f64) as f32;
        }
    }
    m
}

/// The most voted emotion; ties broken by the higher mean probability, then by canonical order.
/// `None` when nothing voted.
pub fn final_mood(votes: &[usize; NUM_EMOTIONS], mean: &Probs) -> Option<Emotion> {
    let mut best: Option<usize> = None;
    for i in 0..NUM_EMOTIONS {
        if votes[i] == 0 {
            continue;
        }
        best = match best {
            None => Some(i),
            Some(b) if votes[i] > votes[b] || (votes[i] == votes[b] && mean[i] > mean[b]) => {
                Some(i)
            }
            keep => keep,
        };
    }
    best.map(|i| Emotion::ALL[i])
}

/// Per-identity part of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackSummary {
    pub track_id: TrackId,
    /// Frames in which this identity was seen.
    pub frames: usize,
    pub first_frame: u64,
    pub last_frame: u64,
    /// This identity's most frequent smoothed top emotion (same rule as the session's).
    pub mood: Option<Emotion>,
    pub mean_probabilities: BTreeMap<Emotion, f32>,
    /// The mean smoothed probabilities of this identity's observations that voted for `mood`.
    #[serde(default)]
    pub mood_probabilities: BTreeMap<Emotion, f32>,
    /// See [`VoteSums`] (not serialised).
    #[serde(skip)]
    pub vote_sums: VoteSums,
}

/// The session's result, printed when it ends and returned as JSON with `--json`.
///
/// JSON shape (stable): `{"frames":N,"frames_with_faces":N,"face_observations":N,"identities":N,
/// "final_mood":"happy"|null,"mood_probabilities":{"angry":0.1,...},"mood_votes":{"angry":0,...},
/// "mean_probabilities":{"angry":0.1,...},"tracks":[{"track_id":1,"frames":N,"first_frame":0,
/// "last_frame":9,"mood":"happy","mean_probabilities":{...},"mood_probabilities":{...}}]}`.
/// Emotion keys use the lower-case labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub frames: u64,
    pub frames_with_faces: u64,
    /// Faces seen, summed over frames (each one a vote).
    pub face_observations: u64,
    /// Distinct identities the tracker assigned.
    pub identities: usize,
    /// Most frequent smoothed top emotion over all faces and frames; ties broken by mean probability.
    pub final_mood: Option<Emotion>,
    /// The mean smoothed probabilities of the observations that voted for `final_mood`: the
    /// distribution that describes the session's mood ([`mood`] explains the rule).
    #[serde(default)]
    pub mood_probabilities: BTreeMap<Emotion, f32>,
    /// See [`VoteSums`] (not serialised).
    #[serde(skip)]
    pub vote_sums: VoteSums,
    pub mood_votes: BTreeMap<Emotion, usize>,
    /// Mean of the smoothed probabilities over all face observations (zeros when none).
    pub mean_probabilities: BTreeMap<Emotion, f32>,
    pub tracks: Vec<TrackSummary>,
}

impl SessionSummary {
    /// [`VoteSums`], rebuilt from the printed fields when the summary was read back from JSON
    /// (the final mood's row: its mean probabilities times its votes; exact for the rule).
    pub fn vote_sums(&self) -> VoteSums {
        if self.vote_sums.iter().flatten().any(|v| *v != 0.0) {
            return self.vote_sums;
        }
        rebuild_vote_sums(self.final_mood, &self.mood_probabilities, &self.mood_votes)
    }

    /// The session's mood by the one rule ([`mood`]): `None` when no face was seen.
    pub fn mood(&self) -> Option<SessionMood> {
        SessionMood::of(&[self])
    }

    /// The mean probabilities as a plain vector in [`Emotion::ALL`] order (what the recommender's
    /// mood mapping takes).
    pub fn mean_probabilities_vec(&self) -> Vec<f64> {
        Emotion::ALL
            .iter()
            .map(|e| self.mean_probabilities.get(e).copied().unwrap_or(0.0) as f64)
            .collect()
    }
}

impl std::fmt::Display for SessionSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "frames: {} ({} with faces), face observations: {}, identities: {}",
            self.frames, self.frames_with_faces, self.face_observations, self.identities
        )?;
        match self.final_mood {
            Some(m) => writeln!(f, "final mood: {m}")?,
            None => writeln!(f, "final mood: none (no face seen)")?,
        }
        write!(f, "mean probabilities:")?;
        for e in Emotion::ALL {
            write!(f, " {}={:.3}", e, self.mean_probabilities[&e])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onehot(e: Emotion, p: f32) -> Probs {
        let rest = (1.0 - p) / 6.0;
        let mut v = [rest; NUM_EMOTIONS];
        v[e.index()] = p;
        v
    }

    fn b(x: i32, y: i32) -> BBox {
        BBox::new(x, y, 100, 100)
    }

    #[test]
    fn top_k_orders_and_breaks_ties_canonically() {
        let p = [0.1, 0.0, 0.2, 0.4, 0.2, 0.05, 0.05];
        let t = top3(&p);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].emotion, Emotion::Happy);
        // Fear and Sad tie at 0.2: canonical order puts Fear first.
        assert_eq!(t[1].emotion, Emotion::Fear);
        assert_eq!(t[2].emotion, Emotion::Sad);
        assert_eq!(t[0].probability, 0.4);
        assert_eq!(top_k(&p, 20).len(), 7);
        let nan = [f32::NAN, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(argmax(&nan), Emotion::Disgust);
    }

    #[test]
    fn final_mood_majority_then_mean_tiebreak() {
        let mut votes = [0; NUM_EMOTIONS];
        votes[Emotion::Happy.index()] = 3;
        votes[Emotion::Sad.index()] = 3;
        let mut mean = [0.0; NUM_EMOTIONS];
        mean[Emotion::Happy.index()] = 0.3;
        mean[Emotion::Sad.index()] = 0.4;
        assert_eq!(final_mood(&votes, &mean), Some(Emotion::Sad));
        mean[Emotion::Happy.index()] = 0.5;
        assert_eq!(final_mood(&votes, &mean), Some(Emotion::Happy));
        votes[Emotion::Angry.index()] = 4;
        assert_eq!(final_mood(&votes, &mean), Some(Emotion::Angry));
        assert_eq!(final_mood(&[0; NUM_EMOTIONS], &mean), None);
    }

    #[test]
    fn session_tracks_two_faces_and_smooths_each_separately() {
        let mut s = Session::new(SessionConfig {
            window: 3,
            ..SessionConfig::default()
        });
        // Face A (left) is happy, face B (right) is sad; both drift right by 5 px per frame.
        let mut ids_a = vec![];
        let mut ids_b = vec![];
        for f in 0..10 {
            let boxes = [b(10 + 5 * f, 50), b(400 + 5 * f, 60)];
            let probs = [onehot(Emotion::Happy, 0.9), onehot(Emotion::Sad, 0.8)];
            let obs = s.observe(&boxes, &probs).unwrap();
            ids_a.push(obs[0].track_id);
            ids_b.push(obs[1].track_id);
            assert_eq!(obs[0].emotion(), Emotion::Happy);
            assert_eq!(obs[1].emotion(), Emotion::Sad);
        }
        assert!(ids_a.iter().all(|&i| i == ids_a[0]));
        assert!(ids_b.iter().all(|&i| i == ids_b[0]));
        assert_ne!(ids_a[0], ids_b[0]);
        let sum = s.summary();
        assert_eq!(sum.frames, 10);
        assert_eq!(sum.identities, 2);
        assert_eq!(sum.face_observations, 20);
        assert_eq!(sum.mood_votes[&Emotion::Happy], 10);
        assert_eq!(sum.mood_votes[&Emotion::Sad], 10);
        // 10 votes each: tie broken by mean probability (0.9 vs 0.8 → happy).
        assert_eq!(sum.final_mood, Some(Emotion::Happy));
        assert_eq!(sum.tracks.len(), 2);
        assert_eq!(sum.tracks[0].mood, Some(Emotion::Happy));
        assert_eq!(sum.tracks[1].mood, Some(Emotion::Sad));
        assert_eq!(sum.tracks[0].frames, 10);
    }

    #[test]
    fn smoothing_suppresses_a_single_frame_flip() {
        let mut s = Session::new(SessionConfig {
            window: 5,
            ..SessionConfig::default()
        });
        let bx = [b(100, 100)];
        let mut tops = vec![];
        for f in 0..10 {
            let p = if f == 6 {
                onehot(Emotion::Angry, 0.7)
            } else {
                onehot(Emotion::Neutral, 0.6)
            };
            let obs = s.observe(&bx, &[p]).unwrap();
            // Raw probabilities are passed through unchanged.
            assert_eq!(obs[0].probabilities, p);
            tops.push(obs[0].emotion());
        }
        assert!(tops.iter().all(|&e| e == Emotion::Neutral), "{tops:?}");
        assert_eq!(s.summary().final_mood, Some(Emotion::Neutral));
    }

    #[test]
    fn window_of_one_means_no_smoothing() {
        let mut s = Session::new(SessionConfig {
            window: 1,
            ..SessionConfig::default()
        });
        let bx = [b(0, 0)];
        s.observe(&bx, &[onehot(Emotion::Happy, 0.9)]).unwrap();
        let o = s.observe(&bx, &[onehot(Emotion::Fear, 0.9)]).unwrap();
        assert_eq!(o[0].smoothed, onehot(Emotion::Fear, 0.9));
    }

    #[test]
    fn empty_frames_count_but_do_not_vote() {
        let mut s = Session::new(SessionConfig::default());
        for _ in 0..4 {
            assert!(s.observe(&[], &[]).unwrap().is_empty());
        }
        let sum = s.summary();
        assert_eq!(sum.frames, 4);
        assert_eq!(sum.frames_with_faces, 0);
        assert_eq!(sum.final_mood, None);
        assert_eq!(sum.identities, 0);
        assert!(sum.mean_probabilities.values().all(|&p| p == 0.0));
        assert!(sum.to_string().contains("none"));
    }

    #[test]
    fn mismatched_lengths_are_an_error_not_a_panic() {
        let mut s = Session::new(SessionConfig::default());
        let err = s.observe(&[b(0, 0)], &[]).unwrap_err();
        assert_eq!(
            err,
            LengthMismatch {
                boxes: 1,
                probabilities: 0
            }
        );
        assert_eq!(s.frames(), 0);
    }

    #[test]
    fn a_face_that_leaves_and_returns_far_away_gets_a_new_identity_and_fresh_window() {
        let mut s = Session::new(SessionConfig {
            window: 10,
            tracker: TrackerConfig {
                iou_threshold: 0.3,
                max_missed: 2,
            },
        });
        let o1 = s
            .observe(&[b(0, 0)], &[onehot(Emotion::Happy, 0.9)])
            .unwrap();
        for _ in 0..3 {
            s.observe(&[], &[]).unwrap();
        }
        let o2 = s.observe(&[b(0, 0)], &[onehot(Emotion::Sad, 0.9)]).unwrap();
        assert_ne!(o1[0].track_id, o2[0].track_id);
        // Fresh window: the old happy frame does not leak into the new identity.
        assert_eq!(o2[0].smoothed, onehot(Emotion::Sad, 0.9));
        assert_eq!(s.summary().identities, 2);
    }

    #[test]
    fn mean_probabilities_average_smoothed_vectors() {
        let mut s = Session::new(SessionConfig {
            window: 1,
            ..SessionConfig::default()
        });
        s.observe(&[b(0, 0)], &[onehot(Emotion::Happy, 1.0)])
            .unwrap();
        s.observe(&[b(0, 0)], &[onehot(Emotion::Sad, 1.0)]).unwrap();
        let sum = s.summary();
        assert!((sum.mean_probabilities[&Emotion::Happy] - 0.5).abs() < 1e-6);
        assert!((sum.mean_probabilities[&Emotion::Sad] - 0.5).abs() < 1e-6);
        // 1 vote each, equal means: canonical order decides (happy before sad).
        assert_eq!(sum.final_mood, Some(Emotion::Happy));
    }

    #[test]
    fn nan_probabilities_do_not_poison_the_session() {
        let mut s = Session::new(SessionConfig::default());
        let mut p = onehot(Emotion::Surprise, 0.9);
        p[0] = f32::NAN;
        s.observe(&[b(0, 0)], &[p]).unwrap();
        let sum = s.summary();
        assert_eq!(sum.final_mood, Some(Emotion::Surprise));
        assert!(sum.mean_probabilities.values().all(|v| v.is_finite()));
    }

    #[test]
    fn summary_json_shape_is_stable() {
        let mut s = Session::new(SessionConfig::default());
        s.observe(&[b(0, 0)], &[onehot(Emotion::Happy, 0.9)])
            .unwrap();
        let v: serde_json::Value = serde_json::to_value(s.summary()).unwrap();
        assert_eq!(v["final_mood"], "happy");
        assert_eq!(v["frames"], 1);
        assert_eq!(v["identities"], 1);
        assert_eq!(v["mood_votes"]["happy"], 1);
        assert!(v["mean_probabilities"]["neutral"].is_number());
        assert_eq!(v["tracks"][0]["track_id"], 1);
        let vec = s.summary().mean_probabilities_vec();
        assert_eq!(vec.len(), 7);
        assert!((vec[Emotion::Happy.index()] - 0.9).abs() < 1e-6);
        let back: SessionSummary = serde_json::from_value(v.clone()).unwrap();
        // the vote sums are not serialised; everything printed comes back, and so does the mood
        assert_eq!(serde_json::to_value(&back).unwrap(), v);
        assert_eq!(back.mood(), s.summary().mood());
    }

    fn probs(pairs: &[(Emotion, f32)]) -> Probs {
        let mut p = [0.0; NUM_EMOTIONS];
        let rest = 1.0 - pairs.iter().map(|(_, v)| v).sum::<f32>();
        for v in p.iter_mut() {
            *v = rest / (NUM_EMOTIONS - pairs.len()) as f32;
        }
        for (e, v) in pairs {
            p[e.index()] = *v;
        }
        p
    }

    /// The reproduction in the redesign issue: one face, two frames happy 0.5 / sad 0.4, one frame
    /// sad 0.99. The vote says happy; the averaged probabilities say sad. The one rule names the
    /// mood happy and describes it with the happy frames, so its circumplex position (which places
    /// the music) is pleasant too.
    #[test]
    fn the_mood_is_named_and_described_by_the_same_observations() {
        use crate::mood::emotion_va;
        let mut s = Session::new(SessionConfig::default());
        let hs = probs(&[(Emotion::Happy, 0.5), (Emotion::Sad, 0.4)]);
        let sad = probs(&[(Emotion::Sad, 0.99)]);
        for p in [hs, hs, sad] {
            s.observe(&[b(10, 10)], &[p]).unwrap();
        }
        let sum = s.summary();
        assert_eq!(sum.final_mood, Some(Emotion::Happy));
        // averaging everything would have said sad
        let mean = sum.mean_probabilities_vec();
        assert!(mean[Emotion::Sad.index()] > mean[Emotion::Happy.index()]);
        let m = sum.mood().expect("a mood");
        assert_eq!(m.mood.emotion, Emotion::Happy);
        assert!(m.people.len() <= 1);
        let p = m.mood.probabilities;
        assert!(p[Emotion::Happy.index()] > p[Emotion::Sad.index()], "{p:?}");
        assert!(m.mood.va.valence > 0.0, "{:?}", m.mood.va);
        assert!((sum.mood_probabilities[&Emotion::Happy] - 0.5).abs() < 1e-6);

        // a switch from a happy to a sad face that ends with more happy votes: happy, and placed
        // nearer happy than sad on the circumplex
        let mut s = Session::new(SessionConfig::default());
        let happy = probs(&[(Emotion::Happy, 0.9)]);
        for _ in 0..12 {
            s.observe(&[b(10, 10)], &[happy]).unwrap();
        }
        for _ in 0..10 {
            s.observe(&[b(10, 10)], &[sad]).unwrap();
        }
        let m = s.summary().mood().unwrap();
        assert_eq!(m.mood.emotion, Emotion::Happy);
        let (h, sd) = (emotion_va(Emotion::Happy), emotion_va(Emotion::Sad));
        assert!(m.mood.va.dist2(h) < m.mood.va.dist2(sd), "{:?}", m.mood.va);

        // several photos read together (detect a.jpg b.jpg c.jpg): votes add up across sessions
        let mut a = Session::new(SessionConfig::default());
        a.observe(&[b(10, 10)], &[sad]).unwrap();
        let mut c = Session::new(SessionConfig::default());
        c.observe(&[b(10, 10)], &[happy]).unwrap();
        let mut d = Session::new(SessionConfig::default());
        d.observe(&[b(10, 10)], &[happy]).unwrap();
        let m = SessionMood::of(&[&a.summary(), &c.summary(), &d.summary()]).unwrap();
        assert_eq!(m.mood.emotion, Emotion::Happy);
        assert!(SessionMood::of(&[&Session::new(SessionConfig::default()).summary()]).is_none());
    }

    #[test]
    fn people_are_those_seen_for_a_while_each_with_their_own_mood() {
        let mut s = Session::new(SessionConfig::default());
        let happy = probs(&[(Emotion::Happy, 0.9)]);
        let sad = probs(&[(Emotion::Sad, 0.9)]);
        for i in 0..30 {
            let mut boxes = vec![b(10, 10), b(400, 10)];
            let mut ps = vec![happy, sad];
            if i == 5 {
                // a face glimpsed in one frame does not count as a viewer
                boxes.push(b(800, 400));
                ps.push(happy);
            }
            s.observe(&boxes, &ps).unwrap();
        }
        let m = s.summary().mood().unwrap();
        assert!(m.is_group());
        let moods: Vec<Emotion> = m.people.iter().map(|p| p.emotion).collect();
        assert_eq!(moods, [Emotion::Happy, Emotion::Sad]);
    }
}

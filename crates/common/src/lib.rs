//! moodlens-common: the facts every other moodlens crate shares — the seven emotion labels and
//! their one canonical order (the model's output order), plus the mappings to the label schemes
//! found in the wild (Kaggle FER-2013 CSV indices, per-class folder names), and where the shared
//! reference data (FER-2013, realfaces, catalog tables) is looked up.
//!
//! Must not depend on any other moodlens crate, on the NN stack or on OpenCV.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The shared reference data folder (FER-2013, `realfaces/`, `catalogs/`): `$MOODLENS_DATA`, else
/// `../shared/data` from the current folder, else `../shared/data` beside the workspace these
/// crates were built in.
pub fn shared_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MOODLENS_DATA") {
        return PathBuf::from(d);
    }
    let cwd = PathBuf::from("../shared/data");
    if cwd.is_dir() {
        return cwd;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// [`shared_data_dir`] for tests that need the shared data: panics — so the test FAILS, never
/// skips — when any of `required` (paths relative to the folder) is missing.
pub fn require_shared_data(required: &[&str]) -> PathBuf {
    let d = shared_data_dir();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|r| !d.join(r).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "shared data not found at {}: missing {} (set MOODLENS_DATA to the folder holding fer2013/, realfaces/ and catalogs/)",
        d.display(),
        missing.join(", ")
    );
    d
}

/// One of the seven FER-2013 emotions, in the model's output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Emotion {
    Angry,
    Disgust,
    Fear,
    Happy,
    Sad,
    Surprise,
    Neutral,
}

/// Number of emotion classes.
pub const NUM_EMOTIONS: usize = 7;

impl Emotion {
    /// All emotions in the canonical (model output) order, which is also Kaggle's CSV order.
    pub const ALL: [Emotion; NUM_EMOTIONS] = [
        Emotion::Angry,
        Emotion::Disgust,
        Emotion::Fear,
        Emotion::Happy,
        Emotion::Sad,
        Emotion::Surprise,
        Emotion::Neutral,
    ];

    /// Index in the canonical order (0..7).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Emotion for a canonical index; `None` when out of range.
    pub fn from_index(i: usize) -> Option<Emotion> {
        Self::ALL.get(i).copied()
    }

    /// Lower-case label, as used for folder names, CLI arguments and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Emotion::Angry => "angry",
            Emotion::Disgust => "disgust",
            Emotion::Fear => "fear",
            Emotion::Happy => "happy",
            Emotion::Sad => "sad",
            Emotion::Surprise => "surprise",
            Emotion::Neutral => "neutral",
        }
    }
}

impl fmt::Display for Emotion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Error for a label that names no emotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEmotion(pub String);

impl fmt::Display for UnknownEmotion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown emotion '{}': expected one of angry, disgust, fear, happy, sad, surprise, neutral",
            self.0
        )
    }
}

impl std::error::Error for UnknownEmotion {}

impl FromStr for Emotion {
    type Err = UnknownEmotion;

    /// Case-insensitive; accepts the common synonyms "anger", "fearful", "surprised", "happiness",
    /// "sadness", "disgusted".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let e = match s.trim().to_ascii_lowercase().as_str() {
            "angry" | "anger" => Emotion::Angry,
            "disgust" | "disgusted" => Emotion::Disgust,
            "fear" | "fearful" => Emotion::Fear,
            "happy" | "happiness" => Emotion::Happy,
            "sad" | "sadness" => Emotion::Sad,
            "surprise" | "surprised" => Emotion::Surprise,
            "neutral" => Emotion::Neutral,
            _ => return Err(UnknownEmotion(s.to_string())),
        };
        Ok(e)
    }
}

/// DejaVu Sans (Bitstream Vera licence, `crates/common/data/LICENSE-DejaVu.txt`), embedded so that
/// plots have text on any machine: nothing is looked up in the system's font folders at run time.
pub static FONT_SANS_TTF: &[u8] = include_bytes!("../data/DejaVuSans.ttf");

/// What turns 48x48 gray face crops (row-major bytes) into emotion probabilities (seven, in
/// [`Emotion::ALL`] order). A small trait both sides depend on: `moodlens-vision` calls it and
/// `moodlens-model` implements it, so the vision crate never depends on the model (or burn).
pub trait EmotionClassifier {
    /// Why a batch could not be classified.
    type Error: std::error::Error + Send + Sync + 'static;
    /// One probability vector per face, in the input order.
    fn classify(&mut self, faces: &[Vec<u8>]) -> Result<Vec<[f32; NUM_EMOTIONS]>, Self::Error>;
}

impl<T: EmotionClassifier + ?Sized> EmotionClassifier for &mut T {
    type Error = T::Error;
    fn classify(&mut self, faces: &[Vec<u8>]) -> Result<Vec<[f32; NUM_EMOTIONS]>, Self::Error> {
        (**self).classify(faces)
    }
}

impl<T: EmotionClassifier + ?Sized> EmotionClassifier for Box<T> {
    type Error = T::Error;
    fn classify(&mut self, faces: &[Vec<u8>]) -> Result<Vec<[f32; NUM_EMOTIONS]>, Self::Error> {
        (**self).classify(faces)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_matches_kaggle_csv() {
        // Kaggle: 0=Angry 1=Disgust 2=Fear 3=Happy 4=Sad 5=Surprise 6=Neutral
        let names: Vec<_> = Emotion::ALL.iter().map(|e| e.label()).collect();
        assert_eq!(
            names,
            ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
        );
        for (i, e) in Emotion::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
            assert_eq!(Emotion::from_index(i), Some(*e));
        }
        assert_eq!(Emotion::from_index(7), None);
    }

    #[test]
    fn parse_round_trip_and_errors() {
        for e in Emotion::ALL {
            assert_eq!(e.label().parse::<Emotion>().unwrap(), e);
            assert_eq!(e.label().to_uppercase().parse::<Emotion>().unwrap(), e);
        }
        assert_eq!("Surprised".parse::<Emotion>().unwrap(), Emotion::Surprise);
        let err = "contempt".parse::<Emotion>().unwrap_err();
        assert!(err.to_string().contains("contempt"));
    }

    #[test]
    fn display_uses_lowercase_labels() {
        assert_eq!(Emotion::Fear.to_string(), "fear");
        assert_eq!(Emotion::Surprise.to_string(), "surprise");
    }
}

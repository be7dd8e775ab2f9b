//! moodlens-vision: the "see" half of moodlens on OpenCV — frame sources (camera, video files,
//! image files), face detection (the [`FaceDetector`] trait, Haar first), crop framing that matches
//! FER-2013's faces, the per-frame [`Pipeline`] (detect → crop → classify in one batch →
//! track/smooth via `moodlens-session`), annotated output, and whole runs over a file, a camera
//! session or a timing video ([`run`], set up from one [`VisionConfig`]). It parses no flags and
//! prints nothing: the `moodlens` binary owns the commands and their output.
//!
//! Returns gray 48x48 face crops (`Vec<u8>`), never tensors: the classifier is a trait
//! ([`EmotionClassifier`]) that the application implements with the model. Must not depend on
//! `moodlens-model` or the NN stack, nor on the recommender.

pub mod annotate;
pub mod crop;
pub mod detect;
pub mod error;
pub mod pipeline;
pub mod report;
pub mod run;
pub mod source;
pub mod testvideo;
pub mod tune;
pub mod yunet;

pub use crop::{crop_face, CropConfig, CROP_SIZE};
pub use detect::{Detection, DetectorKind, FaceDetector, HaarConfig, HaarDetector};
pub use error::VisionError;
pub use moodlens_session::{BBox, FaceObservation, SessionConfig, SessionSummary};
pub use opencv;
pub use pipeline::{EmotionClassifier, FrameResult, Pipeline, StageTimes};
pub use report::{
    BenchReport, DetectOutcome, FaceReport, FrameRecord, InputReport, LiveFrameLine, LiveOutcome,
    StageMs,
};
pub use run::{Annotate, Flow, VisionConfig};
pub use source::{open_input, Frame, FrameSource, ImageLimits, Input, Pace};
pub use yunet::{YuNetConfig, YuNetDetector};

/// Lowers OpenCV's own console logging to errors (its warnings, e.g. GStreamer's about a missing
/// camera, duplicate the typed errors this crate returns), unless `OPENCV_LOG_LEVEL` is set.
/// Call it once at start-up.
pub fn quiet_opencv_logs() {
    if std::env::var_os("OPENCV_LOG_LEVEL").is_none() {
        let _ = opencv::core::set_log_level(opencv::core::LogLevel::LOG_LEVEL_ERROR);
    }
}

#[cfg(test)]
mod boundary {
    /// Vision finds faces and crops them; the classifier is a trait from `moodlens-common`. Neither
    /// this crate nor the workspace crates it depends on may pull in the model or the NN stack.
    #[test]
    fn no_model_or_nn_dependency() {
        let lock = include_str!("../../../Cargo.lock");
        let entry = |name: &str| {
            lock.split("[[package]]")
                .find(|p| p.contains(&format!("name = \"{name}\"\n")))
                .unwrap_or_else(|| panic!("{name} in Cargo.lock"))
                .to_string()
        };
        for krate in ["moodlens-vision", "moodlens-common", "moodlens-session"] {
            let e = entry(krate);
            for banned in [
                "\"moodlens-model\"",
                "\"moodlens-recommend\"",
                "\"burn",
                "\"tch",
            ] {
                assert!(!e.contains(banned), "{krate} depends on {banned}");
            }
        }
    }
}

//! moodlens-vision: the "see" half of moodlens on OpenCV — frame sources (camera, video files,
//! image files), face detection (the [`FaceDetector`] trait, Haar first), crop framing that matches
//! FER-2013's faces, the per-frame [`Pipeline`] (detect → crop → classify in one batch →
//! track/smooth via `moodlens-session`), annotated output, and the library side of the CLI
//! commands `detect`, `live` and `bench` ([`cli`]).
//!
//! Returns gray 48x48 face crops (`Vec<u8>`), never tensors: the classifier is a trait
//! ([`EmotionClassifier`]) that the application implements with the model. Must not depend on
//! `moodlens-model` or the NN stack, nor on the recommender.

pub mod annotate;
pub mod cli;
pub mod crop;
pub mod detect;
pub mod dnn_classifier;
pub mod error;
pub mod pipeline;
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
pub use source::{open_input, Frame, FrameSource, ImageLimits, Input, Pace};
pub use yunet::{YuNetConfig, YuNetDetector};

/// Lowers OpenCV's own console logging to errors (its warnings, e.g. GStreamer's about a missing
/// camera, duplicate the typed errors this crate returns), unless `OPENCV_LOG_LEVEL` is set.
/// Called by the `cli::run_*` functions; call it once at start-up when using the pipeline directly.
pub fn quiet_opencv_logs() {
    if std::env::var_os("OPENCV_LOG_LEVEL").is_none() {
        let _ = opencv::core::set_log_level(opencv::core::LogLevel::LOG_LEVEL_ERROR);
    }
}

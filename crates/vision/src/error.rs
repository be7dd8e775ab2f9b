//! Typed errors of the vision crate. Every message names the input and says what to do.

use std::path::PathBuf;

/// What went wrong while reading frames, detecting faces or writing output.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error("camera {index} could not be opened (is a camera connected, and is /dev/video{index} readable by this user?)")]
    CameraUnavailable { index: i32 },

    #[error("{}: no such file", path.display())]
    NotFound { path: PathBuf },

    #[error("{}: cannot read: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },

    #[error("{}: not an image (the content is no JPEG, PNG, BMP, TIFF, WebP or PNM data)", path.display())]
    NotAnImage { path: PathBuf },

    #[error("{}: corrupt or truncated image: {reason}", path.display())]
    CorruptImage { path: PathBuf, reason: String },

    #[error("{}: image is {width}x{height} pixels, above the limit of {max_pixels} pixels (raise it with --max-image-pixels)", path.display())]
    ImageTooLarge {
        path: PathBuf,
        width: u64,
        height: u64,
        max_pixels: u64,
    },

    #[error("{}: file is {bytes} bytes, above the limit of {max_bytes} bytes", path.display())]
    FileTooLarge {
        path: PathBuf,
        bytes: u64,
        max_bytes: u64,
    },

    #[error("{}: video has no frames (empty or zero-length file)", path.display())]
    EmptyVideo { path: PathBuf },

    #[error("{}: not a video or image the system OpenCV/FFmpeg can decode", path.display())]
    NotAVideo { path: PathBuf },

    #[error("{}: not a usable Haar cascade XML", path.display())]
    BadCascade { path: PathBuf },

    #[error("face detector model: {reason}")]
    BadModel { reason: String },

    #[error("cannot write {}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },

    #[error("classifier failed: {0}")]
    Classifier(Box<dyn std::error::Error + Send + Sync>),

    #[error("classifier returned {got} probability vectors for {expected} faces")]
    ClassifierOutput { expected: usize, got: usize },

    #[error("window: {0}")]
    Window(String),

    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),

    #[error("{0}")]
    Io(#[from] std::io::Error),

    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T, E = VisionError> = std::result::Result<T, E>;

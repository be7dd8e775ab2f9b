//! Frame sources: a camera (live, frames dropped when the consumer falls behind), a video file (as
//! fast as possible or at real-time pace) and image files, all yielding BGR [`Frame`]s.
//!
//! Bad input becomes a typed [`VisionError`], never a panic: missing camera, missing file, unreadable
//! file, a non-image file with an image extension, a corrupt or truncated image, an empty video, and
//! images above a size limit.

use crate::error::{Result, VisionError};
use opencv::core::{Mat, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, videoio};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One decoded frame (8-bit BGR, as OpenCV decodes it).
pub struct Frame {
    /// Index in the source (for a camera: the capture sequence number; gaps are dropped frames).
    pub index: u64,
    /// Position in the source in milliseconds (capture time for a camera; 0 for an image).
    pub timestamp_ms: f64,
    pub image: Mat,
}

/// A stream of frames (`Send`: [`crate::Pipeline::run`] reads it on a second thread).
pub trait FrameSource: Send {
    /// The next frame, `Ok(None)` at the end.
    fn next_frame(&mut self) -> Result<Option<Frame>>;
    /// Frames skipped so far because processing fell behind (live camera, real-time pace).
    fn dropped(&self) -> u64 {
        0
    }
    /// Frames per second of the source when known.
    fn fps(&self) -> Option<f64> {
        None
    }
    /// Human-readable name ("camera 0", the path).
    fn name(&self) -> String;
}

/// Limits on image inputs. Defaults: 50 megapixels, 200 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    pub max_pixels: u64,
    pub max_bytes: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_pixels: 50_000_000,
            max_bytes: 200 * 1024 * 1024,
        }
    }
}

/// Image file formats recognised by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Bmp,
    Tiff,
    WebP,
    Pnm,
}

/// Extensions that promise an image (a file with one of these and no image signature is refused as
/// "not an image" instead of being tried as a video).
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "png", "bmp", "dib", "tif", "tiff", "webp", "pgm", "ppm", "pbm", "pnm",
];

/// The image format a file's first bytes announce.
pub fn sniff_image(head: &[u8]) -> Option<ImageFormat> {
    match head {
        [0xFF, 0xD8, 0xFF, ..] => Some(ImageFormat::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ImageFormat::Png),
        [b'B', b'M', ..] if head.len() >= 26 => Some(ImageFormat::Bmp),
        [b'I', b'I', 0x2A, 0x00, ..] | [b'M', b'M', 0x00, 0x2A, ..] => Some(ImageFormat::Tiff),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(ImageFormat::WebP),
        [b'P', b'1'..=b'6', c, ..] if c.is_ascii_whitespace() => Some(ImageFormat::Pnm),
        _ => None,
    }
}

/// What a path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Image(ImageFormat),
    Video,
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

fn io_err(path: &Path, e: std::io::Error) -> VisionError {
    if e.kind() == std::io::ErrorKind::NotFound {
        VisionError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        VisionError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    }
}

/// Decides from the content (not the name) whether `path` is an image or should be tried as a video.
/// A file with an image extension but no image signature is [`VisionError::NotAnImage`].
pub fn input_kind(path: &Path) -> Result<InputKind> {
    let meta = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
    if meta.is_dir() {
        return Err(VisionError::Unreadable {
            path: path.to_path_buf(),
            reason: "is a directory".into(),
        });
    }
    let mut head = [0u8; 32];
    let mut f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(path, e)),
        }
    }
    match sniff_image(&head[..n]) {
        Some(fmt) => Ok(InputKind::Image(fmt)),
        None if has_image_extension(path) => {
            if n == 0 {
                Err(VisionError::CorruptImage {
                    path: path.to_path_buf(),
                    reason: "empty file".into(),
                })
            } else {
                Err(VisionError::NotAnImage {
                    path: path.to_path_buf(),
                })
            }
        }
        None => Ok(InputKind::Video),
    }
}

/// True when a JPEG stream ends properly: an end-of-image marker after the last start-of-scan.
/// (Inside entropy-coded data 0xFF is always stuffed, so 0xFFD9 only occurs as a real marker.)
pub fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    let last_eoi = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    matches!((last_sos, last_eoi), (Some(s), Some(e)) if e > s)
}

fn png_is_complete(bytes: &[u8]) -> bool {
    bytes.windows(4).rposition(|w| w == b"IEND").is_some()
}

/// Reads and decodes an image file to 8-bit BGR, enforcing `limits` before decoding (file size,
/// and for JPEG/PNG the header's dimensions) and after (all formats): [`decode_image`] on the
/// file's bytes.
pub fn load_image(path: &Path, limits: &ImageLimits) -> Result<Mat> {
    if let InputKind::Video = input_kind(path)? {
        return Err(VisionError::NotAnImage {
            path: path.to_path_buf(),
        });
    }
    let len = std::fs::metadata(path).map_err(|e| io_err(path, e))?.len();
    if len > limits.max_bytes {
        return Err(VisionError::FileTooLarge {
            path: path.to_path_buf(),
            bytes: len,
            max_bytes: limits.max_bytes,
        });
    }
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    decode_image(&bytes, limits.max_pixels).map_err(|e| match e {
        DecodeError::Empty | DecodeError::NotAnImage => VisionError::NotAnImage {
            path: path.to_path_buf(),
        },
        DecodeError::Corrupt(reason) => VisionError::CorruptImage {
            path: path.to_path_buf(),
            reason,
        },
        DecodeError::TooManyPixels { width, height, max } => VisionError::ImageTooLarge {
            path: path.to_path_buf(),
            width,
            height,
            max_pixels: max,
        },
    })
}

/// Why bytes could not be turned into an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Empty,
    NotAnImage,
    Corrupt(String),
    TooManyPixels { width: u64, height: u64, max: u64 },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Empty => write!(f, "empty image: send the bytes of a JPEG or PNG image"),
            DecodeError::NotAnImage => write!(
                f,
                "not an image: expected JPEG, PNG, BMP, WebP, TIFF or PNM data"
            ),
            DecodeError::Corrupt(r) => write!(f, "the image could not be decoded: {r}"),
            DecodeError::TooManyPixels { width, height, max } => write!(
                f,
                "picture too large: {width}x{height} is more than {}; use a smaller one",
                if *max >= 1_000_000 {
                    format!("{} megapixels", (*max as f64 / 1e5).round() / 10.0)
                } else {
                    format!("{max} pixels")
                }
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes image bytes (sniffed by content, not by declared type) to 8-bit BGR, checking the
/// pixel count from the header before decoding (JPEG/PNG) and after (all formats). The one decode
/// path: image files ([`load_image`]) and the web app's uploads and frames use it.
pub fn decode_image(bytes: &[u8], max_pixels: u64) -> Result<Mat, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let fmt = sniff_image(&bytes[..bytes.len().min(32)]).ok_or(DecodeError::NotAnImage)?;
    let check = |w: u64, h: u64| {
        if w.saturating_mul(h) > max_pixels {
            Err(DecodeError::TooManyPixels {
                width: w,
                height: h,
                max: max_pixels,
            })
        } else {
            Ok(())
        }
    };
    match fmt {
        ImageFormat::Jpeg if !jpeg_is_complete(bytes) => {
            return Err(DecodeError::Corrupt(
                "JPEG data ends before its end-of-image marker".into(),
            ))
        }
        ImageFormat::Png if !png_is_complete(bytes) => {
            return Err(DecodeError::Corrupt(
                "PNG data ends before its IEND chunk".into(),
            ))
        }
        _ => {}
    }
    if matches!(fmt, ImageFormat::Jpeg | ImageFormat::Png) {
        let dims = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| DecodeError::Corrupt(e.to_string()))?
            .into_dimensions()
            .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
        check(dims.0 as u64, dims.1 as u64)?;
    }
    let buf = Vector::<u8>::from_slice(bytes);
    let mat = imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR)
        .map_err(|e| DecodeError::Corrupt(e.message))?;
    if mat.empty() || mat.rows() <= 0 || mat.cols() <= 0 {
        return Err(DecodeError::Corrupt("the decoder could not read it".into()));
    }
    check(mat.cols() as u64, mat.rows() as u64)?;
    Ok(mat)
}

/// A list of image files, one frame each. Errors are per file: a bad file yields `Err` from
/// `next_frame` and the following call moves on to the next file.
pub struct ImageFiles {
    paths: Vec<PathBuf>,
    next: usize,
    limits: ImageLimits,
}

impl ImageFiles {
    pub fn new(paths: Vec<PathBuf>, limits: ImageLimits) -> ImageFiles {
        ImageFiles {
            paths,
            next: 0,
            limits,
        }
    }
}

impl FrameSource for ImageFiles {
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let Some(path) = self.paths.get(self.next) else {
            return Ok(None);
        };
        let index = self.next as u64;
        self.next += 1;
        let image = load_image(path, &self.limits)?;
        Ok(Some(Frame {
            index,
            timestamp_ms: 0.0,
            image,
        }))
    }

    fn name(&self) -> String {
        match self.paths.len() {
            1 => self.paths[0].display().to_string(),
            n => format!("{n} images"),
        }
    }
}

/// Pace of a video file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pace {
    /// Every frame, as fast as processing allows.
    #[default]
    AsFastAsPossible,
    /// At the video's frame rate, like a camera: frames whose time has passed are skipped (counted
    /// as dropped), never queued.
    Realtime,
}

/// A video file read through OpenCV's VideoCapture (FFmpeg or OpenCV's own MJPEG reader).
pub struct VideoFile {
    path: PathBuf,
    cap: videoio::VideoCapture,
    fps: f64,
    next_index: u64,
    pace: Pace,
    start: Option<Instant>,
    dropped: u64,
    mat: Mat,
}

impl VideoFile {
    /// Opens `path`. A missing file, an empty file, a file OpenCV cannot open and a video whose first
    /// frame cannot be read are errors here, not at the first `next_frame`.
    pub fn open(path: &Path, pace: Pace) -> Result<VideoFile> {
        let meta = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
        if meta.is_dir() {
            return Err(VisionError::Unreadable {
                path: path.to_path_buf(),
                reason: "is a directory".into(),
            });
        }
        std::fs::File::open(path).map_err(|e| io_err(path, e))?;
        if meta.len() == 0 {
            return Err(VisionError::EmptyVideo {
                path: path.to_path_buf(),
            });
        }
        let name = path.to_str().ok_or_else(|| VisionError::Unreadable {
            path: path.to_path_buf(),
            reason: "path is not valid UTF-8".into(),
        })?;
        let cap = videoio::VideoCapture::from_file(name, videoio::CAP_ANY).map_err(|_| {
            VisionError::NotAVideo {
                path: path.to_path_buf(),
            }
        })?;
        if !cap.is_opened().unwrap_or(false) {
            return Err(VisionError::NotAVideo {
                path: path.to_path_buf(),
            });
        }
        let fps = cap.get(videoio::CAP_PROP_FPS).unwrap_or(0.0);
        let fps = if fps.is_finite() && fps > 0.0 && fps < 1000.0 {
            fps
        } else {
            25.0
        };
        let mut v = VideoFile {
            path: path.to_path_buf(),
            cap,
            fps,
            next_index: 0,
            pace,
            start: None,
            dropped: 0,
            mat: Mat::default(),
        };
        // Read the first frame now so that a zero-frame video fails at open time.
        if !v.grab()? {
            return Err(VisionError::EmptyVideo {
                path: path.to_path_buf(),
            });
        }
        Ok(v)
    }

    /// Grabs the next frame into `self.mat` (decoded), false at the end.
    fn grab(&mut self) -> Result<bool> {
        let ok = self.cap.read(&mut self.mat).unwrap_or(false);
        Ok(ok && !self.mat.empty())
    }
}

impl FrameSource for VideoFile {
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        // `self.mat` holds the frame `next_index` (read ahead); it was read by `open` or below.
        if self.mat.empty() {
            return Ok(None);
        }
        if self.pace == Pace::Realtime {
            let start = *self.start.get_or_insert_with(Instant::now);
            let period = 1.0 / self.fps;
            loop {
                let due = self.next_index as f64 * period;
                let now = start.elapsed().as_secs_f64();
                if now > due + period {
                    // Behind by more than a frame: drop this one, do not queue it.
                    self.dropped += 1;
                    self.next_index += 1;
                    if !self.cap.grab().unwrap_or(false) {
                        self.mat = Mat::default();
                        return Ok(None);
                    }
                    // Decode only the frame we will actually look at.
                    let mut m = Mat::default();
                    if !self.cap.retrieve(&mut m, 0).unwrap_or(false) || m.empty() {
                        self.mat = Mat::default();
                        return Ok(None);
                    }
                    self.mat = m;
                    continue;
                }
                if due > now {
                    std::thread::sleep(Duration::from_secs_f64(due - now));
                }
                break;
            }
        }
        let image = std::mem::take(&mut self.mat);
        let index = self.next_index;
        self.next_index += 1;
        // Read ahead; a failed read simply ends the stream.
        if !self.grab()? {
            self.mat = Mat::default();
        }
        Ok(Some(Frame {
            index,
            timestamp_ms: index as f64 * 1000.0 / self.fps,
            image,
        }))
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }

    fn fps(&self) -> Option<f64> {
        Some(self.fps)
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

struct Slot {
    latest: Option<(u64, f64, Mat)>,
    ended: bool,
}

/// A live camera. A capture thread reads continuously and keeps only the newest frame, so a slow
/// consumer gets the latest image and older ones are dropped (counted), never queued.
pub struct Camera {
    index: i32,
    shared: Arc<(Mutex<Slot>, Condvar)>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    last_seq: Option<u64>,
    dropped: u64,
    fps: Option<f64>,
}

impl Camera {
    /// Opens camera `index` (0 = the default camera). [`VisionError::CameraUnavailable`] when there
    /// is none or it cannot be read.
    pub fn open(index: i32) -> Result<Camera> {
        let shared = Arc::new((
            Mutex::new(Slot {
                latest: None,
                ended: false,
            }),
            Condvar::new(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<Option<f64>>();
        let (sh, st) = (shared.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name(format!("camera-{index}"))
            .spawn(move || {
                let cap = videoio::VideoCapture::new(index, videoio::CAP_ANY);
                let mut cap = match cap {
                    Ok(c) if c.is_opened().unwrap_or(false) => c,
                    _ => {
                        let _ = tx.send(None);
                        return;
                    }
                };
                let fps = cap.get(videoio::CAP_PROP_FPS).ok().filter(|f| *f > 0.0);
                let _ = tx.send(Some(fps.unwrap_or(0.0)));
                let t0 = Instant::now();
                let mut seq = 0u64;
                while !st.load(Ordering::Relaxed) {
                    let mut m = Mat::default();
                    let ok = cap.read(&mut m).unwrap_or(false) && !m.empty();
                    let (lock, cv) = &*sh;
                    let Ok(mut slot) = lock.lock() else { break };
                    if !ok {
                        slot.ended = true;
                        cv.notify_all();
                        break;
                    }
                    slot.latest = Some((seq, t0.elapsed().as_secs_f64() * 1000.0, m));
                    seq += 1;
                    cv.notify_all();
                }
            })?;
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Some(fps)) => Ok(Camera {
                index,
                shared,
                stop,
                thread: Some(thread),
                last_seq: None,
                dropped: 0,
                fps: (fps > 0.0).then_some(fps),
            }),
            _ => {
                stop.store(true, Ordering::Relaxed);
                Err(VisionError::CameraUnavailable { index })
            }
        }
    }
}

impl FrameSource for Camera {
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let (lock, cv) = &*self.shared;
        let mut slot = lock
            .lock()
            .map_err(|_| VisionError::CameraUnavailable { index: self.index })?;
        loop {
            if let Some((seq, ts, mat)) = slot.latest.take() {
                if let Some(last) = self.last_seq {
                    self.dropped += seq.saturating_sub(last + 1);
                }
                self.last_seq = Some(seq);
                return Ok(Some(Frame {
                    index: seq,
                    timestamp_ms: ts,
                    image: mat,
                }));
            }
            if slot.ended {
                return Ok(None);
            }
            let (s, _) = cv
                .wait_timeout(slot, Duration::from_secs(5))
                .map_err(|_| VisionError::CameraUnavailable { index: self.index })?;
            slot = s;
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }

    fn fps(&self) -> Option<f64> {
        self.fps
    }

    fn name(&self) -> String {
        format!("camera {}", self.index)
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Where frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Camera(i32),
    File(PathBuf),
}

/// Opens an input: a camera, or a file decided by content (image or video).
pub fn open_input(input: &Input, pace: Pace, limits: ImageLimits) -> Result<Box<dyn FrameSource>> {
    match input {
        Input::Camera(i) => Ok(Box::new(Camera::open(*i)?)),
        Input::File(p) => match input_kind(p)? {
            InputKind::Image(_) => {
                // Fail early on a bad image too, like for videos.
                let image = load_image(p, &limits)?;
                Ok(Box::new(PreloadedImage {
                    path: p.clone(),
                    image: Some(image),
                }))
            }
            InputKind::Video => Ok(Box::new(VideoFile::open(p, pace)?)),
        },
    }
}

/// One already decoded image as a source.
struct PreloadedImage {
    path: PathBuf,
    image: Option<Mat>,
}

impl FrameSource for PreloadedImage {
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        Ok(self.image.take().map(|image| Frame {
            index: 0,
            timestamp_ms: 0.0,
            image,
        }))
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_signatures_not_names() {
        assert_eq!(
            sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(
            sniff_image(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(ImageFormat::Png)
        );
        assert_eq!(sniff_image(b"P5\n48 48\n255\n"), Some(ImageFormat::Pnm));
        assert_eq!(sniff_image(b"hello, I am text"), None);
        assert_eq!(sniff_image(b""), None);
    }

    #[test]
    fn jpeg_completeness() {
        let ok = [0xFF, 0xD8, 0xFF, 0xDA, 1, 2, 3, 0xFF, 0xD9];
        assert!(jpeg_is_complete(&ok));
        assert!(!jpeg_is_complete(&ok[..7]));
        // Trailing bytes after EOI are tolerated.
        let mut trailing = ok.to_vec();
        trailing.extend_from_slice(b"junk");
        assert!(jpeg_is_complete(&trailing));
    }

    #[test]
    fn bad_files_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("notes.png");
        std::fs::write(&txt, "this is text, not a picture\n").unwrap();
        assert!(matches!(
            load_image(&txt, &ImageLimits::default()),
            Err(VisionError::NotAnImage { .. })
        ));
        let empty = dir.path().join("empty.jpg");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(
            load_image(&empty, &ImageLimits::default()),
            Err(VisionError::CorruptImage { .. })
        ));
        let missing = dir.path().join("missing.jpg");
        assert!(matches!(
            load_image(&missing, &ImageLimits::default()),
            Err(VisionError::NotFound { .. })
        ));
        let zero_video = dir.path().join("zero.mp4");
        std::fs::write(&zero_video, b"").unwrap();
        assert!(matches!(
            VideoFile::open(&zero_video, Pace::AsFastAsPossible),
            Err(VisionError::EmptyVideo { .. })
        ));
        let text_video = dir.path().join("text.mp4");
        std::fs::write(&text_video, "not a video at all\n".repeat(100)).unwrap();
        let e = VideoFile::open(&text_video, Pace::AsFastAsPossible);
        assert!(
            matches!(
                e,
                Err(VisionError::NotAVideo { .. }) | Err(VisionError::EmptyVideo { .. })
            ),
            "{:?}",
            e.err()
        );
    }

    #[test]
    fn a_missing_camera_is_a_typed_error() {
        // Index 97 exists on no test machine.
        match Camera::open(97) {
            Err(VisionError::CameraUnavailable { index }) => assert_eq!(index, 97),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("camera 97 should not exist"),
        }
    }
}

//! End-to-end tests of the vision pipeline on real faces from the shared data (`$MOODLENS_DATA` or
//! ../shared/data). They FAIL when the data is missing.
//!
//! Face counts and identities come from real Haar detection on real photos. Emotion probabilities
//! come from `MeanBrightnessTestClassifier`, a test-only stand-in that is NOT an emotion model: it
//! maps a crop's mean brightness to "happy" (bright) or "sad" (dark), which lets these tests check
//! the batching, tracking, smoothing and summary plumbing with a result that is known in advance
//! (one actor is pasted brightened, the other darkened).

use moodlens_session::{iou, Emotion, NUM_EMOTIONS};
use moodlens_vision::detect::{FaceDetector, HaarConfig, HaarDetector};
use moodlens_vision::opencv::core::{self, Mat, Rect, Scalar, Size, CV_8UC3};
use moodlens_vision::opencv::imgproc;
use moodlens_vision::opencv::prelude::*;
use moodlens_vision::run::{bench_video, detect_input, live_session, Annotate, Flow};
use moodlens_vision::source::{load_image, ImageLimits};
use moodlens_vision::source::{Input, Pace};
use moodlens_vision::testvideo::make_bench_video;
use moodlens_vision::testvideo::{compose_video, Actor};
use moodlens_vision::{BBox, EmotionClassifier, VisionError};
use moodlens_vision::{DetectOutcome, LiveFrameLine, LiveOutcome, VisionConfig};
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    moodlens_common::require_shared_data(&["realfaces"])
}

/// A live session over `input` with the default settings: the number of frames `on_frame` saw and
/// the outcome.
fn live(
    input: Input,
    pace: Pace,
    clf: impl EmotionClassifier,
    mut on_frame: impl FnMut(&moodlens_vision::FrameResult),
) -> Result<LiveOutcome, VisionError> {
    let cfg = VisionConfig::default();
    let mut pipeline = cfg.pipeline(clf)?;
    live_session(
        &mut pipeline,
        &input,
        pace,
        cfg.limits,
        None,
        false,
        None,
        &mut |_, r| {
            on_frame(r);
            Ok(Flow::Continue)
        },
    )
}

/// Every input through `detect_input` as `moodlens detect` runs them (a fresh session each,
/// every frame scanned whole).
fn detect_all(
    inputs: Vec<PathBuf>,
    cfg: VisionConfig,
    clf: impl EmotionClassifier,
    annotate: Option<Annotate>,
) -> DetectOutcome {
    let mut pipeline = cfg.pipeline(clf).unwrap().with_full_scan_every(1);
    DetectOutcome {
        inputs: inputs
            .iter()
            .map(|p| {
                detect_input(
                    p,
                    &mut pipeline,
                    cfg.limits,
                    annotate.as_ref(),
                    &mut |_, _| Ok(()),
                )
            })
            .collect(),
    }
}

/// Test-only: "happy" for bright crops, "sad" for dark ones. Not an emotion model.
struct MeanBrightnessTestClassifier {
    calls: usize,
    batch_sizes: Vec<usize>,
    delay: std::time::Duration,
}

impl MeanBrightnessTestClassifier {
    fn new() -> Self {
        MeanBrightnessTestClassifier {
            calls: 0,
            batch_sizes: vec![],
            delay: std::time::Duration::ZERO,
        }
    }
}

impl EmotionClassifier for MeanBrightnessTestClassifier {
    type Error = std::convert::Infallible;
    fn classify(&mut self, faces: &[Vec<u8>]) -> Result<Vec<[f32; NUM_EMOTIONS]>, Self::Error> {
        self.calls += 1;
        self.batch_sizes.push(faces.len());
        std::thread::sleep(self.delay);
        Ok(faces
            .iter()
            .map(|f| {
                assert_eq!(f.len(), 48 * 48);
                let mean = f.iter().map(|&v| v as f32).sum::<f32>() / f.len() as f32;
                let s = 1.0 / (1.0 + (-(mean - 128.0) / 10.0).exp());
                let mut p = [0.02f32; NUM_EMOTIONS];
                p[Emotion::Happy.index()] = 0.9 * s;
                p[Emotion::Sad.index()] = 0.9 * (1.0 - s);
                p
            })
            .collect())
    }
}

fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// The first photos of `class` in which Haar finds exactly one face when pasted at `side` px.
fn detectable_photos(class: &str, side: i32, n: usize) -> Vec<PathBuf> {
    let mut det = HaarDetector::new(HaarConfig::default()).unwrap();
    let mut out = vec![];
    for p in sorted_files(&data_dir().join("realfaces").join(class)) {
        let img = load_image(&p, &ImageLimits::default()).unwrap();
        let mut canvas =
            Mat::new_rows_cols_with_default(480, 640, CV_8UC3, Scalar::all(110.0)).unwrap();
        let mut small = Mat::default();
        imgproc::resize(
            &img,
            &mut small,
            Size::new(side, side),
            0.0,
            0.0,
            imgproc::INTER_AREA,
        )
        .unwrap();
        let mut roi = canvas.roi_mut(Rect::new(200, 100, side, side)).unwrap();
        small.copy_to(&mut roi).unwrap();
        let mut gray = Mat::default();
        imgproc::cvt_color_def(&canvas, &mut gray, imgproc::COLOR_BGR2GRAY).unwrap();
        if det.detect(&gray).unwrap().len() == 1 {
            out.push(p);
            if out.len() == n {
                break;
            }
        }
    }
    assert_eq!(
        out.len(),
        n,
        "not enough detectable photos in realfaces/{class}"
    );
    out
}

const FRAMES: usize = 60;

/// A 640x480 MJPG video: actor A (brightened) crosses the top half for all 60 frames; actor B
/// (darkened) moves along the bottom half in frames 20..50.
fn two_face_video(dir: &Path) -> (PathBuf, Vec<Vec<(usize, Rect)>>) {
    let photos = detectable_photos("neutral", 200, 2);
    let out = dir.join("two_faces.avi");
    let truth = compose_video(
        &out,
        (640, 480),
        25.0,
        FRAMES,
        &[
            Actor {
                photo: photos[0].clone(),
                side: 200,
                start: (20, 20),
                velocity: (4, 0),
                brightness: 60.0,
                from: 0,
                until: FRAMES,
            },
            Actor {
                photo: photos[1].clone(),
                side: 200,
                start: (420, 270),
                velocity: (-3, 0),
                brightness: -60.0,
                from: 20,
                until: 50,
            },
        ],
    )
    .unwrap();
    (out, truth)
}

fn rect_box(r: &Rect) -> BBox {
    BBox::new(r.x, r.y, r.width, r.height)
}

#[test]
fn video_of_real_faces_gives_counts_identities_and_final_mood() {
    let dir = tempfile::tempdir().unwrap();
    let (video, truth) = two_face_video(dir.path());
    let mut clf = MeanBrightnessTestClassifier::new();
    let annotate = Annotate {
        target: dir.path().join("annotated.avi"),
        landmarks: false,
    };
    let outcome = detect_all(
        vec![video.clone()],
        VisionConfig::default(),
        &mut clf,
        Some(annotate),
    );
    assert_eq!(outcome.exit_code(), 0);
    let rep = &outcome.inputs[0];
    assert_eq!(rep.kind, Some("video"));
    assert_eq!(rep.frames.len(), FRAMES, "every frame processed");
    // Face counts: the expected number in (nearly) every frame.
    let mut right = 0;
    // Identities: each actor's detections (matched to the pasted rectangle) keep one track id.
    let mut ids: [Vec<u32>; 2] = [vec![], vec![]];
    for (f, fr) in rep.frames.iter().enumerate() {
        if std::env::var_os("DEBUG_FRAMES").is_some() {
            eprintln!(
                "{f}: truth {:?} found {:?}",
                truth[f],
                fr.faces
                    .iter()
                    .map(|x| (x.track_id, x.bbox))
                    .collect::<Vec<_>>()
            );
        }
        if fr.faces.len() == truth[f].len() {
            right += 1;
        }
        for face in &fr.faces {
            let (actor, _) = truth[f]
                .iter()
                .find(|(_, r)| iou(&rect_box(r), &face.bbox) > 0.2)
                .unwrap_or_else(|| {
                    panic!("frame {f}: face {:?} matches no pasted photo", face.bbox)
                });
            ids[*actor].push(face.track_id);
        }
    }
    assert!(
        right >= FRAMES * 9 / 10,
        "right face count in only {right}/{FRAMES} frames"
    );
    assert!(
        ids[0].len() >= 54 && ids[1].len() >= 27,
        "{} / {}",
        ids[0].len(),
        ids[1].len()
    );
    assert!(
        ids[0].iter().all(|&i| i == ids[0][0]),
        "actor A ids {:?}",
        ids[0]
    );
    assert!(
        ids[1].iter().all(|&i| i == ids[1][0]),
        "actor B ids {:?}",
        ids[1]
    );
    assert_ne!(ids[0][0], ids[1][0]);
    // One classifier call per frame with faces, all faces of the frame in one batch.
    assert!(clf.batch_sizes.contains(&2));
    assert_eq!(
        clf.calls,
        rep.frames.iter().filter(|f| !f.faces.is_empty()).count()
    );
    // Summary: A (bright → "happy") is seen twice as long as B (dark → "sad").
    let s = rep.summary.as_ref().unwrap();
    assert_eq!(s.frames, FRAMES as u64);
    assert_eq!(s.identities, 2);
    assert_eq!(s.final_mood, Some(Emotion::Happy));
    let track = |id: u32| s.tracks.iter().find(|t| t.track_id == id).unwrap();
    assert_eq!(track(ids[0][0]).mood, Some(Emotion::Happy));
    assert_eq!(track(ids[1][0]).mood, Some(Emotion::Sad));
    // The JSON shape of `detect --json`.
    let v = serde_json::to_value(&outcome).unwrap();
    assert_eq!(v["inputs"][0]["summary"]["final_mood"], "happy");
    assert_eq!(v["inputs"][0]["frames"].as_array().unwrap().len(), FRAMES);
    // The annotated video has every frame.
    let annotated = dir.path().join("annotated.avi");
    let mut cap = moodlens_vision::opencv::videoio::VideoCapture::from_file(
        annotated.to_str().unwrap(),
        moodlens_vision::opencv::videoio::CAP_ANY,
    )
    .unwrap();
    let mut n = 0;
    let mut m = Mat::default();
    while cap.read(&mut m).unwrap() && !m.empty() {
        n += 1;
    }
    assert_eq!(n, FRAMES);
}

#[test]
fn a_live_session_processes_every_frame_and_ends_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (video, _) = two_face_video(dir.path());
    let mut seen = 0;
    let o = live(
        Input::File(video),
        Pace::AsFastAsPossible,
        MeanBrightnessTestClassifier::new(),
        |_| seen += 1,
    )
    .unwrap();
    assert_eq!(seen, FRAMES, "every frame reaches the caller");
    assert_eq!(o.frames, FRAMES as u64);
    assert_eq!(o.dropped, 0);
    // Live mode scans around tracked faces between full scans: same two identities, B found
    // within the full-scan period after it appears.
    assert_eq!(o.summary.identities, 2, "{:?}", o.summary);
    let obs = o.summary.face_observations;
    assert!(
        (80..=90).contains(&obs),
        "{obs} face observations (60 + 30 expected)"
    );
    assert_eq!(o.summary.final_mood, Some(Emotion::Happy));
}

#[test]
fn realtime_pace_drops_frames_instead_of_queueing_them() {
    let dir = tempfile::tempdir().unwrap();
    let (video, _) = two_face_video(dir.path());
    // 25 fps video, ~100 ms per classified frame: processing cannot keep up.
    let mut clf = MeanBrightnessTestClassifier::new();
    clf.delay = std::time::Duration::from_millis(100);
    let mut lines = Vec::new();
    let t0 = std::time::Instant::now();
    let o = live(Input::File(video), Pace::Realtime, &mut clf, |r| {
        lines.push(serde_json::to_string(&LiveFrameLine::from_result(r)).unwrap())
    })
    .unwrap();
    let secs = t0.elapsed().as_secs_f64();
    assert!(o.dropped > 0, "no frame dropped");
    assert_eq!(
        o.frames + o.dropped,
        FRAMES as u64,
        "every frame either processed or dropped"
    );
    // Not queued: the session takes about the video's duration (2.4 s), not 60 x 100 ms.
    assert!(secs < 4.5, "took {secs:.1} s");
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert!(first["faces"].is_array());
    let with_face: serde_json::Value = lines
        .iter()
        .filter(|l| l.starts_with('{') && l.contains("track_id"))
        .map(|l| serde_json::from_str(l).unwrap())
        .next()
        .expect("a frame line with a face");
    let f = &with_face["faces"][0];
    assert!(f["smoothed"]["happy"].is_number() && f["probabilities"]["sad"].is_number());
    assert_eq!(f["top3"].as_array().unwrap().len(), 3);
}

fn detect_json(inputs: Vec<PathBuf>) -> (DetectOutcome, serde_json::Value) {
    detect_json_with(inputs, VisionConfig::default())
}

fn detect_json_with(inputs: Vec<PathBuf>, cfg: VisionConfig) -> (DetectOutcome, serde_json::Value) {
    let o = detect_all(inputs, cfg, MeanBrightnessTestClassifier::new(), None);
    let v = serde_json::to_value(&o).unwrap();
    (o, v)
}

#[test]
fn a_photo_with_one_clear_face_gives_exactly_one_sane_box() {
    let photo = detectable_photos("happy", 200, 1).remove(0);
    let (o, v) = detect_json(vec![photo]);
    assert_eq!(o.exit_code(), 0);
    let faces = v["inputs"][0]["frames"][0]["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 1);
    let b = &faces[0]["bbox"];
    let (x, y, w, h) = (
        b["x"].as_i64().unwrap(),
        b["y"].as_i64().unwrap(),
        b["w"].as_i64().unwrap(),
        b["h"].as_i64().unwrap(),
    );
    // realfaces photos are 350x350 with the face roughly centred; YuNet's box is taller than wide
    // (forehead to chin), Haar's square.
    assert!(x >= 0 && y >= 0 && x + w <= 350 && y + h <= 350, "{b}");
    assert!((100..=350).contains(&w) && h >= w && h <= w * 3 / 2, "{b}");
    assert!(faces[0]["score"].as_f64().unwrap() > 0.6, "{}", faces[0]);
    assert_eq!(faces[0]["landmarks"].as_array().unwrap().len(), 5);
    let cx = x + w / 2;
    let cy = y + h / 2;
    assert!(
        (100..=250).contains(&cx) && (100..=250).contains(&cy),
        "{b}"
    );
    assert_eq!(faces[0]["probabilities"].as_object().unwrap().len(), 7);
    assert_eq!(faces[0]["top3"].as_array().unwrap().len(), 3);
}

#[test]
fn a_photo_without_a_face_gives_zero_faces_and_success() {
    // A real photo turned upside down: no upright frontal face for the Haar cascade (YuNet, which
    // finds some upside-down faces, is checked on real face-free photos in tests/faces.rs).
    let dir = tempfile::tempdir().unwrap();
    let src = detectable_photos("happy", 200, 1).remove(0);
    let img = load_image(&src, &ImageLimits::default()).unwrap();
    let mut flipped = Mat::default();
    core::flip(&img, &mut flipped, 0).unwrap();
    let path = dir.path().join("upside_down.png");
    moodlens_vision::opencv::imgcodecs::imwrite_def(path.to_str().unwrap(), &flipped).unwrap();
    let haar = VisionConfig {
        detector: moodlens_vision::detect::DetectorConfig::of(moodlens_vision::DetectorKind::Haar),
        ..VisionConfig::default()
    };
    let (o, v) = detect_json_with(vec![path], haar);
    assert_eq!(o.exit_code(), 0);
    assert_eq!(o.inputs[0].faces(), 0);
    assert_eq!(
        v["inputs"][0]["frames"][0]["faces"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert!(v["inputs"][0]["error"].is_null());
}

#[test]
fn truncated_jpeg_and_text_png_are_clear_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let src = sorted_files(&data_dir().join("realfaces/happy")).remove(0);
    let bytes = std::fs::read(&src).unwrap();
    let truncated = dir.path().join("truncated.jpg");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let text = dir.path().join("readme.png");
    std::fs::write(&text, "this is a text file\n").unwrap();

    assert!(matches!(
        load_image(&truncated, &ImageLimits::default()),
        Err(VisionError::CorruptImage { .. })
    ));
    assert!(matches!(
        load_image(&text, &ImageLimits::default()),
        Err(VisionError::NotAnImage { .. })
    ));
    let (o, v) = detect_json(vec![truncated, text, src]);
    assert_eq!(o.exit_code(), 1);
    assert_eq!(o.failed(), 2);
    let e0 = v["inputs"][0]["error"].as_str().unwrap();
    assert!(
        e0.contains("truncated.jpg") && e0.contains("truncated"),
        "{e0}"
    );
    let e1 = v["inputs"][1]["error"].as_str().unwrap();
    assert!(
        e1.contains("readme.png") && e1.contains("not an image"),
        "{e1}"
    );
    // The good input after the bad ones is still processed.
    assert!(v["inputs"][2]["error"].is_null());
}

#[test]
fn images_above_the_size_limit_are_refused() {
    let src = sorted_files(&data_dir().join("realfaces/happy")).remove(0);
    let limits = ImageLimits {
        max_pixels: 300 * 300,
        ..ImageLimits::default()
    };
    match load_image(&src, &limits) {
        Err(e @ VisionError::ImageTooLarge { .. }) => {
            assert!(e.to_string().contains("350x350"), "{e}")
        }
        other => panic!("expected ImageTooLarge, got {:?}", other.err()),
    }
}

#[test]
fn bench_reports_fps_and_stage_times_on_a_one_face_video() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("bench.avi");
    make_bench_video(&video, 60, &data_dir()).unwrap();
    let cfg = VisionConfig::default();
    let mut pipeline = cfg.pipeline(MeanBrightnessTestClassifier::new()).unwrap();
    let r = bench_video(&mut pipeline, &video, cfg.limits).unwrap();
    assert_eq!((r.width, r.height), (640, 480));
    assert_eq!(r.frames, 60);
    assert!(r.frames_with_one_face >= 54, "{}", r.frames_with_one_face);
    assert!(r.fps > 0.0 && r.per_frame_ms.detect > 0.0);
    let v = serde_json::to_value(&r).unwrap();
    assert!(v["per_frame_ms"]["decode"].is_number());
}

#[test]
fn framing_evaluation_runs_the_full_path_on_realfaces() {
    use moodlens_vision::tune::{default_framings, evaluate_framings, labelled_photos};
    let all = labelled_photos(&data_dir().join("realfaces")).unwrap();
    assert_eq!(all.len(), 624, "realfaces holds 624 labelled photos");
    // Every 40th photo keeps the test quick.
    let photos: Vec<_> = all.into_iter().step_by(40).collect();
    let framings = default_framings(false);
    let mut clf = MeanBrightnessTestClassifier::new();
    let ev = evaluate_framings(
        &photos,
        &moodlens_vision::detect::DetectorConfig::of(moodlens_vision::DetectorKind::Haar),
        &framings,
        &mut clf,
    )
    .unwrap();
    assert_eq!(ev.photos, photos.len());
    assert!(
        ev.with_face * 10 >= ev.photos * 8,
        "{} of {}",
        ev.with_face,
        ev.photos
    );
    assert_eq!(ev.framings.len(), framings.len());
    for r in &ev.framings {
        let total: usize = r.confusion.iter().flatten().sum();
        assert_eq!(total, ev.with_face);
        assert_eq!(r.classified, ev.with_face);
        assert!((0.0..=1.0).contains(&r.accuracy));
    }
}

#[test]
fn a_missing_camera_fails_live_with_a_typed_error() {
    match live(
        Input::Camera(97),
        Pace::AsFastAsPossible,
        MeanBrightnessTestClassifier::new(),
        |_| {},
    ) {
        Err(e @ VisionError::CameraUnavailable { index: 97 }) => {
            assert!(e.to_string().contains("camera 97"), "{e}")
        }
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("camera 97 opened"),
    }
}

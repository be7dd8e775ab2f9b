//! Detector tests on real photos (issue "one person, one face"): composed scenes made from the shared
//! realfaces photos on a real, busy background, at several face sizes and with a tilted face; and a
//! set of real face-free images for false faces: OpenCV's own sample images from Debian's
//! `opencv-doc` package (`/usr/share/doc/opencv-doc/examples/{data,text}`, installed by
//! `scripts/system-deps.sh`; `$MOODLENS_FACEFREE_DIR` overrides), without the ones showing people.
//! Both fail, not skip, when their data is missing.

use moodlens_vision::detect::{DetectorConfig, DetectorKind};
use moodlens_vision::opencv::core::{self, Mat, Point2f, Rect, Scalar, Size};
use moodlens_vision::opencv::imgproc;
use moodlens_vision::opencv::prelude::*;
use moodlens_vision::source::{load_image, ImageLimits};
use moodlens_vision::{FaceDetector, YuNetConfig, YuNetDetector};
use std::path::{Path, PathBuf};

fn realfaces() -> PathBuf {
    moodlens_common::require_shared_data(&["realfaces"]).join("realfaces")
}

fn photo(class: &str, i: usize) -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir(realfaces().join(class))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v.swap_remove(i)
}

/// The face-free image set: OpenCV's sample images minus those with people in them.
fn face_free_images() -> Vec<PathBuf> {
    let root = std::env::var_os("MOODLENS_FACEFREE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/doc/opencv-doc/examples"));
    let mut out = Vec::new();
    for sub in ["data", "text"] {
        let dir = root.join(sub);
        let rd = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (install Debian's opencv-doc: bash scripts/system-deps.sh)",
                dir.display()
            )
        });
        for e in rd {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_lowercase();
            let image = name.ends_with(".jpg") || name.ends_with(".png");
            // people: the stereo-calibration series (a person holds the chessboard), a footballer,
            // basketball players
            let people = name.starts_with("left")
                || name.starts_with("right")
                || name.starts_with("messi")
                || name.starts_with("basketball");
            if image && !people {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(out.len() >= 50, "only {} face-free images", out.len());
    out
}

fn gray_of(img: &Mat) -> Mat {
    let mut g = Mat::default();
    imgproc::cvt_color_def(img, &mut g, imgproc::COLOR_BGR2GRAY).unwrap();
    g
}

/// A busy real background (a face-free sample photo) of `size`, BGR.
fn background(size: Size) -> Mat {
    let p = face_free_images()
        .into_iter()
        .find(|p| p.ends_with("fruits.jpg"))
        .expect("fruits.jpg in the face-free set");
    let img = load_image(&p, &ImageLimits::default()).unwrap();
    let mut out = Mat::default();
    imgproc::resize(&img, &mut out, size, 0.0, 0.0, imgproc::INTER_LINEAR).unwrap();
    out
}

/// Pastes `photo` (a realfaces photo) at `side` px with its top-left at `at`, rotated by `deg`.
fn paste(canvas: &mut Mat, photo: &Path, side: i32, at: (i32, i32), deg: f64) {
    let img = load_image(photo, &ImageLimits::default()).unwrap();
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
    if deg != 0.0 {
        let c = Point2f::new(side as f32 / 2.0, side as f32 / 2.0);
        let m = imgproc::get_rotation_matrix_2d(c, deg, 1.0).unwrap();
        let mut rot = Mat::default();
        imgproc::warp_affine(
            &small,
            &mut rot,
            &m,
            Size::new(side, side),
            imgproc::INTER_LINEAR,
            core::BORDER_REFLECT,
            Scalar::default(),
        )
        .unwrap();
        small = rot;
    }
    let mut roi = canvas.roi_mut(Rect::new(at.0, at.1, side, side)).unwrap();
    small.copy_to(&mut roi).unwrap();
}

fn yunet() -> YuNetDetector {
    YuNetDetector::new(YuNetConfig::default()).unwrap()
}

/// Three realfaces photos side by side on a 1600x900 busy background, the middle one tilted 20°.
fn three_people(side: i32) -> Mat {
    let people = [photo("happy", 3), photo("sad", 5), photo("neutral", 7)];
    let mut canvas = background(Size::new(1600, 900));
    for (k, p) in people.iter().enumerate() {
        let tilt = if k == 1 { 20.0 } else { 0.0 };
        paste(&mut canvas, p, side, (150 + 480 * k as i32, 300), tilt);
    }
    canvas
}

#[test]
fn three_people_at_several_sizes_including_a_tilted_face_are_three_faces() {
    let mut det = yunet();
    for side in [175, 260] {
        let canvas = three_people(side);
        let faces = det.detect_faces(&canvas, &gray_of(&canvas)).unwrap();
        assert_eq!(faces.len(), 3, "{side} px: {faces:?}");
        // left to right, one per pasted photo, each with five landmarks inside its box
        for (k, f) in faces.iter().enumerate() {
            let x0 = 150 + 480 * k as i32;
            assert!(f.bbox.x >= x0 - 10 && f.bbox.x < x0 + side, "{side}: {f:?}");
            let lm = f.landmarks.expect("landmarks");
            for p in lm {
                assert!(
                    p[0] >= f.bbox.x as f32 - 5.0 && p[0] <= (f.bbox.x + f.bbox.w) as f32 + 5.0
                );
            }
        }
    }
}

/// Small faces (120 px in 1600x900, 24 px at the default 320-px network input) need a larger
/// input (`--detect-size 640`): then the upright two are found; the tilted small one scores 0.41,
/// below the threshold (a documented miss), and nothing else is invented.
#[test]
fn small_faces_need_a_larger_detector_input() {
    let canvas = three_people(120);
    let gray = gray_of(&canvas);
    assert!(yunet().detect_faces(&canvas, &gray).unwrap().is_empty());
    let mut big = YuNetDetector::new(YuNetConfig {
        input_side: 640,
        ..YuNetConfig::default()
    })
    .unwrap();
    let faces = big.detect_faces(&canvas, &gray).unwrap();
    assert_eq!(faces.len(), 2, "{faces:?}");
    assert!(faces[0].bbox.x < 300 && faces[1].bbox.x > 1100, "{faces:?}");
}

#[test]
fn one_person_on_a_busy_background_is_one_face() {
    let mut det = yunet();
    for (class, i) in [("happy", 0), ("angry", 2), ("surprise", 4), ("neutral", 1)] {
        let mut canvas = background(Size::new(1024, 768));
        paste(&mut canvas, &photo(class, i), 420, (300, 180), 0.0);
        let faces = det.detect_faces(&canvas, &gray_of(&canvas)).unwrap();
        assert_eq!(faces.len(), 1, "{class} {i}: {faces:?}");
    }
}

#[test]
fn no_false_faces_on_real_face_free_images() {
    let mut det = yunet();
    let mut false_faces = Vec::new();
    let images = face_free_images();
    for p in &images {
        let img = load_image(p, &ImageLimits::default()).unwrap();
        let n = det.detect_faces(&img, &gray_of(&img)).unwrap().len();
        if n > 0 {
            false_faces.push((p.clone(), n));
        }
    }
    assert!(
        false_faces.is_empty(),
        "{} images, false faces: {false_faces:?}",
        images.len()
    );
}

#[test]
fn the_embedded_detectors_build_and_a_bad_model_is_an_error() {
    for kind in [DetectorKind::Yunet, DetectorKind::Haar] {
        let mut d = DetectorConfig::of(kind).build().unwrap();
        let img =
            Mat::new_rows_cols_with_default(240, 320, core::CV_8UC3, Scalar::all(90.0)).unwrap();
        assert!(d.detect_faces(&img, &gray_of(&img)).unwrap().is_empty());
    }
    assert!(YuNetDetector::from_onnx(b"not a model", YuNetConfig::default()).is_err());
}

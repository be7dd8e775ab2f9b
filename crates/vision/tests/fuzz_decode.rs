//! Fuzz-style property tests (proptest, bounded case counts) for frame and image decoding
//! (`source::load_image`, `sniff_image`, `jpeg_is_complete`, `open_input` on video files):
//! arbitrary bytes under image and video names, truncations and byte mutations of valid JPEG/PNG
//! files, and headers announcing huge dimensions must give an image or a typed error, never a
//! panic, and never an image above the pixel limit.

use moodlens_vision::source::{jpeg_is_complete, load_image, sniff_image};
use moodlens_vision::{open_input, ImageLimits, Input, Pace};
use proptest::prelude::*;
use std::io::Cursor;
use std::path::Path;

fn encode(format: image::ImageFormat, w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .expect("encode");
    out.into_inner()
}

fn check_load(dir: &Path, name: &str, bytes: &[u8], limits: &ImageLimits) {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    match load_image(&p, limits) {
        Ok(m) => {
            use moodlens_vision::opencv::prelude::*;
            assert!(m.rows() > 0 && m.cols() > 0);
            assert!((m.rows() as u64) * (m.cols() as u64) <= limits.max_pixels);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

fn limits() -> ImageLimits {
    ImageLimits {
        max_pixels: 4_000_000,
        ..ImageLimits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_as_images(bytes in proptest::collection::vec(any::<u8>(), 0..4096), ext in prop::sample::select(vec!["jpg", "png", "bmp", "webp", "JPG"])) {
        let dir = tempfile::tempdir().unwrap();
        let _ = sniff_image(&bytes);
        let _ = jpeg_is_complete(&bytes);
        check_load(dir.path(), &format!("x.{ext}"), &bytes, &limits());
    }

    #[test]
    fn mutated_and_truncated_jpeg_png(
        png in any::<bool>(),
        w in 1u32..64, h in 1u32..64,
        muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (fmt, ext) = if png { (image::ImageFormat::Png, "png") } else { (image::ImageFormat::Jpeg, "jpg") };
        let mut bytes = encode(fmt, w, h);
        for (i, b) in &muts {
            let i = i.index(bytes.len());
            bytes[i] = *b;
        }
        check_load(dir.path(), &format!("m.{ext}"), &bytes, &limits());
        let n = cut.index(bytes.len());
        check_load(dir.path(), &format!("t.{ext}"), &bytes[..n], &limits());
    }

    #[test]
    fn huge_dimension_headers_are_refused_before_decoding(w in 2001u32..=u32::MAX / 2, h in 2001u32..=u32::MAX / 2) {
        // A PNG whose IHDR announces w x h (the CRC is left wrong on purpose: only the header
        // dimensions may be trusted before the limit check).
        let mut bytes = encode(image::ImageFormat::Png, 4, 4);
        bytes[16..20].copy_from_slice(&w.to_be_bytes());
        bytes[20..24].copy_from_slice(&h.to_be_bytes());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("huge.png");
        std::fs::write(&p, &bytes).unwrap();
        let r = load_image(&p, &limits());
        prop_assert!(r.is_err(), "a {w}x{h} header was decoded");
    }
}

proptest! {
    // Video containers go through FFmpeg: fewer cases, each is a process-level decoder open.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_as_videos(bytes in proptest::collection::vec(any::<u8>(), 0..2048), ext in prop::sample::select(vec!["avi", "mp4", "webm", "y4m"])) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(format!("v.{ext}"));
        std::fs::write(&p, &bytes).unwrap();
        if let Ok(mut src) = open_input(&Input::File(p), Pace::AsFastAsPossible, limits()) {
            // Whatever opens must end (or fail) within a bounded number of frames.
            for _ in 0..100 {
                match src.next_frame() {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}

#[test]
fn empty_and_zero_length_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["e.jpg", "e.png"] {
        let p = dir.path().join(name);
        std::fs::write(&p, b"").unwrap();
        assert!(load_image(&p, &limits()).is_err());
    }
    let v = dir.path().join("e.mp4");
    std::fs::write(&v, b"").unwrap();
    assert!(open_input(&Input::File(v), Pace::AsFastAsPossible, limits()).is_err());
}

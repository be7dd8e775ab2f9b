//! The windowed `live` path (highgui imshow + waitKey) on Qt's offscreen platform, so it runs on
//! machines without a display. A separate test binary: it sets process-wide environment.

use moodlens_vision::cli::{make_bench_video, run_live, LiveArgs, PipelineArgs};
use moodlens_vision::EmotionClassifier;
use std::path::PathBuf;

/// Test-only, not a model: uniform probabilities.
struct UniformTestClassifier;

impl EmotionClassifier for UniformTestClassifier {
    type Error = std::convert::Infallible;
    fn classify(&mut self, faces: &[Vec<u8>]) -> Result<Vec<[f32; 7]>, Self::Error> {
        Ok(vec![[1.0 / 7.0; 7]; faces.len()])
    }
}

fn data_dir() -> PathBuf {
    moodlens_common::require_shared_data(&["realfaces"])
}

#[test]
fn live_window_shows_every_frame_offscreen() {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        std::env::set_var("QT_QPA_PLATFORM", "offscreen");
    }
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("v.avi");
    make_bench_video(&video, 12, &data_dir()).unwrap();
    let args = LiveArgs {
        camera: 0,
        input: Some(video),
        headless: false,
        realtime: false,
        json: false,
        max_frames: Some(10),
        annotate: Some(dir.path().join("out.avi")),
        print_summary: true,
        pipeline: PipelineArgs::default(),
    };
    let mut out = Vec::new();
    let o = run_live(&args, UniformTestClassifier, &mut out).unwrap();
    assert_eq!(o.frames, 10, "--max-frames stops the session");
    assert_eq!(o.summary.identities, 1);
    assert!(dir.path().join("out.avi").is_file());
    assert!(String::from_utf8(out).unwrap().contains("final mood"));
}

//! The ONNX export (`moodlens export --onnx`) loads in OpenCV's DNN module (Debian's OpenCV 4.6)
//! and gives burn's probabilities: the shipped model on 300 FER-2013 PrivateTest faces (the
//! file's own `probabilities` output, and `Classifier` on the `opencv` engine with flip TTA), and
//! MobileNetV2 (in-graph resize, gray→RGB, ReLU6, residuals), EfficientNet-Lite0 (TF "same"
//! asymmetric padding) and the seed ensemble (averaged branch softmax) with random weights, exported with `opencv46` (OpenCV 4.6 reads only the
//! old form of `Clip`; the compact network has no clamp, so its standard export loads as it is).

use moodlens_dnn::OpenCvRunner;
use moodlens_model::engine::EngineKind;
use moodlens_model::eval::predict_pixels;
use moodlens_model::fer_csv::{load_csv, Split};
use moodlens_model::nets::Arch;
use moodlens_model::onnx::PROBABILITIES_NAME;
use moodlens_model::{Classifier, NUM_EMOTIONS};

fn max_diff(a: &[[f32; NUM_EMOTIONS]], b: &[f32]) -> f32 {
    assert_eq!(a.len() * NUM_EMOTIONS, b.len());
    a.iter()
        .flatten()
        .zip(b)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn shipped_model_export_runs_in_opencv_dnn_like_burn() {
    let data = moodlens_common::require_shared_data(&["fer2013/fer2013.csv.gz"]);
    let loaded = load_csv(&data.join("fer2013/fer2013.csv.gz"), 0.0).unwrap();
    let faces: Vec<Vec<u8>> = loaded
        .samples
        .into_iter()
        .filter(|s| s.split == Split::PrivateTest)
        .take(300)
        .map(|s| s.pixels)
        .collect();
    let refs: Vec<&[u8]> = faces.iter().map(|f| f.as_slice()).collect();
    let mut burn = Classifier::embedded().unwrap();
    burn.set_engine(EngineKind::Burn);
    let bytes = burn.to_onnx().unwrap();

    let mut runner = OpenCvRunner::new(&bytes).expect("OpenCV DNN reads the exported file");
    let px: Vec<f32> = faces.iter().flatten().map(|&p| p as f32).collect();
    let got = runner
        .run_output(&px, faces.len(), PROBABILITIES_NAME)
        .unwrap();
    let want = predict_pixels(
        burn.net(),
        &refs,
        64,
        false,
        burn.temperature,
        burn.device(),
    );
    let d = max_diff(&want, &got);
    eprintln!("OpenCV DNN vs burn, 300 faces: max |dp| {d:.2e}");
    assert!(d < 1e-4, "max |dp| {d}");

    let mut cv = Classifier::embedded().unwrap();
    cv.set_runner(
        EngineKind::Opencv,
        Box::new(OpenCvRunner::new(&bytes).unwrap()),
    );
    assert_eq!(cv.prepare().unwrap(), "opencv");
    let a = cv.predict(&refs[..50]).unwrap();
    let b = burn.predict(&refs[..50]).unwrap();
    let flat: Vec<f32> = b.iter().flatten().copied().collect();
    let d = max_diff(&a, &flat);
    assert!(d < 1e-4, "Classifier opencv vs burn (TTA): max |dp| {d}");
}

#[test]
fn imagenet_style_exports_run_in_opencv_dnn_like_burn() {
    // (efficientnetb0's squeeze-and-excitation multiply does not run in OpenCV 4.6: docs/ONNX.md)
    for (arch, seed) in [
        (Arch::Mobilenetv2, 3),
        (Arch::EfficientnetLite0, 4),
        (Arch::SeedEnsemble, 5),
    ] {
        let burn = Classifier::untrained(arch, seed);
        let bytes = burn.to_onnx_with(true).unwrap();
        let mut runner = OpenCvRunner::new(&bytes)
            .unwrap_or_else(|e| panic!("{arch}: OpenCV DNN cannot read the export: {e}"));
        let faces: Vec<Vec<u8>> = (0..2u32)
            .map(|k| {
                (0..48 * 48u32)
                    .map(|i| ((i * 7 + k * 50) % 256) as u8)
                    .collect()
            })
            .collect();
        let refs: Vec<&[u8]> = faces.iter().map(|f| f.as_slice()).collect();
        let px: Vec<f32> = faces.iter().flatten().map(|&p| p as f32).collect();
        let got = runner.run_output(&px, 2, PROBABILITIES_NAME).unwrap();
        let want = predict_pixels(burn.net(), &refs, 2, false, 1.0, burn.device());
        let d = max_diff(&want, &got);
        eprintln!("{arch}: OpenCV DNN vs burn: max |dp| {d:.2e}");
        assert!(d < 1e-4, "{arch}: max |dp| {d}");
    }
}

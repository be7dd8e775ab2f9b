//! The ONNX export run by ONNX Runtime against burn.
//!
//! - the shipped model on 1,000 FER-2013 PrivateTest faces: the exported file's `probabilities`
//!   output vs burn, and `Classifier` on the `ort` engine (flip TTA as its card says) vs burn: same
//!   top-1 for ≥ 99.9% of the faces, max |Δp| < 1e-4;
//! - every architecture with random weights (BatchNorm statistics randomised too, so the folding
//!   is exercised) on random inputs: |Δp| < 1e-4.
//!
//! These tests need ONNX Runtime's library and fail without it: `bash scripts/onnxruntime.sh`
//! installs it (the README's test command runs it).

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Tensor};
use moodlens_model::engine::{find_ort_library, EngineKind, OnnxRunner, OrtRunner};
use moodlens_model::eval::predict_pixels;
use moodlens_model::fer_csv::{load_csv, Split};
use moodlens_model::nets::{Arch, Net};
use moodlens_model::onnx::{export, ExportOptions, LOGITS_NAME, PROBABILITIES_NAME};
use moodlens_model::{Classifier, NUM_EMOTIONS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn require_ort() {
    if let Err(e) = find_ort_library() {
        panic!("{e}");
    }
}

fn argmax(p: &[f32]) -> usize {
    (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap()
}

/// (share of rows with the same top-1, max |Δp|) of two `[n][7]` tables.
fn compare(a: &[[f32; NUM_EMOTIONS]], b: &[[f32; NUM_EMOTIONS]]) -> (f64, f32) {
    assert_eq!(a.len(), b.len());
    let same = a
        .iter()
        .zip(b)
        .filter(|(x, y)| argmax(&x[..]) == argmax(&y[..]))
        .count();
    let max = a
        .iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0f32, f32::max);
    (same as f64 / a.len() as f64, max)
}

fn rows(v: &[f32]) -> Vec<[f32; NUM_EMOTIONS]> {
    v.chunks(NUM_EMOTIONS)
        .map(|c| {
            let mut r = [0f32; NUM_EMOTIONS];
            r.copy_from_slice(c);
            r
        })
        .collect()
}

fn private_test_faces(n: usize) -> Vec<Vec<u8>> {
    let data = moodlens_common::require_shared_data(&["fer2013/fer2013.csv.gz"]);
    let loaded = load_csv(&data.join("fer2013/fer2013.csv.gz"), 0.0).expect("FER-2013 CSV");
    let faces: Vec<Vec<u8>> = loaded
        .samples
        .into_iter()
        .filter(|s| s.split == Split::PrivateTest)
        .take(n)
        .map(|s| s.pixels)
        .collect();
    assert_eq!(faces.len(), n);
    faces
}

#[test]
fn shipped_model_on_onnx_runtime_matches_burn_on_1000_private_test_faces() {
    require_ort();
    assert!(
        Classifier::has_embedded(),
        "this build has no embedded model"
    );
    let faces = private_test_faces(1000);
    let refs: Vec<&[u8]> = faces.iter().map(|f| f.as_slice()).collect();

    let mut burn = Classifier::embedded().unwrap();
    burn.set_engine(EngineKind::Burn);
    let mut ort = Classifier::embedded().unwrap();
    ort.set_engine(EngineKind::Ort);
    assert_eq!(ort.prepare().unwrap(), "ort");
    assert_eq!(burn.prepare().unwrap(), "burn");
    assert!(ort.tta, "the shipped card asks for flip TTA");

    // 1. the exported file's own calibrated output, no TTA, vs burn's softmax(logits / T)
    let bytes = burn.to_onnx().unwrap();
    let mut runner = OrtRunner::new(&bytes).unwrap();
    let mut file_probs = Vec::new();
    for chunk in refs.chunks(100) {
        let px: Vec<f32> = chunk
            .iter()
            .flat_map(|f| f.iter().map(|&p| p as f32))
            .collect();
        file_probs.extend(
            runner
                .run_output(&px, chunk.len(), PROBABILITIES_NAME)
                .unwrap(),
        );
    }
    let file_probs = rows(&file_probs);
    let burn_plain = predict_pixels(
        burn.net(),
        &refs,
        100,
        false,
        burn.temperature,
        burn.device(),
    );
    let (agree, max) = compare(&file_probs, &burn_plain);
    eprintln!(
        "exported file (ORT) vs burn, 1000 faces: top-1 agreement {agree:.4}, max |dp| {max:.2e}"
    );
    assert!(agree >= 0.999, "top-1 agreement {agree}");
    assert!(max < 1e-4, "max |dp| {max}");

    // 2. the Classifier API on both engines (TTA mirrors in the batch): batches of 8 over the 1000
    // faces, batches of 1 over the first 200 (burn at batch 1 is slow)
    for (batch, n) in [(8usize, 1000usize), (1, 200)] {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for chunk in refs[..n].chunks(batch) {
            a.extend(ort.predict(chunk).unwrap());
            b.extend(burn.predict(chunk).unwrap());
        }
        let (agree, max) = compare(&a, &b);
        eprintln!("Classifier ort vs burn (TTA, batch {batch}): top-1 agreement {agree:.4}, max |dp| {max:.2e}");
        assert!(agree >= 0.999, "batch {batch}: top-1 agreement {agree}");
        assert!(max < 1e-4, "batch {batch}: max |dp| {max}");
    }
}

/// Sets every 1-D tensor (biases, BatchNorm gamma/beta/running mean/running variance) to random
/// values in 0.5..1.5, so that the folded BatchNorm differs from the identity.
struct RandomiseVectors(ChaCha8Rng);

impl ModuleMapper for RandomiseVectors {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if D != 1 {
            return param;
        }
        let rng = &mut self.0;
        param.map(|t| {
            let n = t.dims()[0];
            let v: Vec<f32> = (0..n).map(|_| rng.gen_range(0.5..1.5)).collect();
            Tensor::<1>::from_floats(v.as_slice(), &t.device()).reshape(t.dims())
        })
    }
}

#[test]
fn every_architecture_with_random_weights_matches_burn_on_onnx_runtime() {
    require_ort();
    let device = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (i, arch) in Arch::ALL.into_iter().enumerate() {
        device.seed(100 + i as u64);
        let net = Net::new(arch, &device)
            .map(&mut RandomiseVectors(ChaCha8Rng::seed_from_u64(i as u64)))
            .valid();
        let temperature = 0.7;
        let bytes = export(
            &net,
            &ExportOptions {
                temperature,
                ..Default::default()
            },
        )
        .unwrap();
        let mut runner = OrtRunner::new(&bytes).unwrap();
        let n = 3;
        let faces: Vec<Vec<u8>> = (0..n)
            .map(|_| (0..48 * 48).map(|_| rng.gen()).collect())
            .collect();
        let refs: Vec<&[u8]> = faces.iter().map(|f| f.as_slice()).collect();
        let px: Vec<f32> = faces.iter().flatten().map(|&p| p as f32).collect();
        let got = rows(&runner.run_output(&px, n, PROBABILITIES_NAME).unwrap());
        let want = predict_pixels(&net, &refs, n, false, temperature, &device);
        let (agree, max) = compare(&got, &want);
        eprintln!(
            "{arch}: ORT vs burn on {n} random faces: top-1 agreement {agree}, max |dp| {max:.2e}"
        );
        assert!(max < 1e-4, "{arch}: max |dp| {max}");
        assert_eq!(agree, 1.0, "{arch}");
        // the logits output is the network's output before calibration
        let logits = runner.logits(&px, n).unwrap();
        let burn_logits: Vec<f32> = net
            .forward(moodlens_model::faces_tensor(px.clone(), &device))
            .into_data()
            .try_to_vec()
            .unwrap();
        let scale = burn_logits.iter().fold(1f32, |m, v| m.max(v.abs()));
        let dl = logits
            .iter()
            .zip(&burn_logits)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            dl / scale < 1e-4,
            "{arch}: {LOGITS_NAME} differ by {dl} (scale {scale})"
        );
    }
}

#[test]
fn a_missing_library_is_reported_with_the_way_to_get_it() {
    // A forced engine fails with the message; `auto` falls back to burn. Run in a child process
    // so that this process's library search is not affected.
    if std::env::var_os("MOODLENS_ORT_MISSING_CHILD").is_some() {
        let mut c = Classifier::untrained(Arch::Compact, 1);
        c.set_engine(EngineKind::Ort);
        let e = c.prepare().unwrap_err().to_string();
        assert!(e.contains("scripts/onnxruntime.sh"), "{e}");
        assert!(e.contains("/nonexistent/libonnxruntime.so"), "{e}");
        let mut c = Classifier::untrained(Arch::Compact, 1);
        c.set_engine(EngineKind::Auto);
        assert_eq!(c.prepare().unwrap(), "burn");
        let p = c.predict(&[&[128u8; 48 * 48]]).unwrap();
        assert!((p[0].iter().sum::<f32>() - 1.0).abs() < 1e-4);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "a_missing_library_is_reported_with_the_way_to_get_it",
            "--exact",
            "--nocapture",
        ])
        .env("MOODLENS_ORT_MISSING_CHILD", "1")
        .env("MOODLENS_ORT_LIB", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

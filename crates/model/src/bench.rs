//! Micro-benchmarks behind `moodlens bench --classifier` and `moodlens bench --train`: classifier
//! latency per face at a given batch size, and training throughput (forward + backward + Adam step)
//! on random 48x48 inputs. Random data: the numbers measure compute, not accuracy.

use crate::classifier::{Classifier, ClassifierError};
use crate::nets::{Arch, Net};
use crate::{INPUT_SIZE, NUM_EMOTIONS};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;

/// Latency of [`Classifier::predict`] at one batch size.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyReport {
    /// The engine that ran the classifier (`burn`, `ort`, `opencv`).
    pub engine: String,
    pub batch: usize,
    pub iterations: usize,
    /// Median wall time of one `predict` call, milliseconds.
    pub median_ms_per_call: f64,
    /// Median per face (`median_ms_per_call / batch`).
    pub median_ms_per_face: f64,
    /// 90th percentile per call.
    pub p90_ms_per_call: f64,
}

/// Times `iterations` calls of `predict` on `batch` random crops (after 5 warm-up calls).
pub fn classifier_latency(
    clf: &Classifier,
    batch: usize,
    iterations: usize,
) -> Result<LatencyReport, ClassifierError> {
    let batch = batch.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let crops: Vec<Vec<u8>> = (0..batch)
        .map(|_| (0..INPUT_SIZE * INPUT_SIZE).map(|_| rng.gen()).collect())
        .collect();
    let refs: Vec<&[u8]> = crops.iter().map(|c| c.as_slice()).collect();
    for _ in 0..5 {
        clf.predict(&refs)?;
    }
    let mut ms = Vec::with_capacity(iterations.max(1));
    for _ in 0..iterations.max(1) {
        let t = Instant::now();
        let p = clf.predict(&refs)?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        debug_assert_eq!(p.len(), batch);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    let q = |f: f64| ms[((ms.len() - 1) as f64 * f).round() as usize];
    let median = q(0.5);
    Ok(LatencyReport {
        engine: clf.prepare()?.to_string(),
        batch,
        iterations: ms.len(),
        median_ms_per_call: median,
        median_ms_per_face: median / batch as f64,
        p90_ms_per_call: q(0.9),
    })
}

/// Training throughput of one architecture.
#[derive(Debug, Clone, Serialize)]
pub struct ThroughputReport {
    pub arch: String,
    pub batch: usize,
    /// Timed steps (after warm-up).
    pub steps: usize,
    pub seconds: f64,
    /// Images per second through forward + backward + Adam.
    pub images_per_second: f64,
}

/// Runs `warmup + steps` training steps of `arch` (cross-entropy, Adam, lr 2e-4) on random
/// normalised inputs of `batch` images on `device` (autodiff is added here); times the last `steps`.
pub fn train_throughput(
    arch: Arch,
    device: &Device,
    batch: usize,
    warmup: usize,
    steps: usize,
) -> ThroughputReport {
    let device = device.clone().autodiff();
    device.seed(3);
    let mut model = Net::new(arch, &device);
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut step = |model: Net| {
        let x = Tensor::<4>::random(
            [batch, 1, INPUT_SIZE, INPUT_SIZE],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let targets: Vec<i64> = (0..batch)
            .map(|_| rng.gen_range(0..NUM_EMOTIONS as i64))
            .collect();
        let y = Tensor::<1, Int>::from_data(TensorData::new(targets, [batch]), &device);
        let loss = loss_fn.forward(model.forward(x), y);
        // Reading the loss forces the lazy graph like the real loop does.
        let _ = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        optim.step(2e-4, model, grads)
    };
    for _ in 0..warmup {
        model = step(model);
    }
    let t0 = Instant::now();
    for _ in 0..steps.max(1) {
        model = step(model);
    }
    let _ = device.sync();
    let seconds = t0.elapsed().as_secs_f64();
    drop(model);
    ThroughputReport {
        arch: arch.to_string(),
        batch,
        steps: steps.max(1),
        seconds,
        images_per_second: (batch * steps.max(1)) as f64 / seconds.max(1e-9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micro_benchmarks_report_sane_numbers() {
        let clf = Classifier::untrained(Arch::Compact, 1);
        let r = classifier_latency(&clf, 2, 3).unwrap();
        assert_eq!(r.batch, 2);
        assert!(r.median_ms_per_call > 0.0 && r.median_ms_per_face <= r.median_ms_per_call);
        let t = train_throughput(Arch::Compact, &Device::flex(), 4, 1, 1);
        assert_eq!(t.steps, 1);
        assert!(t.images_per_second > 0.0);
    }
}

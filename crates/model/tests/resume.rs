//! Resume determinism: a run interrupted after its checkpoint and resumed gives the same epochs as
//! an uninterrupted run. An integration test so it runs in its own process: burn's RNG is global,
//! and parallel unit tests drawing from it would change the sequence. The tests here take a lock.

use burn::tensor::Device;
use moodlens_model::checkpoint;
use moodlens_model::fer_csv::{Origin, Sample, Split};
use moodlens_model::train::*;
use moodlens_model::Emotion;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Mutex;

static RNG: Mutex<()> = Mutex::new(());

/// Tiny learnable data: bright faces are happy, dark ones sad, with noise.
fn toy(n: usize, seed: u64) -> Vec<Sample> {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let happy = i % 2 == 0;
            let base: i32 = if happy { 170 } else { 80 };
            Sample {
                pixels: (0..48 * 48)
                    .map(|_| (base + r.gen_range(-40..40)).clamp(0, 255) as u8)
                    .collect(),
                label: if happy { Emotion::Happy } else { Emotion::Sad },
                split: Split::Training,
                origin: Origin::Other,
                crowd: None,
            }
        })
        .collect()
}

struct StopAfter(usize, usize);
impl Progress for StopAfter {
    fn epoch_end(&mut self, _: &EpochRecord, _: bool) {
        self.1 += 1;
    }
    fn keep_going(&mut self) -> bool {
        self.1 < self.0
    }
}

#[test]
fn interrupted_then_resumed_equals_uninterrupted() {
    let _g = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let tr = toy(96, 1);
    let va = toy(32, 2);
    let tr: Vec<&Sample> = tr.iter().collect();
    let va: Vec<&Sample> = va.iter().collect();
    let cfg = TrainConfig {
        epochs: 3,
        batch_size: 32,
        lr: 1e-3,
        schedule: Schedule::OneCycle,
        patience: 10,
        label_smoothing: 0.1,
        ..TrainConfig::default()
    };
    let dev = Device::flex();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let full = train(cfg.clone(), &tr, &va, a.path(), false, &dev, &mut Quiet).unwrap();
    assert_eq!(full.state.epochs_done, 3);
    // a run that stops after epoch 1 (as if killed right after its checkpoint), then resumes
    let part = train(
        cfg.clone(),
        &tr,
        &va,
        b.path(),
        false,
        &dev,
        &mut StopAfter(1, 0),
    )
    .unwrap();
    assert_eq!(part.state.epochs_done, 1);
    // starting over in the same folder without --resume is refused
    assert!(matches!(
        train(cfg.clone(), &tr, &va, b.path(), false, &dev, &mut Quiet),
        Err(TrainError::WouldOverwrite(_))
    ));
    let resumed = train(cfg.clone(), &tr, &va, b.path(), true, &dev, &mut Quiet).unwrap();
    assert_eq!(resumed.state.epochs_done, 3);
    assert_eq!(full.state.history.len(), resumed.state.history.len());
    for (x, y) in full.state.history.iter().zip(&resumed.state.history) {
        assert!((x.train_loss - y.train_loss).abs() < 1e-4, "{x:?} vs {y:?}");
        assert!((x.val_loss - y.val_loss).abs() < 1e-4, "{x:?} vs {y:?}");
        assert_eq!(x.val_accuracy, y.val_accuracy);
    }
    assert!(full
        .state
        .history
        .iter()
        .all(|r| r.train_loss.is_finite() && r.val_loss.is_finite()));
    // checkpoint, best weights, history and plots are on disk
    assert!(checkpoint::find(b.path()).is_some());
    for f in ["best.bpk", "history.json", "curves.png", "confusion.png"] {
        assert!(b.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn resume_without_checkpoint_or_with_other_data_fails() {
    let _g = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let tr = toy(40, 1);
    let va = toy(8, 2);
    let tr: Vec<&Sample> = tr.iter().collect();
    let va: Vec<&Sample> = va.iter().collect();
    let cfg = TrainConfig {
        epochs: 1,
        batch_size: 20,
        ..TrainConfig::default()
    };
    let dev = Device::flex();
    let d = tempfile::tempdir().unwrap();
    // --resume before any checkpoint exists (killed during the first epoch) starts from scratch
    let fresh = train(cfg.clone(), &tr, &va, d.path(), true, &dev, &mut Quiet).unwrap();
    assert_eq!(fresh.state.epochs_done, 1);
    assert!(matches!(
        train(
            cfg.clone(),
            &tr[..30],
            &va,
            d.path(),
            true,
            &dev,
            &mut Quiet
        ),
        Err(TrainError::DataMismatch { .. })
    ));
    assert!(matches!(
        train(cfg, &[], &va, d.path(), false, &dev, &mut Quiet),
        Err(TrainError::NoTrainingData)
    ));
}

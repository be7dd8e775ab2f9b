//! Evaluation: batched prediction (optionally with horizontal-flip test-time augmentation) and the
//! usual metrics: accuracy, mean cross-entropy, per-class precision/recall/F1, confusion matrix.

use crate::augment::hflip;
use crate::fer_csv::Sample;
use crate::nets::Net;
use crate::{faces_tensor, Emotion, INPUT_SIZE, NUM_EMOTIONS};
use burn::tensor::activation::softmax;
use burn::tensor::Device;
use serde::Serialize;

/// Probabilities `[n][7]` for gray 48x48 faces, in batches, on a model in inference mode
/// (`model.valid()`). With `tta`, the probabilities of each face and its mirror are averaged.
pub fn predict_pixels(
    model: &Net,
    faces: &[&[u8]],
    batch: usize,
    tta: bool,
    device: &Device,
) -> Vec<[f32; NUM_EMOTIONS]> {
    let px = INPUT_SIZE * INPUT_SIZE;
    let mut out = Vec::with_capacity(faces.len());
    for chunk in faces.chunks(batch.max(1)) {
        let run = |flip: bool| -> Vec<f32> {
            let mut data = Vec::with_capacity(chunk.len() * px);
            for f in chunk {
                if flip {
                    data.extend(hflip(f, INPUT_SIZE).iter().map(|&p| p as f32));
                } else {
                    data.extend(f.iter().map(|&p| p as f32));
                }
            }
            let x = faces_tensor(data, device);
            let p = softmax(model.forward(x), 1);
            p.into_data().try_to_vec::<f32>().unwrap_or_default()
        };
        let mut p = run(false);
        if tta {
            let q = run(true);
            for (a, b) in p.iter_mut().zip(q) {
                *a = (*a + b) / 2.0;
            }
        }
        for row in p.chunks(NUM_EMOTIONS) {
            let mut r = [0f32; NUM_EMOTIONS];
            r.copy_from_slice(row);
            out.push(r);
        }
    }
    out
}

/// [`predict_pixels`] over dataset samples.
pub fn predict_samples(
    model: &Net,
    samples: &[&Sample],
    batch: usize,
    tta: bool,
    device: &Device,
) -> Vec<[f32; NUM_EMOTIONS]> {
    let faces: Vec<&[u8]> = samples.iter().map(|s| s.pixels.as_slice()).collect();
    predict_pixels(model, &faces, batch, tta, device)
}

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassMetrics {
    pub label: &'static str,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// Evaluation result. `confusion[true][predicted]`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metrics {
    pub accuracy: f64,
    pub loss: f64,
    pub macro_f1: f64,
    pub n: usize,
    pub per_class: Vec<ClassMetrics>,
    pub labels: Vec<&'static str>,
    pub confusion: Vec<Vec<usize>>,
}

/// Index of the largest probability.
pub fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = i;
        }
    }
    best
}

/// Metrics of predictions `probs` against `labels` (same order).
pub fn metrics(
    probs: &[[f32; NUM_EMOTIONS]],
    labels: impl IntoIterator<Item = Emotion>,
) -> Metrics {
    let mut confusion = vec![vec![0usize; NUM_EMOTIONS]; NUM_EMOTIONS];
    let mut loss = 0f64;
    let mut n = 0usize;
    for (p, y) in probs.iter().zip(labels) {
        let t = y.index();
        confusion[t][argmax(p)] += 1;
        loss -= (p[t].max(1e-7) as f64).ln();
        n += 1;
    }
    let correct: usize = (0..NUM_EMOTIONS).map(|i| confusion[i][i]).sum();
    let per_class: Vec<ClassMetrics> = Emotion::ALL
        .iter()
        .map(|e| {
            let i = e.index();
            let tp = confusion[i][i] as f64;
            let support: usize = confusion[i].iter().sum();
            let predicted: usize = (0..NUM_EMOTIONS).map(|t| confusion[t][i]).sum();
            let precision = if predicted > 0 {
                tp / predicted as f64
            } else {
                0.0
            };
            let recall = if support > 0 {
                tp / support as f64
            } else {
                0.0
            };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ClassMetrics {
                label: e.label(),
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect();
    let present: Vec<&ClassMetrics> = per_class.iter().filter(|c| c.support > 0).collect();
    let macro_f1 = if present.is_empty() {
        0.0
    } else {
        present.iter().map(|c| c.f1).sum::<f64>() / present.len() as f64
    };
    Metrics {
        accuracy: if n > 0 {
            correct as f64 / n as f64
        } else {
            0.0
        },
        loss: if n > 0 { loss / n as f64 } else { 0.0 },
        macro_f1,
        n,
        per_class,
        labels: Emotion::ALL.iter().map(|e| e.label()).collect(),
        confusion,
    }
}

impl Metrics {
    /// A plain-text report: accuracy, per-class table, confusion matrix.
    pub fn report(&self) -> String {
        let mut s = format!(
            "accuracy {:.4} ({} images), mean cross-entropy {:.4}, macro F1 {:.4}\n\n{:<10}{:>10}{:>10}{:>10}{:>10}\n",
            self.accuracy, self.n, self.loss, self.macro_f1, "class", "precision", "recall", "f1", "support"
        );
        for c in &self.per_class {
            s += &format!(
                "{:<10}{:>10.4}{:>10.4}{:>10.4}{:>10}\n",
                c.label, c.precision, c.recall, c.f1, c.support
            );
        }
        s += "\nconfusion matrix (rows: true, columns: predicted)\n          ";
        for l in &self.labels {
            s += &format!("{:>9}", &l[..l.len().min(8)]);
        }
        s += "\n";
        for (i, row) in self.confusion.iter().enumerate() {
            s += &format!("{:<10}", self.labels[i]);
            for v in row {
                s += &format!("{v:>9}");
            }
            s += "\n";
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onehot(i: usize) -> [f32; NUM_EMOTIONS] {
        let mut p = [0.0; NUM_EMOTIONS];
        p[i] = 1.0;
        p
    }

    #[test]
    fn metrics_by_hand() {
        use Emotion::*;
        // truth: happy, happy, sad, angry ; predicted: happy, sad, sad, happy
        let probs = [onehot(3), onehot(4), onehot(4), onehot(3)];
        let m = metrics(&probs, [Happy, Happy, Sad, Angry]);
        assert_eq!(m.n, 4);
        assert!((m.accuracy - 0.5).abs() < 1e-12);
        let happy = &m.per_class[3];
        assert!((happy.precision - 0.5).abs() < 1e-12);
        assert!((happy.recall - 0.5).abs() < 1e-12);
        let sad = &m.per_class[4];
        assert!((sad.precision - 0.5).abs() < 1e-12 && (sad.recall - 1.0).abs() < 1e-12);
        assert_eq!(m.confusion[3][4], 1);
        assert_eq!(m.confusion[0][3], 1);
        assert_eq!(m.per_class[0].recall, 0.0);
        assert!(m.report().contains("accuracy 0.5000"));
    }
}

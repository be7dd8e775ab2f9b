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
/// (`model.valid()`), calibrated by `temperature` (`softmax(logits / T)`; 1 = uncalibrated). With
/// `tta`, the probabilities of each face and its mirror are averaged.
pub fn predict_pixels(
    model: &Net,
    faces: &[&[u8]],
    batch: usize,
    tta: bool,
    temperature: f32,
    device: &Device,
) -> Vec<[f32; NUM_EMOTIONS]> {
    let inv_t = 1.0 / temperature.max(1e-3);
    let px = INPUT_SIZE * INPUT_SIZE;
    let mut out = Vec::with_capacity(faces.len());
    for chunk in faces.chunks(batch.max(1)) {
        // With TTA the mirrors ride in the same batch (one forward pass of 2n faces: cheaper than
        // two passes of n, above all at batch 1).
        let copies = if tta { 2 } else { 1 };
        let mut data = Vec::with_capacity(copies * chunk.len() * px);
        for f in chunk {
            data.extend(f.iter().map(|&p| p as f32));
        }
        if tta {
            for f in chunk {
                data.extend(hflip(f, INPUT_SIZE).iter().map(|&p| p as f32));
            }
        }
        let logits = model.forward(faces_tensor(data, device));
        let logits = if inv_t == 1.0 {
            logits
        } else {
            logits.mul_scalar(inv_t)
        };
        let mut p = softmax(logits, 1)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        if tta {
            let (a, b) = p.split_at_mut(chunk.len() * NUM_EMOTIONS);
            for (x, y) in a.iter_mut().zip(b.iter()) {
                *x = (*x + *y) / 2.0;
            }
            p.truncate(chunk.len() * NUM_EMOTIONS);
        }
        for row in p.chunks(NUM_EMOTIONS) {
            let mut r = [0f32; NUM_EMOTIONS];
            r.copy_from_slice(row);
            out.push(r);
        }
    }
    out
}

/// [`predict_pixels`] over dataset samples (uncalibrated: temperature 1).
pub fn predict_samples(
    model: &Net,
    samples: &[&Sample],
    batch: usize,
    tta: bool,
    device: &Device,
) -> Vec<[f32; NUM_EMOTIONS]> {
    let faces: Vec<&[u8]> = samples.iter().map(|s| s.pixels.as_slice()).collect();
    predict_pixels(model, &faces, batch, tta, 1.0, device)
}

/// Accuracy on the FER+ majority labels (see [`crate::ferplus`]): only the images with a unique
/// seven-emotion majority count; `left_out` says how many others there were.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FerPlusAccuracy {
    pub accuracy: f64,
    pub macro_recall: f64,
    /// Images scored.
    pub n: usize,
    /// Images without votes, with a tie, or a contempt / unknown / not-a-face majority.
    pub left_out: usize,
}

/// Full metrics on the FER+ majority labels and the number of images left out; `None` when no
/// sample carries FER+ votes.
pub fn ferplus_metrics(
    probs: &[[f32; NUM_EMOTIONS]],
    samples: &[&Sample],
) -> Option<(Metrics, usize)> {
    if samples.iter().all(|s| s.crowd.is_none()) {
        return None;
    }
    let (p, l): (Vec<[f32; NUM_EMOTIONS]>, Vec<Emotion>) = probs
        .iter()
        .zip(samples)
        .filter_map(|(p, s)| Some((*p, s.crowd?.majority?)))
        .unzip();
    let m = metrics(&p, l);
    let left_out = samples.len() - m.n;
    Some((m, left_out))
}

/// [`ferplus_metrics`] in brief.
pub fn ferplus_accuracy(
    probs: &[[f32; NUM_EMOTIONS]],
    samples: &[&Sample],
) -> Option<FerPlusAccuracy> {
    ferplus_metrics(probs, samples).map(|(m, left_out)| FerPlusAccuracy {
        accuracy: m.accuracy,
        macro_recall: m.macro_recall,
        n: m.n,
        left_out,
    })
}

/// Expected calibration error with `bins` equal-width confidence bins (15 is the usual choice):
/// the support-weighted mean of |accuracy - mean confidence| over the bins, where confidence is
/// the top probability and accuracy whether the top class is the label.
pub fn ece(probs: &[[f32; NUM_EMOTIONS]], labels: &[Emotion], bins: usize) -> f64 {
    let bins = bins.max(1);
    let mut conf = vec![0f64; bins];
    let mut hit = vec![0f64; bins];
    let mut count = vec![0usize; bins];
    for (p, y) in probs.iter().zip(labels) {
        let k = argmax(p);
        let c = p[k] as f64;
        let b = ((c * bins as f64) as usize).min(bins - 1);
        conf[b] += c;
        hit[b] += (k == y.index()) as u8 as f64;
        count[b] += 1;
    }
    let n: usize = count.iter().sum();
    if n == 0 {
        return 0.0;
    }
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (hit[b] - conf[b]).abs() / n as f64)
        .sum()
}

/// Per-bin accuracy, mean confidence and count (for the reliability diagram).
pub fn reliability_bins(
    probs: &[[f32; NUM_EMOTIONS]],
    labels: &[Emotion],
    bins: usize,
) -> Vec<(f64, f64, usize)> {
    let bins = bins.max(1);
    let mut out = vec![(0f64, 0f64, 0usize); bins];
    for (p, y) in probs.iter().zip(labels) {
        let k = argmax(p);
        let c = p[k] as f64;
        let b = ((c * bins as f64) as usize).min(bins - 1);
        out[b].0 += (k == y.index()) as u8 as f64;
        out[b].1 += c;
        out[b].2 += 1;
    }
    for o in out.iter_mut().filter(|o| o.2 > 0) {
        o.0 /= o.2 as f64;
        o.1 /= o.2 as f64;
    }
    out
}

/// Probabilities re-tempered: `softmax(log p / T)`, the same as `softmax(logits / T)` for the
/// logits that gave `p` at temperature 1.
pub fn temper(p: &[f32; NUM_EMOTIONS], t: f32) -> [f32; NUM_EMOTIONS] {
    let inv = 1.0 / t.max(1e-3) as f64;
    let l: Vec<f64> = p
        .iter()
        .map(|&v| (v.max(1e-12) as f64).ln() * inv)
        .collect();
    let m = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = l.iter().map(|v| (v - m).exp()).collect();
    let z: f64 = e.iter().sum();
    let mut out = [0f32; NUM_EMOTIONS];
    for (o, v) in out.iter_mut().zip(e) {
        *o = (v / z) as f32;
    }
    out
}

/// Temperature scaling (Guo et al. 2017): the `T` in 0.2..10 that minimises the mean negative
/// log-likelihood of `labels` under [`temper`]ed `probs` (given at temperature 1), by golden-section
/// search on `ln T` (the NLL is unimodal in `T`).
pub fn fit_temperature(probs: &[[f32; NUM_EMOTIONS]], labels: &[Emotion]) -> f32 {
    let nll = |lt: f64| -> f64 {
        let t = lt.exp() as f32;
        probs
            .iter()
            .zip(labels)
            .map(|(p, y)| -((temper(p, t)[y.index()].max(1e-12)) as f64).ln())
            .sum::<f64>()
    };
    let (mut a, mut b) = (0.2f64.ln(), 10f64.ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (nll(c), nll(d));
    for _ in 0..60 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = nll(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = nll(d);
        }
    }
    ((a + b) / 2.0).exp() as f32
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
    /// Mean recall over the classes present (balanced accuracy).
    pub macro_recall: f64,
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
    let macro_recall = if present.is_empty() {
        0.0
    } else {
        present.iter().map(|c| c.recall).sum::<f64>() / present.len() as f64
    };
    Metrics {
        macro_recall,
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
            "accuracy {:.4} ({} images), macro recall {:.4}, mean cross-entropy {:.4}, macro F1 {:.4}\n\n{:<10}{:>10}{:>10}{:>10}{:>10}\n",
            self.accuracy, self.n, self.macro_recall, self.loss, self.macro_f1, "class", "precision", "recall", "f1", "support"
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
        // recall: happy 0.5, sad 1, angry 0 -> 0.5
        assert!((m.macro_recall - 0.5).abs() < 1e-12);
    }

    #[test]
    fn ece_by_hand_and_temperature_fits_overconfidence() {
        use Emotion::*;
        // two confident right answers (0.9) and two confident wrong ones (0.9): |0.5 - 0.9| = 0.4
        let mut p = [0.1 / 6.0; NUM_EMOTIONS];
        p[3] = 0.9;
        let probs = [p, p, p, p];
        let labels = [Happy, Happy, Sad, Sad];
        assert!((ece(&probs, &labels, 15) - 0.4).abs() < 1e-6);
        let bins = reliability_bins(&probs, &labels, 15);
        assert_eq!(bins[13].2, 4);
        assert!((bins[13].0 - 0.5).abs() < 1e-9);
        // a higher temperature softens them and lowers the error
        let t = fit_temperature(&probs, &labels);
        assert!(t > 1.0, "{t}");
        let soft: Vec<_> = probs.iter().map(|p| temper(p, t)).collect();
        assert!(ece(&soft, &labels, 15) < 0.2);
        // temper keeps the order and sums to one; T = 1 is the identity
        let q = temper(&p, 2.0);
        assert!((q.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(argmax(&q), 3);
        assert!((temper(&p, 1.0)[3] - 0.9).abs() < 1e-5);
    }
}

//! moodlens-model: everything about the emotion classifier. The input specification (48x48 gray)
//! and the one `normalize` function that training and inference both call; FER-2013 loaders for the
//! Kaggle CSV and the per-class folders; augmentation; the network zoo (`nets`, one file per
//! architecture); training with checkpoints and resume; evaluation and plots; and [`Classifier`], the
//! inference entry point with the shipped weights embedded.
//!
//! Runs on burn's Flex CPU backend by default (the `tch` feature adds libtorch). Must not depend on
//! OpenCV, so that training runs anywhere.

pub mod augment;
pub mod bench;
pub mod checkpoint;
pub mod classifier;
pub mod dataset;
pub mod engine;
pub mod eval;
pub mod fer_csv;
pub mod ferplus;
pub mod folders;
pub mod imagenet;
pub mod nets;
pub mod onnx;
pub mod plot;
pub mod train;

pub use classifier::Classifier;
pub use moodlens_common::{Emotion, NUM_EMOTIONS};

/// Side of the square grayscale face crop the compact FER network takes (FER-2013's native size).
pub const INPUT_SIZE: usize = 48;

/// Per-pixel mean and standard deviation of FER-2013 Training (0..1 scale; measured on the 28,709
/// Training images: 0.50774 and 0.25508) used for normalisation.
pub const PIXEL_MEAN: f32 = 0.5077;
pub const PIXEL_STD: f32 = 0.2551;

/// Normalise one pixel given on the 0..1 scale.
#[inline]
pub fn normalize_value(v: f32) -> f32 {
    (v - PIXEL_MEAN) / PIXEL_STD
}

/// Map 8-bit gray pixels to the network's input scale: `(p / 255 - mean) / std`.
pub fn normalize(pixels: &[u8]) -> Vec<f32> {
    pixels
        .iter()
        .map(|&p| normalize_value(p as f32 / 255.0))
        .collect()
}

/// Build the network's input batch `[N, 1, 48, 48]` from `N` faces given as gray values on the
/// 0..255 scale (raw pixels, or augmented ones), normalised with [`normalize_value`] in place.
/// Training, evaluation and inference all build their batches here.
pub fn faces_tensor(mut gray: Vec<f32>, device: &burn::tensor::Device) -> burn::tensor::Tensor<4> {
    let px = INPUT_SIZE * INPUT_SIZE;
    assert!(
        gray.len().is_multiple_of(px),
        "faces_tensor: {} values is not a whole number of 48x48 faces",
        gray.len()
    );
    for v in gray.iter_mut() {
        *v = normalize_value(*v / 255.0);
    }
    let n = gray.len() / px;
    burn::tensor::Tensor::from_data(
        burn::tensor::TensorData::new(gray, [n, 1, INPUT_SIZE, INPUT_SIZE]),
        device,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faces_tensor_matches_normalize_face_by_face() {
        let a: Vec<u8> = (0..INPUT_SIZE * INPUT_SIZE)
            .map(|i| (i % 256) as u8)
            .collect();
        let b: Vec<u8> = a.iter().rev().copied().collect();
        let gray: Vec<f32> = a.iter().chain(&b).map(|&p| p as f32).collect();
        let t = faces_tensor(gray, &burn::tensor::Device::flex());
        assert_eq!(t.dims(), [2, 1, INPUT_SIZE, INPUT_SIZE]);
        let got = t.into_data().try_to_vec::<f32>().unwrap();
        let want: Vec<f32> = normalize(&a).into_iter().chain(normalize(&b)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn normalize_is_affine_and_ordered() {
        let out = normalize(&[0, 128, 255]);
        assert_eq!(out.len(), 3);
        assert!((out[0] - (-PIXEL_MEAN / PIXEL_STD)).abs() < 1e-6);
        assert!((out[2] - ((1.0 - PIXEL_MEAN) / PIXEL_STD)).abs() < 1e-6);
        assert!(out[0] < out[1] && out[1] < out[2]);
    }
}

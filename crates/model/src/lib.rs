//! moodlens-model: the emotion classifier's input specification and the one `normalize` function
//! that training and inference both call. (Networks, FER-2013 loaders and training on burn follow;
//! see issue 2.)
//!
//! Must not depend on OpenCV, so that training runs anywhere.

pub mod fer_csv;

pub use moodlens_common::{Emotion, NUM_EMOTIONS};

/// Side of the square grayscale face crop the compact FER network takes (FER-2013's native size).
pub const INPUT_SIZE: usize = 48;

/// Per-pixel mean and standard deviation of FER-2013 Training (0..1 scale) used for normalisation.
pub const PIXEL_MEAN: f32 = 0.5077;
pub const PIXEL_STD: f32 = 0.2550;

/// Map 8-bit gray pixels to the network's input scale: `(p / 255 - mean) / std`.
pub fn normalize(pixels: &[u8]) -> Vec<f32> {
    pixels
        .iter()
        .map(|&p| (p as f32 / 255.0 - PIXEL_MEAN) / PIXEL_STD)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_is_affine_and_ordered() {
        let out = normalize(&[0, 128, 255]);
        assert_eq!(out.len(), 3);
        assert!((out[0] - (-PIXEL_MEAN / PIXEL_STD)).abs() < 1e-6);
        assert!((out[2] - ((1.0 - PIXEL_MEAN) / PIXEL_STD)).abs() < 1e-6);
        assert!(out[0] < out[1] && out[1] < out[2]);
    }
}

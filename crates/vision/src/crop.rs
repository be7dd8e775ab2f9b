//! Crop framing: turns a detector box into a 48x48 grayscale face framed like FER-2013's faces.
//!
//! FER-2013's faces were cropped by an automatic detector and are tighter at the top and looser at
//! the bottom than OpenCV's Haar box. [`CropConfig`] expresses the framing relative to the Haar box:
//! a square of side `max(w, h) * (1 + 2 * margin)` whose centre is shifted down by `y_offset * h`.
//! The defaults were measured (see `docs/VISION.md`). Running the same Haar cascade on upscaled
//! FER-2013 test faces and inverting where the box lands gives a margin of about 0.01; but the
//! classifier's accuracy through the full detect path on the real photos of `realfaces/`
//! (`moodlens tune-crop`) peaks at margin 0.10 with the shipped model (0.05–0.15 within a point), so
//! the default is 0.10.

use crate::error::Result;
use moodlens_session::BBox;
use opencv::core::{self, Mat, Rect, Scalar, Size};
use opencv::imgproc;
use opencv::prelude::*;

/// Side of the crops handed to the classifier (the model's input size, `moodlens_model::INPUT_SIZE`).
pub const CROP_SIZE: usize = 48;

/// Framing of the crop relative to the detector's box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropConfig {
    /// Extra border on each side, as a fraction of the box side (0 = the box itself).
    pub margin: f32,
    /// Downward shift of the crop centre, as a fraction of the box height (negative = up).
    pub y_offset: f32,
    /// Output side in pixels.
    pub size: usize,
}

/// Measured default margin (see module docs): best accuracy on `realfaces/` through `detect`.
pub const DEFAULT_MARGIN: f32 = 0.10;
/// Measured default vertical offset (see module docs).
pub const DEFAULT_Y_OFFSET: f32 = 0.0;

impl Default for CropConfig {
    fn default() -> Self {
        CropConfig {
            margin: DEFAULT_MARGIN,
            y_offset: DEFAULT_Y_OFFSET,
            size: CROP_SIZE,
        }
    }
}

impl CropConfig {
    /// The square region (in frame pixels, possibly reaching outside the frame) that is cropped for
    /// `b`.
    pub fn region(&self, b: &BBox) -> BBox {
        let side_f = b.w.max(b.h) as f32 * (1.0 + 2.0 * self.margin);
        let side = side_f.round().max(1.0) as i32;
        let (cx, cy) = b.center();
        let cy = cy + self.y_offset * b.h as f32;
        BBox::new(
            (cx - side as f32 / 2.0).round() as i32,
            (cy - side as f32 / 2.0).round() as i32,
            side,
            side,
        )
    }
}

/// Crops `b` from the grayscale frame `gray` with `cfg`'s framing, resized to `cfg.size` squared,
/// row-major bytes. Parts of the region outside the frame repeat the edge pixels.
pub fn crop_face(gray: &Mat, b: &BBox, cfg: &CropConfig) -> Result<Vec<u8>> {
    let n = cfg.size.max(1);
    let (fw, fh) = (gray.cols(), gray.rows());
    let r = cfg.region(b);
    let x0 = r.x.clamp(0, fw.max(1) - 1);
    let y0 = r.y.clamp(0, fh.max(1) - 1);
    let x1 = (r.x.saturating_add(r.w)).clamp(x0 + 1, fw.max(1));
    let y1 = (r.y.saturating_add(r.h)).clamp(y0 + 1, fh.max(1));
    let inside = Rect::new(x0, y0, x1 - x0, y1 - y0);
    let roi = gray.roi(inside)?;
    let (top, left) = ((y0 - r.y).max(0), (x0 - r.x).max(0));
    let bottom = (r.y.saturating_add(r.h) - y1).max(0);
    let right = (r.x.saturating_add(r.w) - x1).max(0);
    let mut out = Mat::default();
    let size = Size::new(n as i32, n as i32);
    if top + bottom + left + right > 0 {
        let mut padded = Mat::default();
        core::copy_make_border(
            &roi,
            &mut padded,
            top,
            bottom,
            left,
            right,
            core::BORDER_REPLICATE,
            Scalar::default(),
        )?;
        imgproc::resize(&padded, &mut out, size, 0.0, 0.0, imgproc::INTER_AREA)?;
    } else {
        imgproc::resize(&roi, &mut out, size, 0.0, 0.0, imgproc::INTER_AREA)?;
    }
    let bytes = if out.is_continuous() {
        out.data_bytes()?.to_vec()
    } else {
        out.try_clone()?.data_bytes()?.to_vec()
    };
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencv::core::CV_8UC1;

    #[test]
    fn region_is_square_and_centred() {
        let c = CropConfig {
            margin: 0.25,
            y_offset: 0.0,
            size: 48,
        };
        let r = c.region(&BBox::new(100, 100, 100, 100));
        assert_eq!(r, BBox::new(75, 75, 150, 150));
        let c = CropConfig {
            margin: 0.0,
            y_offset: 0.1,
            size: 48,
        };
        assert_eq!(
            c.region(&BBox::new(0, 0, 100, 100)),
            BBox::new(0, 10, 100, 100)
        );
    }

    #[test]
    fn crops_have_the_model_size_and_pad_at_edges() {
        // Left half black, right half white.
        let mut m = Mat::new_rows_cols_with_default(100, 200, CV_8UC1, Scalar::all(0.0)).unwrap();
        let mut right = m.roi_mut(Rect::new(100, 0, 100, 100)).unwrap();
        right.set_to_def(&Scalar::all(255.0)).unwrap();
        let cfg = CropConfig::default();
        let c = crop_face(&m, &BBox::new(80, 30, 40, 40), &cfg).unwrap();
        assert_eq!(c.len(), 48 * 48);
        assert!(c[0] < 10 && c[47] > 245, "left dark, right bright");
        // A box hanging over the corner: padded by edge repetition, no error.
        let c = crop_face(&m, &BBox::new(-30, -30, 60, 60), &cfg).unwrap();
        assert_eq!(c.len(), 48 * 48);
        assert!(c.iter().all(|&v| v < 10));
        let c = crop_face(&m, &BBox::new(190, 90, 60, 60), &cfg).unwrap();
        assert!(c.iter().all(|&v| v > 245));
        // Entirely outside: still a crop of edge pixels, never a panic.
        let c = crop_face(&m, &BBox::new(500, 500, 10, 10), &cfg).unwrap();
        assert_eq!(c.len(), 48 * 48);
    }
}

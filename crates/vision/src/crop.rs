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
    /// With landmarks (YuNet): rotate so the eyes are level and frame by the eyes instead of the
    /// box ([`crop_aligned`]). Without landmarks the box framing above is used.
    pub align: bool,
    /// Aligned crops: distance between the eye centres as a fraction of the crop side.
    pub eye_distance: f32,
    /// Aligned crops: height of the eye line as a fraction of the crop side (from the top).
    pub eye_y: f32,
}

/// Measured default margin (see module docs): best accuracy on `realfaces/` through `detect`.
pub const DEFAULT_MARGIN: f32 = 0.10;
/// Measured default vertical offset (see module docs).
pub const DEFAULT_Y_OFFSET: f32 = 0.0;
/// Default eye distance of aligned crops (fraction of the side; see docs/VISION.md).
pub const DEFAULT_EYE_DISTANCE: f32 = 0.38;
/// Default eye-line height of aligned crops (fraction of the side; see docs/VISION.md).
pub const DEFAULT_EYE_Y: f32 = 0.38;

impl Default for CropConfig {
    fn default() -> Self {
        CropConfig {
            margin: DEFAULT_MARGIN,
            y_offset: DEFAULT_Y_OFFSET,
            size: CROP_SIZE,
            align: true,
            eye_distance: DEFAULT_EYE_DISTANCE,
            eye_y: DEFAULT_EYE_Y,
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

/// The crop of one detection: eye-aligned ([`crop_aligned`]) when `cfg.align` and the detector
/// gave landmarks, else the box framing of [`crop_face`].
pub fn crop_detection(
    gray: &Mat,
    d: &crate::detect::Detection,
    cfg: &CropConfig,
) -> Result<Vec<u8>> {
    match (cfg.align, d.landmarks) {
        (true, Some(lm)) => crop_aligned(gray, lm[0], lm[1], cfg),
        _ => crop_face(gray, &d.bbox, cfg),
    }
}

/// The 2x3 affine map from frame pixels to an aligned crop of side `side`: the eyes (`a`, `b`, in
/// either order) land level, `eye_distance * side` apart, centred horizontally at height
/// `eye_y * side`.
pub fn alignment_matrix(
    a: [f32; 2],
    b: [f32; 2],
    eye_distance: f32,
    eye_y: f32,
    side: f32,
) -> [[f64; 3]; 2] {
    // left-most eye in the image first, so the face is never turned upside down
    let (l, r) = if a[0] <= b[0] { (a, b) } else { (b, a) };
    let (dx, dy) = ((r[0] - l[0]) as f64, (r[1] - l[1]) as f64);
    let dist = (dx * dx + dy * dy).sqrt().max(1e-3);
    let s = eye_distance as f64 * side as f64 / dist;
    let (cos, sin) = (dx / dist * s, dy / dist * s);
    let (mx, my) = (((l[0] + r[0]) / 2.0) as f64, ((l[1] + r[1]) / 2.0) as f64);
    // rotate by -angle and scale about the eye midpoint, then move it to (side/2, eye_y*side)
    let tx = side as f64 / 2.0 - (cos * mx + sin * my);
    let ty = eye_y as f64 * side as f64 - (-sin * mx + cos * my);
    [[cos, sin, tx], [-sin, cos, ty]]
}

/// An eye-aligned crop of `cfg.size` squared from `gray`, given the two eye centres. The warp is
/// done at about the source resolution, then reduced with area averaging (no aliasing).
pub fn crop_aligned(
    gray: &Mat,
    eye_a: [f32; 2],
    eye_b: [f32; 2],
    cfg: &CropConfig,
) -> Result<Vec<u8>> {
    let n = cfg.size.max(1);
    let dist = ((eye_a[0] - eye_b[0]).powi(2) + (eye_a[1] - eye_b[1]).powi(2)).sqrt();
    // warp side: the crop's size at the face's own resolution, at least n, at most 8n
    let native = (dist / cfg.eye_distance.max(0.05)).round() as usize;
    let side = native.clamp(n, 8 * n);
    let m = alignment_matrix(eye_a, eye_b, cfg.eye_distance, cfg.eye_y, side as f32);
    let mat = Mat::from_slice_2d(&[m[0].to_vec(), m[1].to_vec()])?;
    let mut warped = Mat::default();
    imgproc::warp_affine(
        gray,
        &mut warped,
        &mat,
        Size::new(side as i32, side as i32),
        imgproc::INTER_LINEAR,
        core::BORDER_REPLICATE,
        Scalar::default(),
    )?;
    let out = if side != n {
        let mut small = Mat::default();
        imgproc::resize(
            &warped,
            &mut small,
            Size::new(n as i32, n as i32),
            0.0,
            0.0,
            imgproc::INTER_AREA,
        )?;
        small
    } else {
        warped
    };
    let bytes = if out.is_continuous() {
        out.data_bytes()?.to_vec()
    } else {
        out.try_clone()?.data_bytes()?.to_vec()
    };
    Ok(bytes)
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
    fn alignment_levels_the_eyes_at_the_set_place() {
        let side = 48.0;
        // tilted eyes: (100,120) and (140,100)
        let m = alignment_matrix([140.0, 100.0], [100.0, 120.0], 0.4, 0.35, side);
        let map = |p: [f64; 2]| {
            [
                m[0][0] * p[0] + m[0][1] * p[1] + m[0][2],
                m[1][0] * p[0] + m[1][1] * p[1] + m[1][2],
            ]
        };
        let l = map([100.0, 120.0]);
        let r = map([140.0, 100.0]);
        assert!((l[1] - r[1]).abs() < 1e-6, "level: {l:?} {r:?}");
        assert!((l[1] - 0.35 * side as f64).abs() < 1e-6);
        assert!(((r[0] - l[0]) - 0.4 * side as f64).abs() < 1e-6);
        assert!(((l[0] + r[0]) / 2.0 - 24.0).abs() < 1e-6);
        assert!(l[0] < r[0]);
    }

    #[test]
    fn aligned_crop_has_the_output_size() {
        let mut g = Mat::new_rows_cols_with_default(200, 200, CV_8UC1, Scalar::all(90.0)).unwrap();
        imgproc::circle(
            &mut g,
            opencv::core::Point::new(80, 90),
            5,
            Scalar::all(255.0),
            -1,
            8,
            0,
        )
        .unwrap();
        let cfg = CropConfig::default();
        let c = crop_aligned(&g, [80.0, 90.0], [120.0, 90.0], &cfg).unwrap();
        assert_eq!(c.len(), 48 * 48);
        // the bright left eye lands left of centre on the eye line
        let row = (cfg.eye_y * 48.0) as usize;
        let x = (24.0 - cfg.eye_distance * 24.0) as usize;
        assert!(c[row * 48 + x] > 150, "{}", c[row * 48 + x]);
    }

    #[test]
    fn region_is_square_and_centred() {
        let c = CropConfig {
            margin: 0.25,
            y_offset: 0.0,
            size: 48,
            ..CropConfig::default()
        };
        let r = c.region(&BBox::new(100, 100, 100, 100));
        assert_eq!(r, BBox::new(75, 75, 150, 150));
        let c = CropConfig {
            margin: 0.0,
            y_offset: 0.1,
            size: 48,
            ..CropConfig::default()
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

//! On-the-fly augmentation of 48x48 gray faces: random rotation, zoom, horizontal flip and
//! width/height shifts, as one affine warp with bilinear sampling and edge replication (Keras'
//! `fill_mode="nearest"`). Deterministic for a given RNG state.

use rand::Rng;

/// Augmentation ranges. `Default` is the training default; `none()` is the identity.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AugmentConfig {
    /// Maximum rotation in degrees (uniform in [-r, r]).
    pub rotation_deg: f32,
    /// Maximum relative zoom (scale uniform in [1-z, 1+z]).
    pub zoom: f32,
    /// Maximum shift in pixels along each axis (uniform in [-s, s]).
    pub shift_px: f32,
    /// Flip horizontally with probability 0.5.
    pub flip: bool,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        AugmentConfig {
            rotation_deg: 10.0,
            zoom: 0.1,
            shift_px: 4.0,
            flip: true,
        }
    }
}

impl AugmentConfig {
    pub fn none() -> Self {
        AugmentConfig {
            rotation_deg: 0.0,
            zoom: 0.0,
            shift_px: 0.0,
            flip: false,
        }
    }
    pub fn is_identity(&self) -> bool {
        self.rotation_deg == 0.0 && self.zoom == 0.0 && self.shift_px == 0.0 && !self.flip
    }
}

/// The parameters drawn for one image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Warp {
    pub angle_rad: f32,
    pub scale: f32,
    pub tx: f32,
    pub ty: f32,
    pub flip: bool,
}

impl Warp {
    pub fn identity() -> Self {
        Warp {
            angle_rad: 0.0,
            scale: 1.0,
            tx: 0.0,
            ty: 0.0,
            flip: false,
        }
    }

    pub fn sample<R: Rng>(cfg: &AugmentConfig, rng: &mut R) -> Self {
        let mut uni = |m: f32| if m > 0.0 { rng.gen_range(-m..=m) } else { 0.0 };
        let angle_rad = uni(cfg.rotation_deg).to_radians();
        let scale = 1.0 + uni(cfg.zoom);
        let tx = uni(cfg.shift_px);
        let ty = uni(cfg.shift_px);
        let flip = cfg.flip && rng.gen_bool(0.5);
        Warp {
            angle_rad,
            scale,
            tx,
            ty,
            flip,
        }
    }
}

/// Apply `warp` to a square `side`x`side` gray image, writing `side*side` output pixels (0..255
/// scale, f32) into `out`.
pub fn warp_into(src: &[u8], side: usize, warp: &Warp, out: &mut [f32]) {
    debug_assert_eq!(src.len(), side * side);
    debug_assert_eq!(out.len(), side * side);
    let c = (side as f32 - 1.0) / 2.0;
    let (sin, cos) = (-warp.angle_rad).sin_cos();
    let inv_s = 1.0 / warp.scale;
    let max = side as f32 - 1.0;
    let px = |x: usize, y: usize| src[y * side + x] as f32;
    for y in 0..side {
        for x in 0..side {
            let mut u = x as f32 - c - warp.tx;
            let v = y as f32 - c - warp.ty;
            if warp.flip {
                u = -u;
            }
            let sx = ((cos * u - sin * v) * inv_s + c).clamp(0.0, max);
            let sy = ((sin * u + cos * v) * inv_s + c).clamp(0.0, max);
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(side - 1), (y0 + 1).min(side - 1));
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            let top = px(x0, y0) * (1.0 - fx) + px(x1, y0) * fx;
            let bot = px(x0, y1) * (1.0 - fx) + px(x1, y1) * fx;
            out[y * side + x] = top * (1.0 - fy) + bot * fy;
        }
    }
}

/// Horizontal mirror of a square gray image.
pub fn hflip(src: &[u8], side: usize) -> Vec<u8> {
    let mut out = vec![0u8; src.len()];
    for y in 0..side {
        for x in 0..side {
            out[y * side + x] = src[y * side + side - 1 - x];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn gradient() -> Vec<u8> {
        (0..48 * 48)
            .map(|i| ((i % 48) * 5 + (i / 48)) as u8)
            .collect()
    }

    #[test]
    fn identity_warp_is_exact() {
        let src = gradient();
        let mut out = vec![0f32; 48 * 48];
        warp_into(&src, 48, &Warp::identity(), &mut out);
        for (a, b) in src.iter().zip(&out) {
            assert!((*a as f32 - b).abs() < 1e-3);
        }
    }

    #[test]
    fn flip_matches_hflip_and_shift_moves_content() {
        let src = gradient();
        let mut out = vec![0f32; 48 * 48];
        let w = Warp {
            flip: true,
            ..Warp::identity()
        };
        warp_into(&src, 48, &w, &mut out);
        let f = hflip(&src, 48);
        for (a, b) in f.iter().zip(&out) {
            assert!((*a as f32 - b).abs() < 1e-3);
        }
        let w = Warp {
            tx: 3.0,
            ..Warp::identity()
        };
        warp_into(&src, 48, &w, &mut out);
        // output(x) = src(x-3) away from the edge; the edge is replicated
        assert!((out[10] - src[7] as f32).abs() < 1e-3);
        assert!((out[0] - src[0] as f32).abs() < 1e-3);
    }

    #[test]
    fn output_shape_range_and_determinism() {
        let src = gradient();
        let cfg = AugmentConfig::default();
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut out = vec![0f32; 48 * 48];
            let w = Warp::sample(&cfg, &mut rng);
            warp_into(&src, 48, &w, &mut out);
            (w, out)
        };
        let (w1, a) = run(7);
        let (w2, b) = run(7);
        let (_, c) = run(8);
        assert_eq!(w1, w2);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 48 * 48);
        assert!(a.iter().all(|v| (0.0..=255.0).contains(v)));
        assert!(w1.angle_rad.abs() <= 10f32.to_radians() + 1e-6);
        assert!((0.9..=1.1).contains(&w1.scale));
        assert!(w1.tx.abs() <= 4.0 && w1.ty.abs() <= 4.0);
    }

    #[test]
    fn rotation_by_180_inverts_positions() {
        let src = gradient();
        let mut out = vec![0f32; 48 * 48];
        let w = Warp {
            angle_rad: std::f32::consts::PI,
            ..Warp::identity()
        };
        warp_into(&src, 48, &w, &mut out);
        assert!((out[0] - src[48 * 48 - 1] as f32).abs() < 0.01);
    }
}

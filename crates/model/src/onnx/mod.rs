//! ONNX export of every architecture in [`crate::nets`], written from our own module structure
//! (burn has no ONNX exporter): each convolution with its BatchNorm folded in, ReLU / ReLU6 (`Clip`)
//! / SiLU (`x * Sigmoid(x)`), pooling, `Gemm`, residual `Add`, squeeze-and-excitation, the in-graph
//! 48→96 bilinear resize and gray→RGB of the ImageNet-style designs with their input
//! normalisation, the seed ensemble's averaged softmax, and the calibration temperature
//! (`Div` before `Softmax`). Opset 13, IR version 7.
//!
//! The graph takes **raw gray pixels** and applies the training normalisation itself, so a user
//! needs nothing but the crop:
//!
//! - input `pixels`: `float32 [N, 1, 48, 48]`, gray values 0–255 (a 48x48 face crop as FER-2013
//!   frames them; `N` is dynamic);
//! - output `logits`: `float32 [N, 7]`, the network's output before calibration (for the seed
//!   ensemble: the log of its averaged branch probabilities);
//! - output `probabilities`: `float32 [N, 7]`, `softmax(logits / T)` with the model card's
//!   temperature `T`, classes in [`crate::Emotion::ALL`] order.
//!
//! Flip test-time augmentation (the shipped card's `tta`) is not in the graph: average the
//! probabilities of a face and its mirror image (docs/ONNX.md).

pub mod proto;

use crate::nets::common::{
    ImagenetBackbone, ImagenetClassifier, InputNorm, InvertedBottleneck, SqueezeExcite,
    IMAGENET_INPUT, IMAGENET_MEAN, IMAGENET_STD,
};
use crate::nets::compact::{CompactNet, ConvBnRelu};
use crate::nets::{Net, SeedEnsemble};
use crate::{Emotion, INPUT_SIZE, NUM_EMOTIONS, PIXEL_MEAN, PIXEL_STD};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::tensor::Tensor;
use prost::Message;
use proto::*;

/// The opset the exported graphs declare.
pub const OPSET: i64 = 13;
/// ONNX IR version matching [`OPSET`].
pub const IR_VERSION: i64 = 7;
/// Name of the graph input.
pub const INPUT_NAME: &str = "pixels";
/// Name of the uncalibrated output.
pub const LOGITS_NAME: &str = "logits";
/// Name of the calibrated probabilities.
pub const PROBABILITIES_NAME: &str = "probabilities";

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("reading the weights of {layer}: {reason}")]
    Weights { layer: String, reason: String },
    #[error("{layer}: {what} is not supported by the ONNX export")]
    Unsupported { layer: String, what: String },
    #[error("temperature {0} is not a positive finite number")]
    BadTemperature(f32),
}

/// What goes into the file beside the network.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Calibration temperature (`probabilities = softmax(logits / T)`).
    pub temperature: f32,
    /// Recorded in the file's metadata (`tta`): whether the model is meant to be used with flip
    /// averaging.
    pub tta: bool,
    /// Free text recorded as the model's `doc_string` (e.g. where the weights came from).
    pub source: String,
    /// Write clamps for OpenCV 4.6's DNN importer, which reads only the opset-6 form of `Clip`
    /// (bounds as attributes): ReLU6 as `Relu(x) - Relu(x - 6)` and the ensemble's lower clamp as
    /// `Relu(x - m) + m` (equal up to rounding). Only the ImageNet-style networks have clamps.
    pub opencv46: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            temperature: 1.0,
            tta: false,
            source: String::new(),
            opencv46: false,
        }
    }
}

/// The ONNX model (`ModelProto` bytes) of `net` (in inference mode: `net.valid()`).
pub fn export(net: &Net, opts: &ExportOptions) -> Result<Vec<u8>, OnnxError> {
    if !(opts.temperature.is_finite() && opts.temperature > 0.0) {
        return Err(OnnxError::BadTemperature(opts.temperature));
    }
    let mut g = Graph {
        opencv46: opts.opencv46,
        ..Default::default()
    };
    // faces_tensor's normalisation, in its order of operations: (p / 255 - mean) / std
    let k = g.scalar(255.0);
    let x = g.op("Div", &[INPUT_NAME.into(), k], vec![]);
    let mean = g.scalar(PIXEL_MEAN);
    let x = g.op("Sub", &[x, mean], vec![]);
    let std = g.scalar(PIXEL_STD);
    let x = g.op("Div", &[x, std], vec![]);
    let out = match net {
        Net::Compact(n) => compact(&mut g, n, x)?,
        Net::Mobilenetv2(n) | Net::Efficientnetb0(n) | Net::EfficientnetLite0(n) => {
            imagenet_classifier(&mut g, n, x, "net")?
        }
        Net::SeedEnsemble(e) => ensemble(&mut g, e, x)?,
    };
    g.op_named("Identity", &[out], vec![], LOGITS_NAME);
    let t = g.scalar(opts.temperature);
    let scaled = g.op("Div", &[LOGITS_NAME.into(), t], vec![]);
    g.op_named(
        "Softmax",
        &[scaled],
        vec![attr_int("axis", 1)],
        PROBABILITIES_NAME,
    );

    let classes: Vec<&str> = Emotion::ALL.iter().map(|e| e.label()).collect();
    let model = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "moodlens".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: String::new(),
        model_version: 1,
        doc_string: format!(
            "moodlens emotion classifier ({}){}. Input `pixels` float32 [N,1,48,48]: gray 0-255. \
             Outputs `logits` and `probabilities` = softmax(logits / {}) [N,7] over: {}.",
            net.arch(),
            if opts.source.is_empty() {
                String::new()
            } else {
                format!(", weights: {}", opts.source)
            },
            opts.temperature,
            classes.join(", ")
        ),
        graph: Some(GraphProto {
            node: g.nodes,
            name: format!("moodlens_{}", net.arch().name().replace('-', "_")),
            initializer: g.inits,
            doc_string: String::new(),
            input: vec![value_info(
                INPUT_NAME,
                &[1, INPUT_SIZE as i64, INPUT_SIZE as i64],
            )],
            output: vec![
                value_info(LOGITS_NAME, &[NUM_EMOTIONS as i64]),
                value_info(PROBABILITIES_NAME, &[NUM_EMOTIONS as i64]),
            ],
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        metadata_props: vec![
            meta("arch", net.arch().name()),
            meta("classes", &classes.join(",")),
            meta("temperature", &opts.temperature.to_string()),
            meta("tta", if opts.tta { "true" } else { "false" }),
            meta("input", "gray 0-255, float32 [N,1,48,48]"),
        ],
    };
    Ok(model.encode_to_vec())
}

fn meta(key: &str, value: &str) -> StringStringEntryProto {
    StringStringEntryProto {
        key: key.into(),
        value: value.into(),
    }
}

/// A float tensor `[N, rest...]` with a dynamic batch dimension `N`.
fn value_info(name: &str, rest: &[i64]) -> ValueInfoProto {
    let mut dim = vec![Dimension {
        value: Some(DimensionValue::DimParam("N".into())),
    }];
    dim.extend(rest.iter().map(|&d| Dimension {
        value: Some(DimensionValue::DimValue(d)),
    }));
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        doc_string: String::new(),
    }
}

fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: Some(v),
        r#type: attribute_type::INT,
        ..Default::default()
    }
}

fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: attribute_type::INTS,
        ..Default::default()
    }
}

fn attr_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: Some(v.as_bytes().to_vec()),
        r#type: attribute_type::STRING,
        ..Default::default()
    }
}

/// Nodes and initializers under construction; every intermediate value gets a fresh name.
#[derive(Default)]
struct Graph {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    next: usize,
    opencv46: bool,
}

impl Graph {
    fn fresh(&mut self, hint: &str) -> String {
        self.next += 1;
        format!("{hint}_{}", self.next)
    }

    /// A float initializer.
    fn tensor(&mut self, hint: &str, dims: &[i64], data: &[f32]) -> String {
        let name = self.fresh(hint);
        let raw_data = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.inits.push(TensorProto {
            dims: dims.to_vec(),
            data_type: data_type::FLOAT,
            name: name.clone(),
            raw_data,
        });
        name
    }

    /// A float scalar (rank 0) initializer.
    fn scalar(&mut self, v: f32) -> String {
        self.tensor("const", &[], &[v])
    }

    fn op(&mut self, op: &str, inputs: &[String], attrs: Vec<AttributeProto>) -> String {
        let out = self.fresh(&op.to_ascii_lowercase());
        self.op_named(op, inputs, attrs, &out);
        out
    }

    fn op_named(&mut self, op: &str, inputs: &[String], attrs: Vec<AttributeProto>, out: &str) {
        self.nodes.push(NodeProto {
            input: inputs.to_vec(),
            output: vec![out.to_string()],
            name: format!("{op}_{}", self.nodes.len()),
            op_type: op.into(),
            attribute: attrs,
            domain: String::new(),
        });
    }

    fn relu(&mut self, x: String) -> String {
        self.op("Relu", &[x], vec![])
    }

    fn relu6(&mut self, x: String) -> String {
        if self.opencv46 {
            let six = self.scalar(6.0);
            let shifted = self.op("Sub", &[x.clone(), six], vec![]);
            let over = self.relu(shifted);
            let r = self.relu(x);
            return self.op("Sub", &[r, over], vec![]);
        }
        let lo = self.scalar(0.0);
        let hi = self.scalar(6.0);
        self.op("Clip", &[x, lo, hi], vec![])
    }

    /// `max(x, m)`.
    fn clamp_min(&mut self, x: String, m: f32) -> String {
        if self.opencv46 {
            let mn = self.scalar(m);
            let shifted = self.op("Sub", &[x, mn.clone()], vec![]);
            let r = self.relu(shifted);
            return self.op("Add", &[r, mn], vec![]);
        }
        let lo = self.scalar(m);
        let hi = self.scalar(f32::MAX);
        self.op("Clip", &[x, lo, hi], vec![])
    }

    fn silu(&mut self, x: String) -> String {
        let s = self.op("Sigmoid", std::slice::from_ref(&x), vec![]);
        self.op("Mul", &[x, s], vec![])
    }

    fn act(&mut self, swish: bool, x: String) -> String {
        if swish {
            self.silu(x)
        } else {
            self.relu6(x)
        }
    }

    fn global_avg_pool(&mut self, x: String) -> String {
        self.op("GlobalAveragePool", &[x], vec![])
    }

    /// `[N,C,1,1]` pooled features → `[N,C]` → dense.
    fn dense_head(&mut self, x: String, head: &Linear, layer: &str) -> Result<String, OnnxError> {
        let flat = self.op("Flatten", &[x], vec![attr_int("axis", 1)]);
        let (dims, w) = values(&head.weight.val(), layer)?;
        // burn's Linear stores W as [in, out] (row layout); written transposed, [out, in], with
        // Gemm's transB = 1: the usual form, the one OpenCV 4.6 DNN's Gemm import understands.
        let (d_in, d_out) = (dims[0], dims[1]);
        let wt: Vec<f32> = (0..d_out)
            .flat_map(|o| (0..d_in).map(move |i| (i, o)))
            .map(|(i, o)| w[i * d_out + o])
            .collect();
        let wn = self.tensor("dense_w", &[d_out as i64, d_in as i64], &wt);
        let b = match &head.bias {
            Some(b) => values(&b.val(), layer)?.1,
            None => vec![0.0; d_out],
        };
        let bn = self.tensor("dense_b", &[d_out as i64], &b);
        Ok(self.op("Gemm", &[flat, wn, bn], vec![attr_int("transB", 1)]))
    }

    /// A convolution with the following BatchNorm (if any) folded into its weights and bias.
    fn conv_bn(
        &mut self,
        x: String,
        conv: &Conv2d,
        bn: Option<&BatchNorm>,
        layer: &str,
    ) -> Result<String, OnnxError> {
        let (dims, mut w) = values(&conv.weight.val(), layer)?;
        let cout = dims[0];
        let per_out = w.len() / cout.max(1);
        let mut b = match &conv.bias {
            Some(b) => values(&b.val(), layer)?.1,
            None => vec![0.0; cout],
        };
        if let Some(bn) = bn {
            let gamma = values(&bn.gamma.val(), layer)?.1;
            let beta = values(&bn.beta.val(), layer)?.1;
            let mean = values(&bn.running_mean.value(), layer)?.1;
            let var = values(&bn.running_var.value(), layer)?.1;
            for o in 0..cout {
                // y = (conv(x) + b - mean) * gamma / sqrt(var + eps) + beta, computed in f64
                let scale = gamma[o] as f64 / (var[o] as f64 + bn.epsilon).sqrt();
                for v in &mut w[o * per_out..(o + 1) * per_out] {
                    *v = (*v as f64 * scale) as f32;
                }
                b[o] = ((b[o] as f64 - mean[o] as f64) * scale + beta[o] as f64) as f32;
            }
        }
        let [kh, kw] = conv.kernel_size;
        let pads = pads(conv, layer)?;
        let wn = self.tensor(
            "conv_w",
            &dims.iter().map(|&d| d as i64).collect::<Vec<_>>(),
            &w,
        );
        let bn_name = self.tensor("conv_b", &[cout as i64], &b);
        Ok(self.op(
            "Conv",
            &[x, wn, bn_name],
            vec![
                attr_ints("kernel_shape", &[kh as i64, kw as i64]),
                attr_ints("strides", &[conv.stride[0] as i64, conv.stride[1] as i64]),
                attr_ints(
                    "dilations",
                    &[conv.dilation[0] as i64, conv.dilation[1] as i64],
                ),
                attr_ints("pads", &pads),
                attr_int("group", conv.groups as i64),
            ],
        ))
    }
}

/// ONNX `pads` (`[top, left, bottom, right]`) of a burn convolution.
fn pads(conv: &Conv2d, layer: &str) -> Result<[i64; 4], OnnxError> {
    match conv.padding {
        PaddingConfig2d::Valid => Ok([0; 4]),
        PaddingConfig2d::Explicit(t, l, b, r) => Ok([t as i64, l as i64, b as i64, r as i64]),
        PaddingConfig2d::Same
            if conv.stride == [1, 1]
                && conv.dilation == [1, 1]
                && conv.kernel_size.iter().all(|k| k % 2 == 1) =>
        {
            let [kh, kw] = conv.kernel_size;
            let (ph, pw) = ((kh / 2) as i64, (kw / 2) as i64);
            Ok([ph, pw, ph, pw])
        }
        PaddingConfig2d::Same => Err(OnnxError::Unsupported {
            layer: layer.into(),
            what: "\"same\" padding with a stride, a dilation or an even kernel".into(),
        }),
    }
}

/// A tensor's shape and values as f32.
fn values<const D: usize>(t: &Tensor<D>, layer: &str) -> Result<(Vec<usize>, Vec<f32>), OnnxError> {
    let dims = t.dims().to_vec();
    let v = t
        .clone()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| OnnxError::Weights {
            layer: layer.into(),
            reason: format!("{e:?}"),
        })?;
    Ok((dims, v))
}

fn compact(g: &mut Graph, n: &CompactNet, x: String) -> Result<String, OnnxError> {
    let cbr = |g: &mut Graph, c: &ConvBnRelu, x: String, l: &str| -> Result<String, OnnxError> {
        let y = g.conv_bn(x, &c.conv, Some(&c.bn), l)?;
        Ok(g.relu(y))
    };
    let mut x = x;
    for (i, s) in n.stages.iter().enumerate() {
        x = cbr(g, &s.a, x, &format!("stages.{i}.a"))?;
        x = cbr(g, &s.b, x, &format!("stages.{i}.b"))?;
        x = g.op(
            "MaxPool",
            &[x],
            vec![
                attr_ints("kernel_shape", &[2, 2]),
                attr_ints("strides", &[2, 2]),
            ],
        );
    }
    let x = g.global_avg_pool(x);
    g.dense_head(x, &n.head, "head")
}

/// [`crate::nets::common::imagenet_input`] + the backbone's [`InputNorm`].
fn imagenet_input(g: &mut Graph, x: String, norm: InputNorm) -> String {
    let std = g.scalar(PIXEL_STD);
    let x = g.op("Mul", &[x, std], vec![]);
    let mean = g.scalar(PIXEL_MEAN);
    let gray01 = g.op("Add", &[x, mean], vec![]);
    // burn's bilinear interpolate aligns corners (InterpolateOptions' default)
    let roi = g.tensor("roi", &[0], &[]);
    let f = (IMAGENET_INPUT / INPUT_SIZE) as f32;
    debug_assert_eq!(IMAGENET_INPUT % INPUT_SIZE, 0);
    let scales = g.tensor("scales", &[4], &[1.0, 1.0, f, f]);
    let up = g.op(
        "Resize",
        &[gray01, roi, scales],
        vec![
            attr_str("mode", "linear"),
            attr_str("coordinate_transformation_mode", "align_corners"),
        ],
    );
    // gray → RGB and the backbone's normalisation, channel by channel with scalar constants (the
    // same arithmetic as burn's broadcast over [1,3,1,1]; OpenCV 4.6 DNN cannot broadcast a
    // per-channel constant here), then concatenated
    let channels: Vec<String> = match norm {
        InputNorm::ImagenetStats => (0..3)
            .map(|c| {
                let m = g.scalar(IMAGENET_MEAN[c]);
                let x = g.op("Sub", &[up.clone(), m], vec![]);
                let s = g.scalar(IMAGENET_STD[c]);
                g.op("Div", &[x, s], vec![])
            })
            .collect(),
        InputNorm::Symmetric => {
            let k = g.scalar(255.0);
            let x = g.op("Mul", &[up, k], vec![]);
            let o = g.scalar(127.0);
            let x = g.op("Sub", &[x, o], vec![]);
            let d = g.scalar(128.0);
            let x = g.op("Div", &[x, d], vec![]);
            vec![x.clone(), x.clone(), x]
        }
    };
    g.op("Concat", &channels, vec![attr_int("axis", 1)])
}

fn squeeze_excite(
    g: &mut Graph,
    se: &SqueezeExcite,
    x: String,
    l: &str,
) -> Result<String, OnnxError> {
    let s = g.global_avg_pool(x.clone());
    let s = g.conv_bn(s, &se.conv_reduce, None, &format!("{l}.se.conv_reduce"))?;
    let s = g.silu(s);
    let s = g.conv_bn(s, &se.conv_expand, None, &format!("{l}.se.conv_expand"))?;
    let s = g.op("Sigmoid", &[s], vec![]);
    Ok(g.op("Mul", &[x, s], vec![]))
}

fn bottleneck(
    g: &mut Graph,
    b: &InvertedBottleneck,
    x: String,
    l: &str,
) -> Result<String, OnnxError> {
    let mut h = x.clone();
    match (&b.conv_pw, &b.bn1) {
        (Some(c), Some(bn)) => {
            h = g.conv_bn(h, c, Some(bn), &format!("{l}.conv_pw"))?;
            h = g.act(b.swish, h);
        }
        (None, None) => {}
        _ => {
            return Err(OnnxError::Unsupported {
                layer: l.into(),
                what: "an expansion conv without its BatchNorm".into(),
            })
        }
    }
    h = g.conv_bn(h, &b.conv_dw, Some(&b.bn2), &format!("{l}.conv_dw"))?;
    h = g.act(b.swish, h);
    if let Some(se) = &b.se {
        h = squeeze_excite(g, se, h, l)?;
    }
    h = g.conv_bn(h, &b.conv_pwl, Some(&b.bn3), &format!("{l}.conv_pwl"))?;
    Ok(if b.residual {
        g.op("Add", &[h, x], vec![])
    } else {
        h
    })
}

fn backbone(
    g: &mut Graph,
    n: &ImagenetBackbone,
    rgb: String,
    l: &str,
) -> Result<String, OnnxError> {
    let mut h = g.conv_bn(rgb, &n.conv_stem, Some(&n.bn1), &format!("{l}.conv_stem"))?;
    h = g.act(n.swish, h);
    for (i, stage) in n.blocks.iter().enumerate() {
        for (j, b) in stage.iter().enumerate() {
            h = bottleneck(g, b, h, &format!("{l}.blocks.{i}.{j}"))?;
        }
    }
    h = g.conv_bn(h, &n.conv_head, Some(&n.bn2), &format!("{l}.conv_head"))?;
    h = g.act(n.swish, h);
    Ok(g.global_avg_pool(h))
}

fn imagenet_classifier(
    g: &mut Graph,
    n: &ImagenetClassifier,
    x: String,
    l: &str,
) -> Result<String, OnnxError> {
    let rgb = imagenet_input(g, x, n.backbone.input_norm());
    let f = backbone(g, &n.backbone, rgb, &format!("{l}.backbone"))?;
    g.dense_head(f, &n.head, &format!("{l}.head"))
}

fn ensemble(g: &mut Graph, e: &SeedEnsemble, x: String) -> Result<String, OnnxError> {
    let a = imagenet_classifier(g, &e.mobilenet, x.clone(), "mobilenet")?;
    let b = imagenet_classifier(g, &e.efficientnet, x, "efficientnet")?;
    let a = g.op("Softmax", &[a], vec![attr_int("axis", 1)]);
    let b = g.op("Softmax", &[b], vec![attr_int("axis", 1)]);
    let s = g.op("Add", &[a, b], vec![]);
    let half = g.scalar(0.5);
    let avg = g.op("Mul", &[s, half], vec![]);
    let c = g.clamp_min(avg, 1e-7);
    Ok(g.op("Log", &[c], vec![]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::Arch;
    use burn::module::Module;
    use burn::tensor::Device;

    #[test]
    fn export_writes_a_parsable_model_for_every_architecture() {
        for arch in Arch::ALL {
            let net = Net::new(arch, &Device::flex()).valid();
            let bytes = export(
                &net,
                &ExportOptions {
                    temperature: 0.5,
                    ..Default::default()
                },
            )
            .unwrap();
            let m = ModelProto::decode(bytes.as_slice()).unwrap();
            assert_eq!(m.opset_import[0].version, OPSET);
            let g = m.graph.unwrap();
            assert_eq!(g.input[0].name, INPUT_NAME);
            let outs: Vec<_> = g.output.iter().map(|o| o.name.as_str()).collect();
            assert_eq!(outs, [LOGITS_NAME, PROBABILITIES_NAME]);
            // no BatchNorm left: all folded
            assert!(g.node.iter().all(|n| n.op_type != "BatchNormalization"));
            // every node input is the graph input, an initializer or an earlier node's output
            let mut known: std::collections::HashSet<String> =
                g.initializer.iter().map(|t| t.name.clone()).collect();
            known.insert(INPUT_NAME.into());
            for n in &g.node {
                for i in &n.input {
                    assert!(known.contains(i), "{arch}: {} reads unknown {i}", n.name);
                }
                known.extend(n.output.iter().cloned());
            }
            let resize = g.node.iter().any(|n| n.op_type == "Resize");
            assert_eq!(resize, arch != Arch::Compact, "{arch}");
        }
    }

    #[test]
    fn folded_weights_equal_the_stored_ones_scaled_by_batchnorm() {
        let net = Net::new(Arch::Compact, &Device::flex()).valid();
        let Net::Compact(c) = &net else {
            unreachable!()
        };
        let mut g = Graph::default();
        g.conv_bn(
            "x".into(),
            &c.stages[0].a.conv,
            Some(&c.stages[0].a.bn),
            "a",
        )
        .unwrap();
        // fresh BatchNorm: gamma 1, beta 0, mean 0, var 1, eps 1e-5
        let w = values(&c.stages[0].a.conv.weight.val(), "a").unwrap().1;
        let folded: Vec<f32> = g.inits[0]
            .raw_data
            .chunks(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let s = 1.0 / (1.0f64 + 1e-5).sqrt();
        for (a, b) in w.iter().zip(&folded) {
            assert!(((*a as f64 * s) as f32 - b).abs() < 1e-7);
        }
    }

    #[test]
    fn rejects_a_bad_temperature() {
        let net = Net::new(Arch::Compact, &Device::flex()).valid();
        for t in [0.0, -1.0, f32::NAN] {
            let o = ExportOptions {
                temperature: t,
                ..Default::default()
            };
            assert!(matches!(
                export(&net, &o),
                Err(OnnxError::BadTemperature(_))
            ));
        }
    }
}

//! Loading a timm ViT / DeiT checkpoint from safetensors and validating it, tensor by tensor,
//! against the config. Tensors are looked up by their timm names (`cls_token`,
//! `blocks.3.attn.qkv.weight`, ...). F32, F16, BF16 and F64 are read and converted to f32.

use std::collections::BTreeSet;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::config::Architecture;
use super::error::{io_err, FeatureError, Result};

/// Weights of one pre-norm transformer block. Linear weights keep PyTorch's `[out, in]` layout.
#[derive(Debug, Clone)]
pub struct BlockWeights {
    pub norm1_w: Vec<f32>,
    pub norm1_b: Vec<f32>,
    /// `[3 * D, D]`, rows `[q | k | v]`.
    pub qkv_w: Vec<f32>,
    /// `[3 * D]`; zeros when the model has no qkv bias.
    pub qkv_b: Vec<f32>,
    pub proj_w: Vec<f32>,
    pub proj_b: Vec<f32>,
    pub norm2_w: Vec<f32>,
    pub norm2_b: Vec<f32>,
    pub fc1_w: Vec<f32>,
    pub fc1_b: Vec<f32>,
    pub fc2_w: Vec<f32>,
    pub fc2_b: Vec<f32>,
}

/// All backbone weights needed for pre-logit features (the classifier heads are not loaded).
#[derive(Debug, Clone)]
pub struct Weights {
    /// `[D]`
    pub cls_token: Vec<f32>,
    /// `[D]`, present iff the config has `dist_token`.
    pub dist_token: Option<Vec<f32>>,
    /// `[num_tokens, D]`
    pub pos_embed: Vec<f32>,
    /// `[D, C * p * p]` (the conv weight `[D, C, p, p]` flattened)
    pub patch_w: Vec<f32>,
    pub patch_b: Vec<f32>,
    pub blocks: Vec<BlockWeights>,
    pub norm_w: Vec<f32>,
    pub norm_b: Vec<f32>,
}

/// Tensor names that are in timm checkpoints but not needed for features; ignored silently.
const IGNORED: &[&str] = &[
    "head.weight",
    "head.bias",
    "head_dist.weight",
    "head_dist.bias",
];

struct Reader<'a> {
    st: &'a SafeTensors<'a>,
    used: BTreeSet<String>,
}

impl Reader<'_> {
    fn get(&mut self, name: &str, expected: &[usize], why: &str) -> Result<Vec<f32>> {
        let view = self
            .st
            .tensor(name)
            .map_err(|_| FeatureError::MissingTensor {
                name: name.to_string(),
                expected: expected.to_vec(),
                why: if why.is_empty() {
                    String::new()
                } else {
                    format!("; {why}")
                },
            })?;
        self.used.insert(name.to_string());
        if view.shape() != expected {
            return Err(FeatureError::WrongShape {
                name: name.to_string(),
                expected: expected.to_vec(),
                found: view.shape().to_vec(),
                why: why.to_string(),
            });
        }
        let values = to_f32(name, view.dtype(), view.data())?;
        if let Some(index) = values.iter().position(|x| !x.is_finite()) {
            return Err(FeatureError::NonFinite {
                name: name.to_string(),
                index,
            });
        }
        Ok(values)
    }
}

/// Converts little-endian tensor bytes to f32.
pub fn to_f32(name: &str, dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>> {
    Ok(match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
            .collect(),
        other => {
            return Err(FeatureError::UnsupportedDtype {
                name: name.to_string(),
                dtype: format!("{other:?}"),
            })
        }
    })
}

/// IEEE 754 binary16 to binary32 (exact, subnormals included).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // subnormal: value = m * 2^-24
            let v = m as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// The tensors (timm names and shapes) a checkpoint for `arch` must contain, in a fixed order;
/// the classifier heads are not listed (they are allowed but unused).
pub fn expected_tensors(arch: &Architecture) -> Vec<(String, Vec<usize>)> {
    let (d, h, c, p) = (
        arch.embed_dim,
        arch.mlp_hidden,
        arch.in_chans,
        arch.patch_size,
    );
    let mut v = vec![("cls_token".to_string(), vec![1, 1, d])];
    if arch.dist_token {
        v.push(("dist_token".into(), vec![1, 1, d]));
    }
    v.push(("pos_embed".into(), vec![1, arch.num_tokens(), d]));
    v.push(("patch_embed.proj.weight".into(), vec![d, c, p, p]));
    v.push(("patch_embed.proj.bias".into(), vec![d]));
    for i in 0..arch.depth {
        let mut t = |s: &str, shape: Vec<usize>| v.push((format!("blocks.{i}.{s}"), shape));
        t("norm1.weight", vec![d]);
        t("norm1.bias", vec![d]);
        t("attn.qkv.weight", vec![3 * d, d]);
        if arch.qkv_bias {
            t("attn.qkv.bias", vec![3 * d]);
        }
        t("attn.proj.weight", vec![d, d]);
        t("attn.proj.bias", vec![d]);
        t("norm2.weight", vec![d]);
        t("norm2.bias", vec![d]);
        t("mlp.fc1.weight", vec![h, d]);
        t("mlp.fc1.bias", vec![h]);
        t("mlp.fc2.weight", vec![d, h]);
        t("mlp.fc2.bias", vec![d]);
    }
    v.push(("norm.weight".into(), vec![d]));
    v.push(("norm.bias".into(), vec![d]));
    v
}

impl Weights {
    /// Reads a safetensors checkpoint from disk and validates it against `arch`.
    pub fn from_file(path: impl AsRef<Path>, arch: &Architecture) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        Self::from_bytes(&bytes, arch).map_err(|e| match e {
            FeatureError::Safetensors { message, .. } => FeatureError::Safetensors {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses safetensors bytes and validates every tensor the forward pass needs by timm name.
    pub fn from_bytes(bytes: &[u8], arch: &Architecture) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| FeatureError::Safetensors {
            path: "<memory>".into(),
            message: e.to_string(),
        })?;
        let d = arch.embed_dim;
        let h = arch.mlp_hidden;
        let c = arch.in_chans;
        let p = arch.patch_size;
        let n = arch.num_tokens();
        let names: BTreeSet<String> = st.names().into_iter().map(str::to_string).collect();

        // Contradictions that deserve a better message than "missing" or "unexpected".
        if !arch.dist_token && names.contains("dist_token") {
            return Err(FeatureError::ConfigMismatch {
                name: "dist_token".into(),
                message: "present in the checkpoint (a distilled DeiT), but the config has \
                          `dist_token: false`; set `\"dist_token\": true`"
                    .into(),
            });
        }
        for name in &names {
            if let Some(rest) = name.strip_prefix("blocks.") {
                if let Some(i) = rest.split('.').next().and_then(|s| s.parse::<usize>().ok()) {
                    if i >= arch.depth {
                        return Err(FeatureError::ConfigMismatch {
                            name: name.clone(),
                            message: format!(
                                "block {i} is in the checkpoint but the config has depth {}",
                                arch.depth
                            ),
                        });
                    }
                }
            }
        }

        let mut r = Reader {
            st: &st,
            used: BTreeSet::new(),
        };
        let why_dim = format!("embed_dim {d}");
        let cls_token = r.get("cls_token", &[1, 1, d], &why_dim)?;
        let dist_token = if arch.dist_token {
            Some(r.get("dist_token", &[1, 1, d], "config has dist_token: true")?)
        } else {
            None
        };
        let pos_embed = r.get(
            "pos_embed",
            &[1, n, d],
            &format!(
                "{} patches + {} prefix tokens, embed_dim {d}",
                arch.num_patches(),
                arch.num_prefix_tokens()
            ),
        )?;
        let patch_w = r.get(
            "patch_embed.proj.weight",
            &[d, c, p, p],
            &format!("embed_dim {d}, in_chans {c}, patch_size {p}"),
        )?;
        let patch_b = r.get("patch_embed.proj.bias", &[d], &why_dim)?;
        let mut blocks = Vec::with_capacity(arch.depth);
        for i in 0..arch.depth {
            let why_h = format!("embed_dim {d}, mlp_hidden {h}");
            let name = |s: &str| format!("blocks.{i}.{s}");
            let qkv_w = r.get(&name("attn.qkv.weight"), &[3 * d, d], &why_dim)?;
            let qkv_b = if arch.qkv_bias {
                r.get(
                    &name("attn.qkv.bias"),
                    &[3 * d],
                    "config has qkv_bias: true",
                )?
            } else {
                if names.contains(&name("attn.qkv.bias")) {
                    return Err(FeatureError::ConfigMismatch {
                        name: name("attn.qkv.bias"),
                        message: "present in the checkpoint but the config has qkv_bias: false"
                            .into(),
                    });
                }
                vec![0.0; 3 * d]
            };
            blocks.push(BlockWeights {
                norm1_w: r.get(&name("norm1.weight"), &[d], &why_dim)?,
                norm1_b: r.get(&name("norm1.bias"), &[d], &why_dim)?,
                qkv_w,
                qkv_b,
                proj_w: r.get(&name("attn.proj.weight"), &[d, d], &why_dim)?,
                proj_b: r.get(&name("attn.proj.bias"), &[d], &why_dim)?,
                norm2_w: r.get(&name("norm2.weight"), &[d], &why_dim)?,
                norm2_b: r.get(&name("norm2.bias"), &[d], &why_dim)?,
                fc1_w: r.get(&name("mlp.fc1.weight"), &[h, d], &why_h)?,
                fc1_b: r.get(&name("mlp.fc1.bias"), &[h], &why_h)?,
                fc2_w: r.get(&name("mlp.fc2.weight"), &[d, h], &why_h)?,
                fc2_b: r.get(&name("mlp.fc2.bias"), &[d], &why_dim)?,
            });
        }
        let norm_w = r.get("norm.weight", &[d], &why_dim)?;
        let norm_b = r.get("norm.bias", &[d], &why_dim)?;

        // Anything else would change the forward pass in a way this implementation does not know
        // (layer scale, fc_norm, q/k norm, register tokens, ...): refuse rather than be wrong.
        for name in &names {
            if r.used.contains(name) || IGNORED.contains(&name.as_str()) {
                continue;
            }
            return Err(FeatureError::ConfigMismatch {
                name: name.clone(),
                message: "unexpected tensor: not part of a plain DeiT / ViT with class token \
                          (layer scale, fc_norm, q/k norm and register tokens are not supported)"
                    .into(),
            });
        }
        tracing::debug!(tensors = names.len(), "checkpoint validated");
        Ok(Weights {
            cls_token,
            dist_token,
            pos_embed,
            patch_w,
            patch_b,
            blocks,
            norm_w,
            norm_b,
        })
    }
}

impl Weights {
    /// Deterministic pseudo-random weights of the right shapes (timm-like scales: N(0, 0.02)-ish
    /// matrices and tokens, unit LayerNorm gains, zero biases). For throughput measurements of
    /// standard architectures without a checkpoint, and for tests; features are meaningless.
    pub fn synthetic(arch: &Architecture, seed: u64) -> Self {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut rnd = |len: usize| -> Vec<f32> {
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    // uniform in [-0.035, 0.035): std 0.02
                    ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.0693
                })
                .collect()
        };
        let (d, h, c, p) = (
            arch.embed_dim,
            arch.mlp_hidden,
            arch.in_chans,
            arch.patch_size,
        );
        let ones = |n: usize| vec![1.0f32; n];
        let zeros = |n: usize| vec![0.0f32; n];
        let blocks = (0..arch.depth)
            .map(|_| BlockWeights {
                norm1_w: ones(d),
                norm1_b: zeros(d),
                qkv_w: rnd(3 * d * d),
                qkv_b: zeros(3 * d),
                proj_w: rnd(d * d),
                proj_b: zeros(d),
                norm2_w: ones(d),
                norm2_b: zeros(d),
                fc1_w: rnd(h * d),
                fc1_b: zeros(h),
                fc2_w: rnd(d * h),
                fc2_b: zeros(d),
            })
            .collect();
        Weights {
            cls_token: rnd(d),
            dist_token: arch.dist_token.then(|| rnd(d)),
            pos_embed: rnd(arch.num_tokens() * d),
            patch_w: rnd(d * c * p * p),
            patch_b: zeros(d),
            blocks,
            norm_w: ones(d),
            norm_b: zeros(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
    }
}

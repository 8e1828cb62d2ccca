//! The `--config` JSON: architecture and input normalisation of a DeiT / ViT backbone.
//!
//! The format is the one of `data/deit-fmnist/config.json`, which therefore works as is:
//!
//! ```json
//! {
//!   "name": "deit_tiny_distilled_patch16_224",
//!   "architecture": { "img_size": 224, "in_chans": 3, "patch_size": 16, "embed_dim": 192,
//!                     "depth": 12, "num_heads": 3, "mlp_ratio": 4.0, "dist_token": true },
//!   "input": { "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
//!              "crop_pct": 0.875, "interpolation": "bicubic" }
//! }
//! ```
//!
//! Unknown fields are ignored (the bundled config carries prose, class names and training history).
//! Derived numbers that a config may repeat (`num_patches`, `num_tokens`, `num_prefix_tokens`,
//! `head_dim`, `mlp_hidden`, `attn_scale`) are checked against the primary ones.

use std::path::Path;

use serde::Deserialize;

use super::error::{io_err, FeatureError, Result};

/// Activation of the MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `x * Φ(x)` with the exact normal CDF (erf): PyTorch `nn.GELU()`, timm's default.
    GeluErf,
    /// The tanh approximation, PyTorch `nn.GELU(approximate="tanh")`.
    GeluTanh,
}

/// Resampling filter used to bring images to the model's size (PIL semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    Nearest,
    Bilinear,
    Bicubic,
}

/// Architecture of the backbone (timm `VisionTransformer` / `VisionTransformerDistilled`).
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    pub img_size: usize,
    pub in_chans: usize,
    pub patch_size: usize,
    pub embed_dim: usize,
    pub depth: usize,
    pub num_heads: usize,
    pub mlp_hidden: usize,
    pub qkv_bias: bool,
    pub layer_norm_eps: f64,
    pub act: Activation,
    /// DeiT distillation token after the class token; features are then the mean of both.
    pub dist_token: bool,
}

impl Architecture {
    pub fn grid(&self) -> usize {
        self.img_size / self.patch_size
    }
    pub fn num_patches(&self) -> usize {
        self.grid() * self.grid()
    }
    /// Class token, plus the distillation token if any.
    pub fn num_prefix_tokens(&self) -> usize {
        1 + usize::from(self.dist_token)
    }
    pub fn num_tokens(&self) -> usize {
        self.num_patches() + self.num_prefix_tokens()
    }
    pub fn head_dim(&self) -> usize {
        self.embed_dim / self.num_heads
    }
    /// Values per image after preprocessing: `in_chans * img_size^2`.
    pub fn pixels_per_image(&self) -> usize {
        self.in_chans * self.img_size * self.img_size
    }
}

/// How raw u8 images become the model's input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    /// Per-channel mean (in units of pixel/255), length `in_chans`.
    pub mean: Vec<f64>,
    /// Per-channel standard deviation, length `in_chans`.
    pub std: Vec<f64>,
    /// timm's `crop_pct`: the shorter side is resized to `img_size / crop_pct`, then the centre
    /// `img_size` square is cropped. 1.0 (the default) resizes straight to `img_size`.
    pub crop_pct: f64,
    pub interpolation: Interpolation,
}

/// A validated config.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub name: String,
    pub arch: Architecture,
    pub input: InputSpec,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    name: Option<String>,
    architecture: RawArch,
    input: RawInput,
}

#[derive(Deserialize)]
struct RawArch {
    img_size: usize,
    #[serde(default = "default_in_chans")]
    in_chans: usize,
    patch_size: usize,
    embed_dim: usize,
    depth: usize,
    num_heads: usize,
    #[serde(default)]
    mlp_ratio: Option<f64>,
    #[serde(default)]
    mlp_hidden: Option<usize>,
    #[serde(default = "yes")]
    qkv_bias: bool,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default)]
    act: Option<String>,
    #[serde(default = "yes")]
    class_token: bool,
    #[serde(default)]
    dist_token: bool,
    #[serde(default)]
    num_patches: Option<usize>,
    #[serde(default)]
    num_prefix_tokens: Option<usize>,
    #[serde(default)]
    num_tokens: Option<usize>,
    #[serde(default)]
    head_dim: Option<usize>,
    #[serde(default)]
    attn_scale: Option<f64>,
    #[serde(default)]
    no_layer_scale: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PerChannel {
    One(f64),
    Many(Vec<f64>),
}

#[derive(Deserialize)]
struct RawInput {
    mean: PerChannel,
    std: PerChannel,
    #[serde(default)]
    crop_pct: Option<f64>,
    #[serde(default)]
    interpolation: Option<String>,
}

fn default_in_chans() -> usize {
    3
}
fn yes() -> bool {
    true
}
fn default_eps() -> f64 {
    1e-6
}

fn bad(field: &str, message: impl Into<String>) -> FeatureError {
    FeatureError::Config {
        field: field.to_string(),
        message: message.into(),
    }
}

impl ModelConfig {
    /// Reads and validates a config file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        Self::from_json(&text).map_err(|e| match e {
            FeatureError::Config { field, message } => FeatureError::Config {
                field,
                message: format!("{message} (in {})", path.display()),
            },
            other => other,
        })
    }

    /// Parses and validates a config from JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        let raw: RawConfig =
            serde_json::from_str(text).map_err(|e| bad("<json>", e.to_string()))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawConfig) -> Result<Self> {
        let a = raw.architecture;
        for (field, v) in [
            ("architecture.img_size", a.img_size),
            ("architecture.in_chans", a.in_chans),
            ("architecture.patch_size", a.patch_size),
            ("architecture.embed_dim", a.embed_dim),
            ("architecture.depth", a.depth),
            ("architecture.num_heads", a.num_heads),
        ] {
            if v == 0 {
                return Err(bad(field, "must be positive"));
            }
        }
        if !a.img_size.is_multiple_of(a.patch_size) {
            return Err(bad(
                "architecture.patch_size",
                format!("{} does not divide img_size {}", a.patch_size, a.img_size),
            ));
        }
        if !a.embed_dim.is_multiple_of(a.num_heads) {
            return Err(bad(
                "architecture.num_heads",
                format!("{} does not divide embed_dim {}", a.num_heads, a.embed_dim),
            ));
        }
        if !a.class_token {
            return Err(bad(
                "architecture.class_token",
                "only class-token pooling (DeiT / ViT with class token) is supported",
            ));
        }
        if a.no_layer_scale == Some(false) {
            return Err(bad(
                "architecture.no_layer_scale",
                "layer scale is not supported",
            ));
        }
        if !(a.layer_norm_eps > 0.0 && a.layer_norm_eps < 1.0) {
            return Err(bad("architecture.layer_norm_eps", "must be in (0, 1)"));
        }
        let mlp_hidden = match (a.mlp_hidden, a.mlp_ratio) {
            (Some(h), Some(r)) => {
                if (a.embed_dim as f64 * r).round() as usize != h {
                    return Err(bad(
                        "architecture.mlp_hidden",
                        format!("{h} != embed_dim {} * mlp_ratio {r}", a.embed_dim),
                    ));
                }
                h
            }
            (Some(h), None) => h,
            (None, Some(r)) => {
                if r.is_nan() || r <= 0.0 {
                    return Err(bad("architecture.mlp_ratio", "must be positive"));
                }
                (a.embed_dim as f64 * r).round() as usize
            }
            (None, None) => 4 * a.embed_dim,
        };
        if mlp_hidden == 0 {
            return Err(bad("architecture.mlp_hidden", "must be positive"));
        }
        let act = match a.act.as_deref() {
            None | Some("gelu") | Some("gelu_erf") => Activation::GeluErf,
            Some("gelu_tanh") | Some("gelu_pytorch_tanh") => Activation::GeluTanh,
            Some(other) => {
                return Err(bad(
                    "architecture.act",
                    format!("unsupported activation {other:?} (gelu, gelu_erf, gelu_tanh)"),
                ))
            }
        };
        let arch = Architecture {
            img_size: a.img_size,
            in_chans: a.in_chans,
            patch_size: a.patch_size,
            embed_dim: a.embed_dim,
            depth: a.depth,
            num_heads: a.num_heads,
            mlp_hidden,
            qkv_bias: a.qkv_bias,
            layer_norm_eps: a.layer_norm_eps,
            act,
            dist_token: a.dist_token,
        };
        for (field, given, derived) in [
            (
                "architecture.num_patches",
                a.num_patches,
                arch.num_patches(),
            ),
            (
                "architecture.num_prefix_tokens",
                a.num_prefix_tokens,
                arch.num_prefix_tokens(),
            ),
            ("architecture.num_tokens", a.num_tokens, arch.num_tokens()),
            ("architecture.head_dim", a.head_dim, arch.head_dim()),
        ] {
            if let Some(g) = given {
                if g != derived {
                    return Err(bad(
                        field,
                        format!("{g} contradicts the derived value {derived}"),
                    ));
                }
            }
        }
        if let Some(s) = a.attn_scale {
            let want = 1.0 / (arch.head_dim() as f64).sqrt();
            if (s - want).abs() > 1e-6 * want {
                return Err(bad(
                    "architecture.attn_scale",
                    format!("{s} != head_dim^-0.5 = {want} (only the standard scale is supported)"),
                ));
            }
        }

        let per_channel = |field: &str, v: PerChannel| -> Result<Vec<f64>> {
            let v = match v {
                PerChannel::One(x) => vec![x; arch.in_chans],
                PerChannel::Many(v) if v.len() == 1 => vec![v[0]; arch.in_chans],
                PerChannel::Many(v) => v,
            };
            if v.len() != arch.in_chans {
                return Err(bad(
                    field,
                    format!("{} values for in_chans {}", v.len(), arch.in_chans),
                ));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(bad(field, "values must be finite"));
            }
            Ok(v)
        };
        let mean = per_channel("input.mean", raw.input.mean)?;
        let std = per_channel("input.std", raw.input.std)?;
        if std.iter().any(|&s| s <= 0.0) {
            return Err(bad("input.std", "values must be positive"));
        }
        let crop_pct = raw.input.crop_pct.unwrap_or(1.0);
        if !(crop_pct > 0.0 && crop_pct <= 1.0) {
            return Err(bad("input.crop_pct", "must be in (0, 1]"));
        }
        let interpolation = match raw.input.interpolation.as_deref() {
            None | Some("bilinear") => Interpolation::Bilinear,
            Some("bicubic") => Interpolation::Bicubic,
            Some("nearest") => Interpolation::Nearest,
            Some(other) => {
                return Err(bad(
                    "input.interpolation",
                    format!("unsupported {other:?} (nearest, bilinear, bicubic)"),
                ))
            }
        };
        Ok(ModelConfig {
            name: raw.name.unwrap_or_else(|| "unnamed".to_string()),
            arch,
            input: InputSpec {
                mean,
                std,
                crop_pct,
                interpolation,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_config_parses() {
        let c = ModelConfig::from_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../data/deit-fmnist/config.json"
        ))
        .unwrap();
        assert_eq!(c.arch.num_tokens(), 51);
        assert_eq!(c.arch.mlp_hidden, 768);
        assert!(c.arch.dist_token);
        assert_eq!(c.input.mean, vec![0.286]);
        assert_eq!(c.input.crop_pct, 1.0);
    }

    #[test]
    fn inconsistent_derived_field_is_named() {
        let j = r#"{"architecture":{"img_size":28,"in_chans":1,"patch_size":4,"embed_dim":192,
            "depth":4,"num_heads":3,"num_tokens":51},"input":{"mean":0.5,"std":0.5}}"#;
        let e = ModelConfig::from_json(j).unwrap_err().to_string();
        assert!(e.contains("architecture.num_tokens"), "{e}");
        let j = r#"{"architecture":{"img_size":224,"in_chans":3,"patch_size":16,"embed_dim":192,
            "depth":12,"num_heads":3},"input":{"mean":[0.5,0.5],"std":0.5}}"#;
        let e = ModelConfig::from_json(j).unwrap_err().to_string();
        assert!(e.contains("input.mean"), "{e}");
    }
}

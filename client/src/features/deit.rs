//! The DeiT / ViT forward pass up to the pre-logit features.
//!
//! Per batch of `B` images with `N` tokens of width `D` (all buffers row-major, tokens of image
//! `b` in rows `b*N .. (b+1)*N`):
//! 1. patch embedding as one matrix product: im2col of the normalised pixels (normalisation is a
//!    per-channel lookup table on the u8 values, fused into im2col) times the conv weight;
//! 2. `[cls, dist?, patches] + pos_embed`;
//! 3. `depth` pre-norm blocks: `x += proj(MHSA(norm1(x)))`, `x += fc2(GELU(fc1(norm2(x))))`;
//! 4. final `norm` of the prefix tokens; feature = class token, or the mean of class and
//!    distillation tokens for distilled DeiT (timm `forward_head(pre_logits=True)`).

use std::path::Path;

use super::checkpoint::Weights;
use super::config::{Activation, Architecture, ModelConfig};
use super::error::Result;
use super::ops::{gelu_erf, gelu_tanh, layer_norm, linear, matmul, softmax_rows, Strides};

/// A loaded, validated backbone.
#[derive(Debug, Clone)]
pub struct DeiT {
    pub config: ModelConfig,
    pub weights: Weights,
    /// Per channel: the normalised input value of every u8 pixel value.
    lut: Vec<[f32; 256]>,
}

/// Working memory for one batch of up to `batch` images; reused across batches.
#[derive(Debug, Clone)]
pub struct Scratch {
    batch: usize,
    patches: Vec<f32>,
    x: Vec<f32>,
    h: Vec<f32>,
    qkv: Vec<f32>,
    attn: Vec<f32>,
    mlp: Vec<f32>,
    scores: Vec<f32>,
}

impl Scratch {
    pub fn new(arch: &Architecture, batch: usize) -> Self {
        let n = arch.num_tokens();
        let d = arch.embed_dim;
        let rows = batch * n;
        let k = arch.in_chans * arch.patch_size * arch.patch_size;
        Scratch {
            batch,
            patches: vec![0.0; batch * arch.num_patches() * k],
            x: vec![0.0; rows * d],
            h: vec![0.0; rows * d],
            qkv: vec![0.0; rows * 3 * d],
            attn: vec![0.0; rows * d],
            mlp: vec![0.0; rows * arch.mlp_hidden],
            scores: vec![0.0; n * n],
        }
    }
    pub fn batch(&self) -> usize {
        self.batch
    }
}

/// Token activations `[B, N, D]` at the points the parity reference records.
#[derive(Debug, Clone, Default)]
pub struct Intermediates {
    /// After `[cls, dist, patches] + pos_embed`.
    pub embed: Vec<f32>,
    /// After each block.
    pub blocks: Vec<Vec<f32>>,
    /// After the final norm (all tokens).
    pub norm: Vec<f32>,
}

impl DeiT {
    /// Builds the model; `weights` must have been validated against `config.arch`.
    pub fn new(config: ModelConfig, weights: Weights) -> Self {
        let lut = (0..config.arch.in_chans)
            .map(|c| {
                let (m, s) = (config.input.mean[c], config.input.std[c]);
                std::array::from_fn(|v| ((v as f64 / 255.0 - m) / s) as f32)
            })
            .collect();
        DeiT {
            config,
            weights,
            lut,
        }
    }

    /// Reads a config and a checkpoint and validates one against the other.
    pub fn load(model: impl AsRef<Path>, config: impl AsRef<Path>) -> Result<Self> {
        let config = ModelConfig::from_file(config)?;
        let weights = Weights::from_file(model, &config.arch)?;
        Ok(Self::new(config, weights))
    }

    pub fn arch(&self) -> &Architecture {
        &self.config.arch
    }

    /// Length of one feature vector (= `embed_dim`).
    pub fn feature_dim(&self) -> usize {
        self.config.arch.embed_dim
    }

    /// The normalised input `(pixel / 255 - mean[c]) / std[c]` of u8 pixels `[B, C, S, S]`.
    pub fn normalize(&self, pixels: &[u8]) -> Vec<f32> {
        let hw = self.arch().img_size * self.arch().img_size;
        let c = self.arch().in_chans;
        pixels
            .iter()
            .enumerate()
            .map(|(i, &p)| self.lut[(i / hw) % c][p as usize])
            .collect()
    }

    /// Features of `b` preprocessed u8 images `[b, C, S, S]` into `out` `[b, D]`.
    pub fn forward_u8(&self, pixels: &[u8], b: usize, scratch: &mut Scratch, out: &mut [f32]) {
        self.im2col(pixels, b, &mut scratch.patches, |c, p| {
            self.lut[c][p as usize]
        });
        self.forward_from_patches(b, scratch, out, None);
    }

    /// Features of `b` already normalised images `[b, C, S, S]` (f32) into `out` `[b, D]`,
    /// recording intermediate activations if `taps` is given.
    pub fn forward_normalized(
        &self,
        input: &[f32],
        b: usize,
        scratch: &mut Scratch,
        out: &mut [f32],
        taps: Option<&mut Intermediates>,
    ) {
        self.im2col(input, b, &mut scratch.patches, |_, v| v);
        self.forward_from_patches(b, scratch, out, taps);
    }

    /// `patches[b*P + n, c*p*p + i*p + j] = f(c, img[b, c, r*p + i, q*p + j])`, `n = r*g + q`,
    /// matching the flattened conv weight `[D, C, p, p]`.
    fn im2col<T: Copy>(
        &self,
        img: &[T],
        b: usize,
        patches: &mut [f32],
        f: impl Fn(usize, T) -> f32,
    ) {
        let a = self.arch();
        let (s, p, g, ch) = (a.img_size, a.patch_size, a.grid(), a.in_chans);
        let k = ch * p * p;
        assert!(
            b <= patches.len() / (g * g * k),
            "batch larger than scratch"
        );
        assert_eq!(img.len(), b * a.pixels_per_image(), "image buffer size");
        for bi in 0..b {
            let im = &img[bi * ch * s * s..(bi + 1) * ch * s * s];
            for r in 0..g {
                for q in 0..g {
                    let row = &mut patches[((bi * g + r) * g + q) * k..][..k];
                    for c in 0..ch {
                        for i in 0..p {
                            let src = &im[c * s * s + (r * p + i) * s + q * p..][..p];
                            let dst = &mut row[(c * p + i) * p..][..p];
                            for (d, &v) in dst.iter_mut().zip(src) {
                                *d = f(c, v);
                            }
                        }
                    }
                }
            }
        }
    }

    fn forward_from_patches(
        &self,
        b: usize,
        sc: &mut Scratch,
        out: &mut [f32],
        mut taps: Option<&mut Intermediates>,
    ) {
        let a = &self.config.arch;
        let w = &self.weights;
        let (d, n, np, pre) = (
            a.embed_dim,
            a.num_tokens(),
            a.num_patches(),
            a.num_prefix_tokens(),
        );
        let k = a.in_chans * a.patch_size * a.patch_size;
        let rows = b * n;
        assert!(b <= sc.batch, "batch {b} larger than scratch {}", sc.batch);
        assert_eq!(out.len(), b * d, "feature buffer size");

        // 1-2. Patch embedding, tokens, position embedding.
        linear(&sc.patches, b * np, k, &w.patch_w, &w.patch_b, &mut sc.h);
        for bi in 0..b {
            let x = &mut sc.x[bi * n * d..(bi + 1) * n * d];
            let prefix = std::iter::once(&w.cls_token).chain(w.dist_token.as_ref());
            for (t, tok) in prefix.enumerate() {
                for j in 0..d {
                    x[t * d + j] = tok[j] + w.pos_embed[t * d + j];
                }
            }
            let src = &sc.h[bi * np * d..(bi + 1) * np * d];
            for (j, (xv, &hv)) in x[pre * d..].iter_mut().zip(src).enumerate() {
                *xv = hv + w.pos_embed[pre * d + j];
            }
        }
        if let Some(t) = taps.as_deref_mut() {
            t.embed = sc.x[..rows * d].to_vec();
            t.blocks.clear();
        }

        // 3. Transformer blocks.
        let heads = a.num_heads;
        let hd = a.head_dim();
        let scale = 1.0 / (hd as f32).sqrt();
        let hidden = a.mlp_hidden;
        for blk in &w.blocks {
            let x = &mut sc.x[..rows * d];
            layer_norm(x, &blk.norm1_w, &blk.norm1_b, a.layer_norm_eps, &mut sc.h);
            linear(&sc.h, rows, d, &blk.qkv_w, &blk.qkv_b, &mut sc.qkv);
            for bi in 0..b {
                let qkv = &sc.qkv[bi * n * 3 * d..(bi + 1) * n * 3 * d];
                let att = &mut sc.attn[bi * n * d..(bi + 1) * n * d];
                for hh in 0..heads {
                    let q = &qkv[hh * hd..];
                    let kk = &qkv[d + hh * hd..];
                    let v = &qkv[2 * d + hh * hd..];
                    // scores = scale * q kᵀ  [n, n]
                    matmul(
                        n,
                        n,
                        hd,
                        &mut sc.scores,
                        Strides::row_major(n),
                        false,
                        q,
                        Strides::row_major(3 * d),
                        kk,
                        Strides::transposed(3 * d),
                        scale,
                    );
                    softmax_rows(&mut sc.scores, n);
                    // att[:, head] = scores v  [n, hd]
                    matmul(
                        n,
                        hd,
                        n,
                        &mut att[hh * hd..],
                        Strides::row_major(d),
                        false,
                        &sc.scores,
                        Strides::row_major(n),
                        v,
                        Strides::row_major(3 * d),
                        1.0,
                    );
                }
            }
            linear(&sc.attn, rows, d, &blk.proj_w, &blk.proj_b, &mut sc.h);
            add_assign(x, &sc.h[..rows * d]);
            layer_norm(x, &blk.norm2_w, &blk.norm2_b, a.layer_norm_eps, &mut sc.h);
            linear(&sc.h, rows, d, &blk.fc1_w, &blk.fc1_b, &mut sc.mlp);
            match a.act {
                Activation::GeluErf => gelu_erf(&mut sc.mlp[..rows * hidden]),
                Activation::GeluTanh => gelu_tanh(&mut sc.mlp[..rows * hidden]),
            }
            linear(&sc.mlp, rows, hidden, &blk.fc2_w, &blk.fc2_b, &mut sc.h);
            add_assign(x, &sc.h[..rows * d]);
            if let Some(t) = taps.as_deref_mut() {
                t.blocks.push(x.to_vec());
            }
        }

        // 4. Final norm and pooling.
        let eps = a.layer_norm_eps;
        if let Some(t) = taps {
            let mut all = vec![0.0f32; rows * d];
            layer_norm(&sc.x[..rows * d], &w.norm_w, &w.norm_b, eps, &mut all);
            t.norm = all;
        }
        for bi in 0..b {
            let x = &sc.x[bi * n * d..(bi * n + pre) * d];
            let t = &mut sc.h[..pre * d];
            layer_norm(x, &w.norm_w, &w.norm_b, eps, t);
            let o = &mut out[bi * d..(bi + 1) * d];
            if pre == 2 {
                for j in 0..d {
                    o[j] = (t[j] + t[d + j]) / 2.0;
                }
            } else {
                o.copy_from_slice(&t[..d]);
            }
        }
    }
}

fn add_assign(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

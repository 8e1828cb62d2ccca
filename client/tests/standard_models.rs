//! The standard timm DeiT configs shipped in data/configs/: they parse, they ask for exactly the
//! tensors (and parameter counts) of timm's models, and the forward pass is correct for 3-channel
//! 224px inputs (patch embedding vs a direct convolution; batch invariance), using synthetic weights.

use std::path::PathBuf;

use blindtune_client::features::checkpoint::expected_tensors;
use blindtune_client::features::output::{serialize, OwnedTensor};
use blindtune_client::features::{DeiT, Intermediates, ModelConfig, Scratch, Weights};

fn config(name: &str) -> ModelConfig {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../data/configs/{name}.json"));
    ModelConfig::from_file(p).unwrap()
}

#[test]
fn parameter_counts_match_timm() {
    // timm's parameter counts (with the 1000-class head, and head_dist when distilled).
    let cases = [
        ("deit_tiny_patch16_224", 5_717_416usize, 1),
        ("deit_small_patch16_224", 22_050_664, 1),
        ("deit_base_patch16_224", 86_567_656, 1),
        ("deit_tiny_distilled_patch16_224", 5_910_800, 2),
        ("deit_small_distilled_patch16_224", 22_436_432, 2),
        ("deit_base_distilled_patch16_224", 87_338_192, 2),
    ];
    for (name, total, heads) in cases {
        let c = config(name);
        let d = c.arch.embed_dim;
        let backbone: usize = expected_tensors(&c.arch)
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum();
        assert_eq!(backbone + heads * (1000 * d + 1000), total, "{name}");
        assert_eq!(c.arch.num_tokens(), 196 + heads, "{name}");
    }
}

fn random_pixels(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 56) as u8
        })
        .collect()
}

#[test]
fn deit_tiny_224_rgb_forward_is_consistent() {
    let cfg = config("deit_tiny_patch16_224");
    let arch = cfg.arch.clone();
    // Through safetensors, as a user checkpoint would come (plus a head, which is ignored).
    let w = Weights::synthetic(&arch, 7);
    let values = |name: &str| -> Vec<f32> {
        match name {
            "cls_token" => w.cls_token.clone(),
            "pos_embed" => w.pos_embed.clone(),
            "patch_embed.proj.weight" => w.patch_w.clone(),
            "patch_embed.proj.bias" => w.patch_b.clone(),
            "norm.weight" => w.norm_w.clone(),
            "norm.bias" => w.norm_b.clone(),
            _ => {
                let parts: Vec<&str> = name.split('.').collect();
                let b = &w.blocks[parts[1].parse::<usize>().unwrap()];
                match &parts[2..].join(".")[..] {
                    "norm1.weight" => b.norm1_w.clone(),
                    "norm1.bias" => b.norm1_b.clone(),
                    "attn.qkv.weight" => b.qkv_w.clone(),
                    "attn.qkv.bias" => b.qkv_b.clone(),
                    "attn.proj.weight" => b.proj_w.clone(),
                    "attn.proj.bias" => b.proj_b.clone(),
                    "norm2.weight" => b.norm2_w.clone(),
                    "norm2.bias" => b.norm2_b.clone(),
                    "mlp.fc1.weight" => b.fc1_w.clone(),
                    "mlp.fc1.bias" => b.fc1_b.clone(),
                    "mlp.fc2.weight" => b.fc2_w.clone(),
                    "mlp.fc2.bias" => b.fc2_b.clone(),
                    other => panic!("{other}"),
                }
            }
        }
    };
    let mut ts: Vec<(String, OwnedTensor)> = expected_tensors(&arch)
        .into_iter()
        .map(|(n, s)| {
            let v = values(&n);
            (n, OwnedTensor::f32(s, &v))
        })
        .collect();
    ts.push((
        "head.weight".into(),
        OwnedTensor::f32(vec![1000, 192], &vec![0.0; 192_000]),
    ));
    ts.push((
        "head.bias".into(),
        OwnedTensor::f32(vec![1000], &[0.0; 1000]),
    ));
    let loaded = Weights::from_bytes(&serialize(&ts, None).unwrap(), &arch).unwrap();
    assert_eq!(loaded.blocks[11].fc2_w, w.blocks[11].fc2_w);
    let model = DeiT::new(cfg, loaded);

    let ppi = arch.pixels_per_image();
    let pixels = random_pixels(3 * ppi, 99);
    let batch = model.extract(&pixels, 3, None);
    assert!(batch.iter().all(|v| v.is_finite()));
    // Batch invariance: image 1 alone gives the same features as inside the batch.
    let alone = model.extract(&pixels[ppi..2 * ppi], 1, None);
    assert_eq!(&batch[192..384], &alone[..]);

    // Patch embedding of a 3-channel image vs a direct convolution.
    let input = model.normalize(&pixels[..ppi]);
    let mut scratch = Scratch::new(&arch, 1);
    let mut f = vec![0.0f32; 192];
    let mut taps = Intermediates::default();
    model.forward_normalized(&input, 1, &mut scratch, &mut f, Some(&mut taps));
    assert_eq!(f, &batch[..192]);
    let wts = &model.weights;
    let mut max_err = 0f64;
    for n in [0usize, 13, 100, 195] {
        let (r, q) = (n / 14, n % 14);
        for d in [0usize, 77, 191] {
            let mut acc = wts.patch_b[d] as f64;
            for c in 0..3 {
                for i in 0..16 {
                    for j in 0..16 {
                        let x = input[c * 224 * 224 + (r * 16 + i) * 224 + q * 16 + j] as f64;
                        acc += wts.patch_w[((d * 3 + c) * 16 + i) * 16 + j] as f64 * x;
                    }
                }
            }
            let want = acc + wts.pos_embed[(1 + n) * 192 + d] as f64;
            let got = taps.embed[(1 + n) * 192 + d] as f64;
            max_err = max_err.max((got - want).abs());
        }
    }
    assert!(max_err < 1e-5, "patch embedding error {max_err}");
    // Class token row: cls + pos[0].
    assert_eq!(taps.embed[5], wts.cls_token[5] + wts.pos_embed[5]);
}

//! Malformed checkpoints and configs must be refused with an error that names the tensor (or
//! config field) at fault. Broken checkpoints are built here from the bundled one.

use std::path::PathBuf;

use blindtune_client::features::checkpoint::expected_tensors;
use blindtune_client::features::config::ModelConfig;
use blindtune_client::features::output::{serialize, OwnedTensor};
use blindtune_client::features::{DeiT, FeatureError, Weights};
use safetensors::{Dtype, SafeTensors};

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/deit-fmnist")
        .join(file)
}

fn config_json() -> String {
    std::fs::read_to_string(data("config.json")).unwrap()
}

fn config() -> ModelConfig {
    ModelConfig::from_json(&config_json()).unwrap()
}

/// All tensors of the bundled checkpoint, in file order.
fn tensors() -> Vec<(String, OwnedTensor)> {
    let bytes = std::fs::read(data("deit_tiny_fmnist.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| {
            (
                n,
                OwnedTensor {
                    dtype: t.dtype(),
                    shape: t.shape().to_vec(),
                    data: t.data().to_vec(),
                },
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn load(ts: &[(String, OwnedTensor)], cfg: &ModelConfig) -> Result<Weights, FeatureError> {
    Weights::from_bytes(&serialize(ts, None).unwrap(), &cfg.arch)
}

fn get<'a>(ts: &'a mut [(String, OwnedTensor)], name: &str) -> &'a mut OwnedTensor {
    &mut ts.iter_mut().find(|t| t.0 == name).unwrap().1
}

fn assert_names(err: FeatureError, name: &str) -> String {
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("`{name}`")),
        "error does not name `{name}`: {msg}"
    );
    msg
}

#[test]
fn intact_checkpoint_loads() {
    let w = load(&tensors(), &config()).unwrap();
    assert_eq!(w.blocks.len(), 4);
    assert_eq!(expected_tensors(&config().arch).len() + 4, tensors().len()); // + 2 heads
}

#[test]
fn missing_tensor_is_named() {
    let mut ts = tensors();
    ts.retain(|t| t.0 != "blocks.2.mlp.fc1.weight");
    let e = load(&ts, &config()).unwrap_err();
    assert!(matches!(e, FeatureError::MissingTensor { .. }), "{e}");
    let msg = assert_names(e, "blocks.2.mlp.fc1.weight");
    assert!(msg.contains("[768, 192]"), "{msg}");
}

#[test]
fn wrong_shape_is_named() {
    let mut ts = tensors();
    let t = get(&mut ts, "blocks.1.attn.qkv.weight");
    t.shape = vec![192, 576]; // transposed: same size, wrong layout
    let e = load(&ts, &config()).unwrap_err();
    assert!(matches!(e, FeatureError::WrongShape { .. }), "{e}");
    let msg = assert_names(e, "blocks.1.attn.qkv.weight");
    assert!(
        msg.contains("[192, 576]") && msg.contains("[576, 192]"),
        "{msg}"
    );
}

#[test]
fn unsupported_dtype_is_named() {
    let mut ts = tensors();
    get(&mut ts, "norm.weight").dtype = Dtype::I32; // same byte size as F32
    let e = load(&ts, &config()).unwrap_err();
    assert!(matches!(e, FeatureError::UnsupportedDtype { .. }), "{e}");
    let msg = assert_names(e, "norm.weight");
    assert!(msg.contains("I32"), "{msg}");
}

#[test]
fn non_finite_value_is_named() {
    let mut ts = tensors();
    get(&mut ts, "pos_embed").data[40..44].copy_from_slice(&f32::NAN.to_le_bytes());
    let e = load(&ts, &config()).unwrap_err();
    let msg = assert_names(e, "pos_embed");
    assert!(msg.contains("index 10"), "{msg}");
}

#[test]
fn unknown_tensor_is_named() {
    let mut ts = tensors();
    ts.push((
        "blocks.0.ls1.gamma".into(),
        OwnedTensor::f32(vec![192], &[1.0; 192]),
    ));
    assert_names(load(&ts, &config()).unwrap_err(), "blocks.0.ls1.gamma");
}

/// The bundled config with `edit` applied to its JSON; the derived fields it repeats
/// (`num_patches`, `num_tokens`, `head_dim`, `mlp_hidden`, `attn_scale`, `num_prefix_tokens`) are dropped so that they do not mask
/// the change.
fn config_with(edit: impl FnOnce(&mut serde_json::Value)) -> ModelConfig {
    let mut v: serde_json::Value = serde_json::from_str(&config_json()).unwrap();
    let arch = v["architecture"].as_object_mut().unwrap();
    for k in [
        "num_patches",
        "num_tokens",
        "head_dim",
        "mlp_hidden",
        "attn_scale",
        "num_prefix_tokens",
    ] {
        arch.remove(k);
    }
    edit(&mut v);
    ModelConfig::from_json(&v.to_string()).unwrap()
}

#[test]
fn config_mismatches_are_named() {
    let ts = tensors();
    // Fewer blocks in the config than in the checkpoint.
    let e = load(&ts, &config_with(|v| v["architecture"]["depth"] = 3.into())).unwrap_err();
    assert!(matches!(e, FeatureError::ConfigMismatch { .. }), "{e}");
    assert!(assert_names(e, "blocks.3.attn.proj.bias").contains("depth 3"));
    // More blocks in the config.
    let e = load(&ts, &config_with(|v| v["architecture"]["depth"] = 5.into())).unwrap_err();
    assert_names(e, "blocks.4.attn.qkv.weight");
    // Another width: the first tensor checked is named, with the config's number.
    let e = load(
        &ts,
        &config_with(|v| v["architecture"]["embed_dim"] = 384.into()),
    )
    .unwrap_err();
    assert!(assert_names(e, "cls_token").contains("embed_dim 384"));
    // Another MLP ratio.
    let e = load(
        &ts,
        &config_with(|v| v["architecture"]["mlp_ratio"] = 2.0.into()),
    )
    .unwrap_err();
    assert_names(e, "blocks.0.mlp.fc1.weight");
    // Another image size changes the number of tokens: pos_embed is named.
    let e = load(
        &ts,
        &config_with(|v| v["architecture"]["img_size"] = 32.into()),
    )
    .unwrap_err();
    assert!(matches!(e, FeatureError::WrongShape { .. }), "{e}");
    assert_names(e, "pos_embed");
    // A distilled checkpoint with a non-distilled config.
    let e = load(
        &ts,
        &config_with(|v| v["architecture"]["dist_token"] = false.into()),
    )
    .unwrap_err();
    assert!(assert_names(e, "dist_token").contains("dist_token: false"));
    // RGB config for a grey-scale checkpoint: the conv weight is named.
    let cfg = config_with(|v| {
        v["architecture"]["in_chans"] = 3.into();
    });
    let msg = assert_names(load(&ts, &cfg).unwrap_err(), "patch_embed.proj.weight");
    assert!(msg.contains("in_chans 3"), "{msg}");
    // No qkv bias in the config, but the checkpoint has one.
    let cfg = config_with(|v| v["architecture"]["qkv_bias"] = false.into());
    assert_names(load(&ts, &cfg).unwrap_err(), "blocks.0.attn.qkv.bias");
    // Inconsistent config fields are named before any tensor is looked at.
    let mut v: serde_json::Value = serde_json::from_str(&config_json()).unwrap();
    v["architecture"]["img_size"] = 32.into();
    let e = ModelConfig::from_json(&v.to_string())
        .unwrap_err()
        .to_string();
    assert!(e.contains("architecture.num_patches"), "{e}");
}

#[test]
fn bad_files_name_the_path() {
    let dir = std::env::temp_dir().join(format!("blindtune-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let truncated = dir.join("truncated.safetensors");
    let bytes = std::fs::read(data("deit_tiny_fmnist.safetensors")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let e = DeiT::load(&truncated, data("config.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("truncated.safetensors"), "{e}");
    let e = DeiT::load(dir.join("absent.safetensors"), data("config.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.safetensors"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Re-encodes every f32 tensor of the checkpoint in a half-precision format.
fn to_half(ts: &[(String, OwnedTensor)], bf16: bool) -> Vec<(String, OwnedTensor)> {
    ts.iter()
        .map(|(n, t)| {
            let vals = t
                .data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()));
            let data: Vec<u8> = if bf16 {
                // round to nearest even
                vals.flat_map(|v| {
                    let b = v.to_bits();
                    (((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16).to_le_bytes()
                })
                .collect()
            } else {
                vals.flat_map(|v| f32_to_f16(v).to_le_bytes()).collect()
            };
            let dtype = if bf16 { Dtype::BF16 } else { Dtype::F16 };
            (
                n.clone(),
                OwnedTensor {
                    dtype,
                    shape: t.shape.clone(),
                    data,
                },
            )
        })
        .collect()
}

/// Round-to-nearest f32 -> f16 for normal-range values (enough for these weights).
fn f32_to_f16(v: f32) -> u16 {
    let b = v.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32 - 127 + 15;
    let man = b & 0x7f_ffff;
    if exp <= 0 {
        // subnormal or zero in f16
        let v = (v.abs() * 16_777_216.0).round() as u16;
        return sign | v;
    }
    let mut h = ((exp as u32) << 10) | (man >> 13);
    let rest = man & 0x1fff;
    if rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1) {
        h += 1;
    }
    sign | h as u16
}

#[test]
fn half_precision_checkpoints_load_and_agree() {
    let cfg = config();
    let ts = tensors();
    let images = {
        let bytes = std::fs::read(data("parity.safetensors")).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        st.tensor("images").unwrap().data().to_vec()
    };
    let reference = DeiT::new(cfg.clone(), load(&ts, &cfg).unwrap()).extract(&images, 16, None);
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
    for bf16 in [false, true] {
        let w = load(&to_half(&ts, bf16), &cfg).unwrap();
        let f = DeiT::new(cfg.clone(), w).extract(&images, 16, None);
        let err = f
            .iter()
            .zip(&reference)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
            / scale;
        println!("bf16={bf16}: rel err vs f32 weights {err:.2e}");
        // Weight rounding (2^-11 or 2^-8 relative) propagated through 4 blocks.
        assert!(err < if bf16 { 0.1 } else { 0.02 }, "bf16={bf16}: {err}");
    }
}

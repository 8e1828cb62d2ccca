//! Parity of the Rust forward pass with the PyTorch reference activations recorded in
//! `data/deit-fmnist/parity.safetensors` (16 MNIST test images through the bundled backbone).
//!
//! Error measure, per tensor: `max_i |ours_i - ref_i| / max_i |ref_i|` (max abs error relative to
//! the tensor's largest magnitude), required ≤ 1e-4. Run with `--nocapture` to see the values.

use std::path::PathBuf;

use blindtune_client::features::output::read_f32;
use blindtune_client::features::{DeiT, Intermediates, Scratch};

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/deit-fmnist")
        .join(file)
}

fn model() -> DeiT {
    DeiT::load(data("deit_tiny_fmnist.safetensors"), data("config.json")).unwrap()
}

/// `max |a - b| / max |b|`.
fn rel_err(ours: &[f32], reference: &[f32]) -> f64 {
    assert_eq!(ours.len(), reference.len());
    let scale = reference
        .iter()
        .fold(0.0f64, |m, &v| m.max((v as f64).abs()));
    let diff = ours
        .iter()
        .zip(reference)
        .fold(0.0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
    diff / scale
}

const BOUND: f64 = 1e-4;

fn parity_images() -> Vec<u8> {
    let bytes = std::fs::read(data("parity.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let v = st.tensor("images").unwrap();
    assert_eq!(v.shape(), [16, 28, 28]);
    v.data().to_vec()
}

#[test]
fn every_layer_matches_pytorch() {
    let m = model();
    let p = data("parity.safetensors");
    let images = parity_images();
    let b = 16;

    // Normalisation of the u8 pixels.
    let (input_ref, shape) = read_f32(&p, "input_norm").unwrap();
    assert_eq!(shape, [16, 1, 28, 28]);
    let input = m.normalize(&images);
    let e_in = rel_err(&input, &input_ref);
    println!("input_norm rel err {e_in:.3e}");
    assert!(e_in <= 1e-6, "input normalisation: {e_in:e}");

    // Forward from the reference input, recording every stage.
    let mut scratch = Scratch::new(m.arch(), b);
    let mut feats = vec![0.0f32; b * m.feature_dim()];
    let mut taps = Intermediates::default();
    m.forward_normalized(&input_ref, b, &mut scratch, &mut feats, Some(&mut taps));

    let mut stages = vec![("embed_out".to_string(), taps.embed.clone())];
    for (i, blk) in taps.blocks.iter().enumerate() {
        stages.push((format!("block{i}_out"), blk.clone()));
    }
    stages.push(("norm_out".to_string(), taps.norm.clone()));
    stages.push(("features".to_string(), feats.clone()));
    for (name, ours) in &stages {
        let (reference, _) = read_f32(&p, name).unwrap();
        let e = rel_err(ours, &reference);
        println!("{name:>10} rel err {e:.3e}");
        assert!(e <= BOUND, "{name}: max rel err {e:e} > {BOUND:e}");
    }
    let (f64_ref, _) = read_f32(&p, "features_f64").unwrap();
    println!(
        "features vs features_f64 rel err {:.3e}",
        rel_err(&feats, &f64_ref)
    );

    // The production path (u8 pixels, normalisation fused into im2col, batched + rayon) must give
    // the same features, in two uneven batches.
    let (features_ref, _) = read_f32(&p, "features").unwrap();
    let from_u8 = m.extract(&images, 5, None);
    let e = rel_err(&from_u8, &features_ref);
    println!("features via extract(u8) rel err {e:.3e}");
    assert!(e <= BOUND, "extract: {e:e}");
}

#[test]
fn the_test_is_able_to_fail() {
    // A perturbed weight must push the error above the bound: guards against a vacuous check.
    let mut m = model();
    m.weights.blocks[0].fc2_b[0] += 0.05;
    let (features_ref, _) = read_f32(&data("parity.safetensors"), "features").unwrap();
    let f = m.extract(&parity_images(), 16, None);
    assert!(rel_err(&f, &features_ref) > BOUND);
}

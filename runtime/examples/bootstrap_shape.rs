//! Prints the shape of the bootstrapping circuit for a parameter set (no keys needed): per
//! CoeffsToSlots/SlotsToCoeffs matrix its diagonals, baby and giant steps, and the number of
//! Galois keys. `cargo run --release --example bootstrap_shape [n16-boot]`.
use blindtune_runtime::circuits::bootstrapping::config::{self, BootstrappingConfig};
use blindtune_runtime::circuits::bootstrapping::dft::{
    coeffs_to_slots_stages, collapse, slots_to_coeffs_stages,
};
use blindtune_runtime::circuits::bootstrapping::Bootstrapper;
use blindtune_runtime::circuits::linear_transform::transform::bsgs_shape;
use blindtune_runtime::ckks::{Context, Params};

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "n16-boot".into());
    let lit = config::presets()
        .into_iter()
        .find(|p| p.name == name)
        .expect("a bootstrappable set");
    let n = 1usize << lit.log_n;
    let cfg = if name.starts_with("test") {
        config::test_boot_config(n)
    } else {
        BootstrappingConfig::full_slots(n)
    };
    let ctx = Context::new(Params::new_insecure_for_tests(lit).unwrap());
    for (label, stages, groups) in [
        ("CtS", coeffs_to_slots_stages(n, cfg.slots), cfg.cts_levels),
        ("StC", slots_to_coeffs_stages(n, cfg.slots), cfg.stc_levels),
    ] {
        for (i, m) in collapse(&stages, groups).iter().enumerate() {
            let (b, g) = bsgs_shape(m);
            println!(
                "{label}[{i}]: {} diagonals, {b} baby steps, {g} giant steps",
                m.num_diagonals()
            );
        }
    }
    let manifest = Bootstrapper::key_manifest(&ctx, &cfg);
    println!("Galois keys: {}", manifest.galois_elements.len());
}

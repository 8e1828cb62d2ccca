//! Prints the e-graph optimizer's report for example programs at 2^15 slots:
//! `cargo run --release -p blindtune-compiler --example opt_report [NAME...]`.

use blindtune_compiler::ir::{ckks, layout, tensor};
use blindtune_compiler::opt::{self, OptOptions};
use std::path::PathBuf;

fn main() {
    let names: Vec<String> = std::env::args().skip(1).collect();
    let names = if names.is_empty() {
        vec!["hetal_head_fast".to_string(), "hetal_head".to_string()]
    } else {
        names
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for name in names {
        let path = root.join("examples").join(format!("{name}.bt"));
        let c = blindtune_compiler::check_file(&path, Default::default()).expect("readable");
        let p = c.program.expect("the example checks");
        let t = tensor::lower(&p).expect("tensor IR");
        let l = layout::assign(&t, 1 << 15).expect("layout");
        let prog = ckks::lower(&l).expect("CKKS stage");
        let mut opts = OptOptions::default();
        if let Some(n) = std::env::var("OPT_ITERS").ok().and_then(|v| v.parse().ok()) {
            opts.iter_limit = n;
        }
        if let Some(n) = std::env::var("OPT_NODES").ok().and_then(|v| v.parse().ok()) {
            opts.node_limit = n;
        }
        let (_, report) = opt::optimize(&prog, &opts).expect("optimizes");
        println!(
            "== {name} (2^15 slots, budget {:?}, {} iterations, {} nodes)",
            opts.time_budget, opts.iter_limit, opts.node_limit
        );
        println!("{report}");
    }
}

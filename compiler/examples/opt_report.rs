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
        let (_, report) = opt::optimize(&prog, &OptOptions::default()).expect("optimizes");
        println!("== {name} (2^15 slots, budget {:?})", OptOptions::default().time_budget);
        println!("{report}");
    }
}

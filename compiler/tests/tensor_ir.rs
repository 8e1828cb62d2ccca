//! The tensor IR (issue 10, first stage): snapshots of every example's IR, the verifier's
//! refusals of hand-broken IR, and the evaluator of the IR against the reference interpreter
//! on seeded random data (the check that the lowering is right).

mod common;
use blindtune_compiler::interp::{self, Options};
use blindtune_compiler::ir::tensor::{self, interp as tinterp, print, Op, TensorProgram};
use blindtune_compiler::types::{self, CheckedProgram};
use common::data::random_inputs;
use std::collections::BTreeMap;

fn checked(name: &str, overrides: &[(&str, f64)]) -> CheckedProgram {
    let ov = overrides.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let c = types::check_file(&common::example_path(name), ov).unwrap();
    let diags = c.rendered_diagnostics();
    c.program
        .unwrap_or_else(|| panic!("{name} should check:\n{diags}"))
}

fn lowered(name: &str, overrides: &[(&str, f64)]) -> TensorProgram {
    tensor::lower(&checked(name, overrides)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn examples_tensor_ir_snapshots() {
    for name in common::EXAMPLES {
        let p = lowered(name, &[]);
        insta::assert_snapshot!(format!("tensor_{name}"), print::program(&p));
    }
}

/// Loops stay rolled: the IR does not grow with the epochs.
#[test]
fn ir_size_does_not_grow_with_epochs() {
    for name in ["hetal_head", "logreg"] {
        let sizes: Vec<(usize, usize)> = [1.0, 10.0, 40.0]
            .iter()
            .map(|e| {
                let p = lowered(name, &[("EPOCHS", *e)]);
                (p.inst_count(), print::program(&p).lines().count())
            })
            .collect();
        assert!(sizes.windows(2).all(|w| w[0] == w[1]), "{name}: {sizes:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// the verifier

fn find_inst(p: &TensorProgram, pred: impl Fn(&Op) -> bool) -> Option<Vec<usize>> {
    fn go(r: &tensor::Region, pred: &dyn Fn(&Op) -> bool, path: &mut Vec<usize>) -> bool {
        for (i, inst) in r.insts.iter().enumerate() {
            path.push(i);
            if pred(&inst.op) {
                return true;
            }
            if let Op::Loop { body, .. } = &inst.op {
                if go(body, pred, path) {
                    return true;
                }
            }
            path.pop();
        }
        false
    }
    let mut path = vec![];
    go(&p.body, &pred, &mut path).then_some(path)
}

fn region_at<'a>(r: &'a mut tensor::Region, path: &[usize]) -> &'a mut tensor::Region {
    match path {
        [_] => r,
        [i, rest @ ..] => match &mut r.insts[*i].op {
            Op::Loop { body, .. } => region_at(body, rest),
            _ => panic!("not a loop"),
        },
        [] => r,
    }
}

#[test]
fn the_lowered_examples_verify() {
    for name in common::EXAMPLES {
        tensor::verify(&lowered(name, &[])).unwrap();
    }
}

#[test]
fn verifier_refuses_a_use_before_its_definition() {
    let mut p = lowered("logreg", &[]);
    // move the first matmul to the start of its region: its operands are not defined yet
    let path = find_inst(&p, |op| matches!(op, Op::MatMul(..))).unwrap();
    let r = region_at(&mut p.body, &path);
    let i = *path.last().unwrap();
    let inst = r.insts.remove(i);
    let line = print::inst_line(&p, &inst);
    let r = region_at(&mut p.body, &path);
    r.insts.insert(0, inst);
    let e = tensor::verify(&p).unwrap_err();
    assert_eq!(e.inst, line, "{e}");
    assert!(e.msg.contains("not defined before it"), "{e}");
    assert!(e.to_string().contains("matmul"), "{e}");
}

#[test]
fn verifier_refuses_a_region_that_yields_too_few_values() {
    let mut p = lowered("hetal_head", &[]);
    let path = find_inst(&p, |op| matches!(op, Op::Loop { .. })).unwrap();
    let r = region_at(&mut p.body, &path);
    let i = *path.last().unwrap();
    if let Op::Loop { body, .. } = &mut r.insts[i].op {
        body.yields.pop();
    }
    let e = tensor::verify(&p).unwrap_err();
    assert!(
        e.inst.starts_with("%w.") && e.inst.contains("loop epoch"),
        "{e}"
    );
    assert!(
        e.msg.contains("yields 3 values for 4 carried values"),
        "{e}"
    );
}

#[test]
fn verifier_refuses_an_implicit_broadcast_and_a_bad_matmul() {
    // the bias add in `x @ w.T + b` goes through an explicit broadcast; bypass it
    let mut p = lowered("logreg", &[]);
    let path = find_inst(&p, |op| matches!(op, Op::Broadcast(..))).unwrap();
    let r = region_at(&mut p.body, &path);
    let i = *path.last().unwrap();
    let (Op::Broadcast(src), res) = (r.insts[i].op.clone(), r.insts[i].results[0]) else {
        unreachable!()
    };
    let mut hit = None;
    for inst in r.insts.iter_mut().skip(i + 1) {
        let mut changed = false;
        if let Op::Bin(_, a, b) = &mut inst.op {
            for x in [a, b] {
                if *x == res {
                    *x = src;
                    changed = true;
                }
            }
        }
        if changed {
            hit = Some(inst.clone());
        }
        if hit.is_some() {
            break;
        }
    }
    let hit = hit.expect("a use of the broadcast");
    let e = tensor::verify(&p).unwrap_err();
    assert_eq!(e.inst, print::inst_line(&p, &hit));
    assert!(e.msg.contains("implicit broadcast"), "{e}");

    // a matmul with its operands swapped: [1, D] @ [b, D] does not multiply
    let mut p = lowered("logreg", &[]);
    let path = find_inst(&p, |op| matches!(op, Op::MatMul(..))).unwrap();
    let r = region_at(&mut p.body, &path);
    let inst = &mut r.insts[*path.last().unwrap()];
    let Op::MatMul(a, b) = inst.op else {
        unreachable!()
    };
    inst.op = Op::MatMul(b, a);
    let e = tensor::verify(&p).unwrap_err();
    assert!(e.inst.contains("matmul"), "{e}");
    assert!(e.msg.contains("cannot multiply"), "{e}");
}

#[test]
fn verifier_refuses_a_value_defined_twice() {
    let mut p = lowered("select_and_ranges", &[]);
    let first = p.body.insts[0].results[0];
    let last = p
        .body
        .insts
        .iter()
        .rposition(|i| i.results.len() == 1 && i.op.regions().is_empty())
        .unwrap();
    p.body.insts[last].results = vec![first];
    let e = tensor::verify(&p).unwrap_err();
    assert!(e.msg.contains("a second time"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// the evaluator against the reference interpreter

/// Small random inputs of the declared shapes (symbolic dims from `dims`), inside declared
/// ranges; one-hot rows for label matrices, positive scales for `*_std`.

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

fn compare(name: &str, overrides: &[(&str, f64)], dims: &[(&str, usize)], seed: u64) {
    compare_program(name, &checked(name, overrides), dims, seed)
}

fn compare_program(name: &str, cp: &CheckedProgram, dims: &[(&str, usize)], seed: u64) {
    let cp = cp.clone();
    let tp = tensor::lower(&cp).unwrap_or_else(|e| panic!("{name}: {e}"));
    let dims: BTreeMap<&str, usize> = dims.iter().cloned().collect();
    let data = random_inputs(&cp, &dims, seed);
    let want = interp::run(
        &cp,
        &data,
        &Options {
            exact: false,
            seed,
            progress: None,
        },
    )
    .unwrap_or_else(|e| panic!("{name} seed {seed}: the interpreter failed: {e}"));
    let arrays = data
        .iter()
        .map(|(k, t)| (k.clone(), t.data.clone()))
        .collect();
    let got = tinterp::run(&tp, &arrays, seed)
        .unwrap_or_else(|e| panic!("{name} seed {seed}: the IR evaluator failed: {e}"));
    assert!(!want.outputs.is_empty());
    for o in &want.outputs {
        let g = got
            .get(&o.name)
            .unwrap_or_else(|| panic!("{name} seed {seed}: no output {}", o.name));
        assert_eq!(
            g.len(),
            o.values.len(),
            "{name} seed {seed}: output {} recorded a different number of times",
            o.name
        );
        assert!(!g.is_empty(), "{name}: output {} never recorded", o.name);
        for (k, (x, y)) in g.iter().zip(&o.values).enumerate() {
            assert_eq!(x.shape(), y.shape(), "{name} seed {seed}: {} #{k}", o.name);
            assert!(
                y.iter().all(|v| v.is_finite()),
                "{name} seed {seed}: non-finite reference"
            );
            for (i, (a, b)) in x.iter().zip(y.iter()).enumerate() {
                assert!(
                    close(*a, *b),
                    "{name} seed {seed}: output {} #{k} element {i}: IR {a} vs interpreter {b}",
                    o.name
                );
            }
        }
    }
}

const SEEDS: [u64; 3] = [1, 7, 2026];

#[test]
fn ir_evaluator_matches_the_interpreter_hetal_head() {
    // 10 rows in batches of 4: the last batch is partial
    for seed in SEEDS {
        compare(
            "hetal_head",
            &[("D", 6.0), ("B", 4.0), ("EPOCHS", 2.0)],
            &[("N", 10), ("T", 5)],
            seed,
        );
    }
}

#[test]
fn ir_evaluator_matches_the_interpreter_hetal_head_fast() {
    for seed in SEEDS {
        compare(
            "hetal_head_fast",
            &[("D", 6.0), ("B", 4.0), ("EPOCHS", 2.0)],
            &[("N", 10), ("T", 5)],
            seed,
        );
    }
}

#[test]
fn ir_evaluator_matches_the_interpreter_logreg() {
    for seed in SEEDS {
        compare(
            "logreg",
            &[("D", 5.0), ("B", 3.0), ("EPOCHS", 3.0)],
            &[("N", 11), ("T", 4)],
            seed,
        );
    }
}

#[test]
fn ir_evaluator_matches_the_interpreter_select_and_ranges() {
    for seed in SEEDS {
        compare("select_and_ranges", &[], &[("N", 6)], seed);
    }
}

/// Constructs the examples do not use: `if`, indexing, exact functions and reductions on
/// public values, `roll`, random initialisers, tuple-returning functions, batches in order,
/// outputs inside nested loops.
#[test]
fn ir_evaluator_matches_the_interpreter_on_other_constructs() {
    let src = "param K: int = 3;
input x: public f64[N, 4] in [-1, 1];
input s: secret f64[N, 4] in [-1, 1];
fn stats(v: f64[n, c]) -> (f64[c], f64[n]) {
    (mean(v, 0), sum(v, 1))
}
let y = if K > 2 { x * 2 } else { x };
let (m, r) = stats(y);
let e = exp(x) + tanh(x[:, 1:2]) + max(x) + softmax(x) + x[0];
let w = randn(5, 4) + uniform(9, -1, 1, 4);
let t = for i in 0..K carry (acc = s) {
    let u = for (a, b) in batches(x, s) size 2 carry (z = acc) {
        output inner = rowsum(b * a);
        roll(z, 1) * 0.5 + mean(b, 0)
    };
    output outer = u[1];
    u
};
output y = y;
output m = m + w;
output r = r;
output e = e;
output t = t;
";
    let c = types::check_source("constructs.bt", src);
    let diags = c.rendered_diagnostics();
    let cp = c.program.unwrap_or_else(|| panic!("{diags}"));
    for seed in SEEDS {
        compare_program("constructs", &cp, &[("N", 5)], seed);
    }
}

/// The comparison can fail: a lowering that dropped an instruction's effect is caught.
#[test]
fn ir_evaluator_comparison_detects_a_wrong_lowering() {
    let cp = checked("logreg", &[("D", 5.0), ("B", 3.0), ("EPOCHS", 2.0)]);
    let mut tp = tensor::lower(&cp).unwrap();
    // turn the first subtraction into an addition
    fn flip(r: &mut tensor::Region) -> bool {
        for inst in &mut r.insts {
            if let Op::Bin(op @ blindtune_compiler::syntax::ast::BinOp::Sub, ..) = &mut inst.op {
                *op = blindtune_compiler::syntax::ast::BinOp::Add;
                return true;
            }
            if let Op::Loop { body, .. } = &mut inst.op {
                if flip(body) {
                    return true;
                }
            }
        }
        false
    }
    assert!(flip(&mut tp.body));
    let dims: BTreeMap<&str, usize> = [("N", 7), ("T", 3)].into_iter().collect();
    let data = random_inputs(&cp, &dims, 3);
    let want = interp::run(&cp, &data, &Options::default()).unwrap();
    let arrays = data
        .iter()
        .map(|(k, t)| (k.clone(), t.data.clone()))
        .collect();
    let got = tinterp::run(&tp, &arrays, 0).unwrap();
    let w = &want.output("weights").unwrap().values[0];
    let g = &got["weights"][0];
    assert!(w.iter().zip(g.iter()).any(|(a, b)| !close(*a, *b)));
}

/// Every program `check` accepts lowers, or is refused with a message naming the construct.
#[test]
fn checked_programs_lower_or_are_refused_with_a_reason() {
    let files = common::bt_files("compiler/tests/warnings");
    let mut sources: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read_to_string(f).unwrap()))
        .collect();
    for (m, _) in blindtune_compiler::stdlib::MODULES {
        sources.push((format!("use std::{m}"), format!("use std::{m};\n")));
    }
    sources.push((
        "if".into(),
        "param K: int = 3;\ninput x: secret f64[N, 4] in [-1, 1];\nlet y = if K > 2 { x * 2 } else { x };\noutput o = y;\n".into(),
    ));
    for (name, text) in &sources {
        let c = types::check_source("t.bt", text);
        let Some(p) = c.program else { continue };
        match tensor::lower(&p) {
            Ok(tp) => tensor::verify(&tp).unwrap(),
            Err(tensor::LowerError::Unsupported { what, why, .. }) => {
                assert!(!what.is_empty() && !why.is_empty(), "{name}")
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

//! The plan format (`blindtune_runtime::plan::format`): JSON and binary carry the same value,
//! golden plans keep loading and re-serializing byte for byte, other versions are refused by
//! name, and damaged or inconsistent plans are refused with an error naming what is wrong
//! (the instruction's path for a semantic fault), never a panic.
//!
//! The tests live in the compiler crate because they need compiled plans; the golden files
//! are the runtime's (`runtime/tests/golden/`, beside the other serialized kinds). Bless (writes
//! only missing files, so a pinned layout stays pinned):
//! `BLINDTUNE_BLESS=1 cargo test -p blindtune-compiler --test plan_format`.
//! They are `blindtune compile examples/logreg.bt --param EPOCHS=1 --params n16-boot -o FILE`
//! for FILE = `plan_logreg_epochs1.json` and `plan_logreg_epochs1.bin`.

mod common;

use blindtune_compiler::pipeline::{compile, CompileOptions};
use blindtune_runtime::plan::{Inst, Op, Plan, PlanError, RegKind, FORMAT_VERSION};
use proptest::prelude::*;
use std::path::PathBuf;

const MAGIC: &[u8; 8] = b"BTPLAN\0\x01";

/// Compiles an example as `blindtune compile examples/NAME.bt --params n16-boot [--param ...]`
/// (parameters the program does not declare are left out).
fn compile_example(name: &str, params: &[(&str, f64)]) -> Plan {
    let path = common::example_path(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let params: Vec<(&str, f64)> = params
        .iter()
        .filter(|(k, _)| text.contains(&format!("param {k}:")))
        .copied()
        .collect();
    let overrides = params.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let c = blindtune_compiler::check_file(&path, overrides).unwrap();
    let diags = c.rendered_diagnostics();
    let program = c.program.unwrap_or_else(|| panic!("{name}: {diags}"));
    let opts = CompileOptions {
        params: Some("n16-boot".into()),
        source_name: format!("{name}.bt"),
        source_text: text,
        param_values: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    compile(&program, &opts)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .plan
}

fn logreg() -> Plan {
    compile_example("logreg", &[("EPOCHS", 1.0)])
}

#[test]
fn every_example_round_trips_through_json_and_binary() {
    for name in common::EXAMPLES {
        let plan = compile_example(name, &[]);
        let json = plan.to_json();
        let from_json = Plan::from_json(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(from_json, plan, "{name}: JSON changed the plan");
        assert_eq!(
            from_json.to_json(),
            json,
            "{name}: JSON re-serializes differently"
        );
        let bin = plan.to_binary();
        let from_bin = Plan::from_binary(&bin).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(from_bin, plan, "{name}: binary changed the plan");
        assert_eq!(
            from_bin.to_binary(),
            bin,
            "{name}: binary re-serializes differently"
        );
        // across forms: JSON → binary → JSON
        assert_eq!(
            Plan::from_binary(&from_json.to_binary()).unwrap().to_json(),
            json,
            "{name}"
        );
        eprintln!(
            "{name}: JSON {} bytes, binary {} bytes",
            json.len(),
            bin.len()
        );
    }
}

fn golden(name: &str) -> PathBuf {
    common::root().join("runtime/tests/golden").join(name)
}

const GOLDEN_JSON: &str = "plan_logreg_epochs1.json";
const GOLDEN_BIN: &str = "plan_logreg_epochs1.bin";

#[test]
fn golden_plans_load_and_reserialize_byte_for_byte() {
    if std::env::var_os("BLINDTUNE_BLESS").is_some() {
        let plan = logreg();
        for (file, bytes) in [
            (GOLDEN_JSON, plan.to_json().into_bytes()),
            (GOLDEN_BIN, plan.to_binary()),
        ] {
            if !golden(file).exists() {
                std::fs::write(golden(file), bytes).unwrap();
                eprintln!("blessed {file}");
            }
        }
    }
    let missing = |f: &str| {
        format!(
            "{f} missing: bless with BLINDTUNE_BLESS=1 cargo test -p blindtune-compiler --test plan_format"
        )
    };
    let json = std::fs::read_to_string(golden(GOLDEN_JSON))
        .unwrap_or_else(|_| panic!("{}", missing(GOLDEN_JSON)));
    let bin =
        std::fs::read(golden(GOLDEN_BIN)).unwrap_or_else(|_| panic!("{}", missing(GOLDEN_BIN)));
    let p = Plan::from_json(&json).unwrap_or_else(|e| panic!("{GOLDEN_JSON}: {e}"));
    assert_eq!(p.to_json(), json, "{GOLDEN_JSON} re-serializes differently");
    let q = Plan::from_binary(&bin).unwrap_or_else(|e| panic!("{GOLDEN_BIN}: {e}"));
    assert_eq!(q.to_binary(), bin, "{GOLDEN_BIN} re-serializes differently");
    assert_eq!(p, q, "the two golden files hold different plans");
    // `Plan::load` tells the forms apart by content
    assert_eq!(Plan::load(&golden(GOLDEN_JSON)).unwrap(), p);
    assert_eq!(Plan::load(&golden(GOLDEN_BIN)).unwrap(), p);
    // their meaning: logreg's inputs, one epoch around a batch loop over N in batches of 128
    assert_eq!(p.version, FORMAT_VERSION);
    assert_eq!(p.params, "n16-boot");
    assert_eq!(p.source.params.get("EPOCHS").map(String::as_str), Some("1"));
    assert_eq!((p.block.s0, p.block.s1), (128, 256));
    let names: Vec<&str> = p.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["test_x", "train_mean", "train_std", "train_x", "train_y"]
    );
    let epoch = p
        .body
        .iter()
        .find_map(|i| match &i.op {
            Op::Loop { trips, body, .. } => Some((trips, body)),
            _ => None,
        })
        .expect("the epoch loop");
    assert_eq!(*epoch.0, blindtune_runtime::plan::Trips::Fixed(1));
    assert!(epoch.1.iter().any(|i| matches!(
        &i.op,
        Op::Loop {
            trips: blindtune_runtime::plan::Trips::Batches { size: 128, .. },
            ..
        }
    )));
}

#[test]
fn another_version_is_refused_with_the_version_message() {
    let plan = logreg();
    let want = format!(
        "plan format version 2 is not supported by this build (it reads version {FORMAT_VERSION}); recompile the program with this blindtune"
    );
    let mut v: serde_json::Value = serde_json::from_str(&plan.to_json()).unwrap();
    v["version"] = 2.into();
    // a later version may change any field: the version is read first
    v["body"] = "something new".into();
    let e = Plan::from_json(&v.to_string()).unwrap_err();
    assert!(
        matches!(
            e,
            PlanError::Version {
                found: 2,
                supported: FORMAT_VERSION
            }
        ),
        "{e}"
    );
    assert_eq!(e.to_string(), want);
    // binary: the header's version, and the payload's
    let mut bin = plan.to_binary();
    bin[8..12].copy_from_slice(&2u32.to_le_bytes());
    assert_eq!(Plan::from_binary(&bin).unwrap_err().to_string(), want);
    let mut other = plan.clone();
    other.version = 2;
    assert_eq!(
        Plan::from_binary(&other.to_binary())
            .unwrap_err()
            .to_string(),
        want
    );
    // through `Plan::load`, the file is named too
    let dir = std::env::temp_dir().join(format!("bt-plan-format-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v2.bin");
    std::fs::write(&path, &bin).unwrap();
    let e = Plan::load(&path).unwrap_err().to_string();
    assert!(e.contains("v2.bin") && e.contains(&want), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_binaries_are_refused() {
    let bin = logreg().to_binary();
    let n = bin.len();
    for cut in [0, 7, 8, 19, 20, 21, n / 2, n - 33, n - 32, n - 1] {
        let e = Plan::from_binary(&bin[..cut]).unwrap_err();
        assert!(
            matches!(e, PlanError::NotAPlan(_) | PlanError::Malformed(_)),
            "truncated at {cut}: {e}"
        );
        if cut >= 20 {
            assert!(
                e.to_string().contains("the payload should be"),
                "truncated at {cut}: {e}"
            );
        }
    }
    let mut longer = bin.clone();
    longer.push(0);
    assert!(matches!(
        Plan::from_binary(&longer).unwrap_err(),
        PlanError::Malformed(_)
    ));
    // a flipped bit anywhere in the payload or the checksum
    for at in [20, 21, 20 + (n - 52) / 2, n - 33, n - 32, n - 1] {
        let mut b = bin.clone();
        b[at] ^= 0x10;
        let e = Plan::from_binary(&b).unwrap_err();
        assert!(matches!(e, PlanError::Checksum), "byte {at}: {e}");
        assert!(e.to_string().contains("checksum"), "{e}");
    }
    // in the header: magic, length
    let mut b = bin.clone();
    b[0] ^= 1;
    assert!(matches!(
        Plan::from_binary(&b).unwrap_err(),
        PlanError::NotAPlan(_)
    ));
    let mut b = bin.clone();
    b[12] ^= 1;
    assert!(matches!(
        Plan::from_binary(&b).unwrap_err(),
        PlanError::Malformed(_)
    ));
    let mut b = bin.clone();
    b[19] = 0xff; // an enormous length
    assert!(matches!(
        Plan::from_binary(&b).unwrap_err(),
        PlanError::Malformed(_)
    ));
    // not JSON, not a plan, a plan missing a field
    assert!(matches!(
        Plan::from_json("{").unwrap_err(),
        PlanError::NotAPlan(_)
    ));
    assert!(matches!(
        Plan::from_json(r#"{"format": "other", "version": 1}"#).unwrap_err(),
        PlanError::NotAPlan(_)
    ));
    let mut v: serde_json::Value = serde_json::from_str(&logreg().to_json()).unwrap();
    v.as_object_mut().unwrap().remove("regs");
    let e = Plan::from_json(&v.to_string()).unwrap_err();
    assert!(
        matches!(e, PlanError::Malformed(_)) && e.to_string().contains("regs"),
        "{e}"
    );
}

/// The first instruction satisfying `pred` (pre-order), with its path as the validator writes
/// it (`body[12].loop[0] mul`) and its index path.
fn find(
    insts: &[Inst],
    prefix: &str,
    pred: &dyn Fn(&Inst) -> bool,
) -> Option<(String, Vec<usize>)> {
    for (k, inst) in insts.iter().enumerate() {
        if pred(inst) {
            return Some((format!("{prefix}[{k}] {}", inst.op.mnemonic()), vec![k]));
        }
        if let Op::Loop { body, .. } = &inst.op {
            if let Some((p, mut idx)) = find(body, &format!("{prefix}[{k}].loop"), pred) {
                idx.insert(0, k);
                return Some((p, idx));
            }
        }
    }
    None
}

fn at_mut<'a>(insts: &'a mut [Inst], idx: &[usize]) -> &'a mut Inst {
    let inst = &mut insts[idx[0]];
    if idx.len() == 1 {
        return inst;
    }
    match &mut inst.op {
        Op::Loop { body, .. } => at_mut(body, &idx[1..]),
        _ => panic!("not a loop"),
    }
}

/// `plan` is refused in both forms with an error naming `path` and saying `words`.
fn refused(plan: &Plan, path: &str, words: &str) {
    for (form, r) in [
        ("JSON", Plan::from_json(&plan.to_json())),
        ("binary", Plan::from_binary(&plan.to_binary())),
    ] {
        let e = r.expect_err(form);
        assert!(matches!(e, PlanError::Invalid(_)), "{form}: {e}");
        let m = e.to_string();
        assert!(
            m.contains(&format!("{path}: ")) && m.contains(words),
            "{form}: expected `{path}: … {words} …`, got `{m}`"
        );
    }
    assert_eq!(
        plan.validate().unwrap_err().at,
        path,
        "the validation error's path"
    );
}

#[test]
fn a_register_read_before_its_definition_is_refused() {
    let mut plan = logreg();
    // move the first top-level instruction that reads a register to the very beginning
    let k = plan
        .body
        .iter()
        .position(|i| !i.op.operands().is_empty())
        .unwrap();
    let inst = plan.body.remove(k);
    let path = format!("body[0] {}", inst.op.mnemonic());
    plan.body.insert(0, inst);
    refused(&plan, &path, "is read before it is defined");
}

#[test]
fn a_wrong_level_on_a_product_is_refused() {
    let mut plan = logreg();
    let (path, idx) = find(&plan.body, "body", &|i| matches!(i.op, Op::Mul { .. })).unwrap();
    let r = at_mut(&mut plan.body, &idx).results[0] as usize;
    let l = plan.regs[r].level.unwrap();
    plan.regs[r].level = Some(if l > 0 { l - 1 } else { l + 1 });
    refused(&plan, &path, "should be at level");
}

#[test]
fn a_back_edge_at_another_level_than_the_header_is_refused() {
    let mut plan = logreg();
    let regs = plan.regs.clone();
    // a loop carrying a ciphertext, and a ciphertext of its body with the same grid at
    // another level to yield instead
    let pick = |i: &Inst| -> Option<(usize, u32)> {
        let Op::Loop { args, body, .. } = &i.op else {
            return None;
        };
        args[1..].iter().enumerate().find_map(|(k, &a)| {
            let ai = &regs[a as usize];
            if ai.kind != RegKind::Cipher {
                return None;
            }
            body.iter().flat_map(|b| &b.results).find_map(|&r| {
                let ri = &regs[r as usize];
                (ri.kind == RegKind::Cipher
                    && ri.rows == ai.rows
                    && ri.cols == ai.cols
                    && ri.level != ai.level)
                    .then_some((k, r))
            })
        })
    };
    let (path, idx) = find(&plan.body, "body", &|i| pick(i).is_some()).unwrap();
    let inst = at_mut(&mut plan.body, &idx);
    let (k, r) = pick(inst).unwrap();
    let Op::Loop { yields, .. } = &mut inst.op else {
        unreachable!()
    };
    yields[k] = r;
    refused(&plan, &path, "the back edge");
}

#[test]
fn an_unknown_input_is_refused() {
    let mut plan = logreg();
    let (path, idx) = find(&plan.body, "body", &|i| {
        matches!(i.op, Op::Input { .. } | Op::BatchInput { .. })
    })
    .unwrap();
    match &mut at_mut(&mut plan.body, &idx).op {
        Op::Input { name } | Op::BatchInput { name, .. } => *name = "no_such_input".into(),
        _ => unreachable!(),
    }
    refused(&plan, &path, "no input named `no_such_input`");
}

#[test]
fn a_rotation_of_a_plain_register_is_refused() {
    let mut plan = logreg();
    let (path, idx) = find(&plan.body, "body", &|i| matches!(i.op, Op::Rotate { .. })).unwrap();
    // a plain constant of the top level defined before the rotation's loop
    let plain = plan.body[..idx[0]]
        .iter()
        .flat_map(|i| &i.results)
        .copied()
        .find(|&r| plan.regs[r as usize].kind == RegKind::Plain)
        .expect("a plain register before the rotation");
    match &mut at_mut(&mut plan.body, &idx).op {
        Op::Rotate { a, .. } => *a = plain,
        _ => unreachable!(),
    }
    refused(&plan, &path, "is Plain, expected one of [Cipher]");
}

/// Binary payloads: strip and re-add the frame (header, checksum), so that mutations reach
/// the decoder and the validator instead of the checksum.
fn payload(bin: &[u8]) -> &[u8] {
    &bin[20..bin.len() - 32]
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(blake3::hash(payload).as_bytes());
    out
}

#[test]
fn deeply_nested_loops_are_refused_not_overflowing_the_stack() {
    // the payload of a plan whose body is one instruction X, and of one whose body is a loop
    // around X: the difference is a loop's head and tail, repeated to nest loops deeply
    let mut plan = logreg();
    let marker = 123456.789f64;
    let x = Inst {
        results: vec![],
        op: Op::Const(marker),
    };
    plan.body = vec![x.clone()];
    let flat = payload(&plan.to_binary()).to_vec();
    plan.body = vec![Inst {
        results: vec![],
        op: Op::Loop {
            trips: blindtune_runtime::plan::Trips::Fixed(1),
            args: vec![0],
            inits: vec![],
            body: vec![x],
            yields: vec![],
        },
    }];
    let wrapped = payload(&plan.to_binary()).to_vec();
    let pos = |p: &[u8]| {
        p.windows(8)
            .position(|w| w == marker.to_le_bytes())
            .unwrap()
            + 8
    };
    let (end0, end1) = (pos(&flat), pos(&wrapped));
    let x_len = 10; // results (empty), the variant, the f64
    let (start0, start1) = (end0 - x_len, end1 - x_len);
    let head = &wrapped[start0..start1];
    let tail = &wrapped[end1..end1 + (wrapped.len() - end1) - (flat.len() - end0)];
    assert_eq!(&flat[..start0], &wrapped[..start0]);
    for depth in [2usize, 200, 200_000] {
        let mut p = flat[..start0].to_vec();
        for _ in 0..depth {
            p.extend_from_slice(head);
        }
        p.extend_from_slice(&flat[start0..end0]);
        for _ in 0..depth {
            p.extend_from_slice(tail);
        }
        p.extend_from_slice(&flat[end0..]);
        // on a thread with a small stack: a decoder that recurses per loop overflows it
        let bytes = frame(&p);
        let r = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                Plan::from_binary(&bytes)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .unwrap()
            .join()
            .expect("no panic");
        eprintln!("{depth} nested loops: {r:?}");
        let e = r.expect_err("not a valid plan");
        if depth > blindtune_runtime::plan::ops::MAX_LOOP_DEPTH {
            assert!(e.contains("loops nested deeper than"), "{depth}: {e}");
        }
    }
    // JSON too: the body of a real plan replaced by loops nested 100 000 deep (as text: a
    // nested `serde_json::Value` that deep could not even be dropped)
    let json = logreg().to_json();
    let (before, after) = json.split_once("\n  \"body\": [").unwrap();
    let after = &after[after.find("\n  ],\n  \"estimate\"").unwrap() + 4..];
    let head = r#"{"results": [], "op": {"Loop": {"trips": {"Fixed": 1}, "args": [0], "inits": [], "body": ["#;
    let tail = r#"], "yields": []}}}"#;
    let depth = 100_000;
    let mut text = String::with_capacity(depth * (head.len() + tail.len()) + json.len());
    text += before;
    text += "\n  \"body\": [";
    for _ in 0..depth {
        text += head;
    }
    text += r#"{"results": [], "op": {"Const": 1.0}}"#;
    for _ in 0..depth {
        text += tail;
    }
    text += "]";
    text += after;
    let r = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            Plan::from_json(&text)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .unwrap()
        .join()
        .expect("no panic");
    eprintln!("JSON, {depth} nested loops: {r:?}");
    let e = r.expect_err("not a valid plan");
    assert!(e.contains("recursion limit exceeded"), "{e}");
}

/// Every node of a JSON tree, as JSON pointers (pre-order).
fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        serde_json::Value::Array(a) => {
            for (k, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// One mutation of `v` at the node `pick` (modulo the node count): `how` chooses a new number,
/// string, null, boolean, a removed key or element, a duplicated element or an emptied
/// container.
fn mutate(v: &mut serde_json::Value, pick: usize, how: u8, n: i64) {
    let mut all = Vec::new();
    pointers(v, String::new(), &mut all);
    let ptr = all[pick % all.len()].clone();
    let (parent, last) = match ptr.rsplit_once('/') {
        Some((p, l)) => (p.to_string(), l.to_string()),
        None => (String::new(), String::new()),
    };
    match how % 8 {
        0 => *v.pointer_mut(&ptr).unwrap() = n.into(),
        1 => *v.pointer_mut(&ptr).unwrap() = (n as f64 / 7.0).into(),
        2 => *v.pointer_mut(&ptr).unwrap() = format!("x{n}").into(),
        3 => *v.pointer_mut(&ptr).unwrap() = serde_json::Value::Null,
        4 => *v.pointer_mut(&ptr).unwrap() = (n % 2 == 0).into(),
        5 => match v.pointer_mut(&parent) {
            Some(serde_json::Value::Object(m)) => {
                m.remove(&last.replace("~1", "/").replace("~0", "~"));
            }
            Some(serde_json::Value::Array(a)) => {
                if let Ok(k) = last.parse::<usize>() {
                    a.remove(k);
                }
            }
            _ => {}
        },
        6 => {
            if let Some(serde_json::Value::Array(a)) = v.pointer_mut(&parent) {
                if let Ok(k) = last.parse::<usize>() {
                    let x = a[k].clone();
                    a.insert(k, x);
                }
            }
        }
        _ => match v.pointer_mut(&ptr) {
            Some(serde_json::Value::Array(a)) => a.clear(),
            Some(serde_json::Value::Object(m)) => m.clear(),
            Some(x) => *x = (n.wrapping_mul(1 << 40)).into(),
            None => {}
        },
    }
}

fn small_plan() -> &'static Plan {
    static PLAN: std::sync::OnceLock<Plan> = std::sync::OnceLock::new();
    PLAN.get_or_init(logreg)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), framed in any::<bool>()) {
        let bytes = if framed { frame(&bytes) } else { bytes };
        let _ = Plan::from_binary(&bytes);
        let _ = Plan::from_json(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_binary_payloads_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let bin = small_plan().to_binary();
        let mut p = payload(&bin).to_vec();
        for (at, x) in flips {
            let k = at.index(p.len());
            p[k] = x;
        }
        if truncate {
            p.truncate(cut.index(p.len()));
        }
        if let Ok(plan) = Plan::from_binary(&frame(&p)) {
            // whatever loads is valid and re-serializes to what it read
            prop_assert!(plan.validate().is_ok());
        }
    }

    #[test]
    fn mutated_json_plans_never_panic(
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<i64>()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut v: serde_json::Value = serde_json::from_str(&small_plan().to_json()).unwrap();
        for (pick, how, n) in edits {
            mutate(&mut v, pick, how, n);
        }
        let mut text = v.to_string();
        if truncate {
            let mut k = cut.index(text.len());
            while !text.is_char_boundary(k) {
                k -= 1;
            }
            text.truncate(k);
        }
        if let Ok(plan) = Plan::from_json(&text) {
            prop_assert!(plan.validate().is_ok());
            prop_assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
        }
    }
}

/// HETAL's 1024-row batch: its carried weights are six blocks, packed through `split_blocks`
/// and `join_blocks`.
fn large_batch() -> Plan {
    compile_example("hetal_head_fast", &[("EPOCHS", 1.0), ("B", 1024.0)])
}

#[test]
fn a_split_into_the_wrong_number_of_blocks_is_refused() {
    let mut plan = large_batch();
    let (path, idx) = find(&plan.body, "body", &|i| {
        matches!(i.op, Op::SplitBlocks { .. })
    })
    .expect("the large-batch plan splits its weights");
    at_mut(&mut plan.body, &idx).results.pop();
    refused(&plan, &path, "results");
}

#[test]
fn a_join_of_parts_at_another_level_is_refused() {
    let mut plan = large_batch();
    let (path, idx) = find(&plan.body, "body", &|i| {
        matches!(i.op, Op::JoinBlocks { .. })
    })
    .expect("the large-batch plan joins its weights");
    let Op::JoinBlocks { parts } = &at_mut(&mut plan.body, &idx).op else {
        unreachable!()
    };
    let p = parts[1] as usize;
    let l = plan.regs[p].level.unwrap();
    plan.regs[p].level = Some(if l > 0 { l - 1 } else { l + 1 });
    // the part's own definition now disagrees first, or the join does: either names it
    let e = plan.validate().unwrap_err();
    assert!(e.to_string().contains("should be at level"), "{e}");
    // a join whose parts are all right but whose result grid is not theirs
    let mut plan = large_batch();
    let inst = at_mut(&mut plan.body, &idx);
    let r = inst.results[0] as usize;
    plan.regs[r].cols += 1;
    refused(&plan, &path, "join_blocks of");
}

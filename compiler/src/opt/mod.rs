//! The optimizer: equality saturation (`egg`) over the CKKS stage, one straight-line block at
//! a time; and, beside it, the packing of loop-carried values into one ciphertext ([`pack`],
//! HALO's technique, so that one bootstrap refreshes a loop's whole state).
//!
//! [`optimize`] walks the program's blocks (the top level, then each loop body, recursively;
//! loops stay rolled). In each block the ciphertext operations go into an e-graph
//! ([`convert`]); boundaries stay as written: inputs, batch inputs, outputs, loops (their
//! carried registers are the body's leaves and yields its roots) and public arithmetic. Rules
//! ([`rules`]) rewrite rotations, conjugations, constant products and sums and reassociate for
//! depth; the analysis ([`analysis`]) knows each class's kind, grid, minimum depth and
//! compile-time value ([`konst`]); extraction ([`extract`]) picks the cheapest DAG by the
//! runtime's measured costs plus a price per level of critical depth ([`cost`]), and the block
//! is written back with several rotations of one value hoisted.
//!
//! Invariants: every register read outside a block (by a boundary instruction, a nested body or
//! the yields) keeps its value; a block's result is never costlier than the block as written by
//! the optimizer's own measure (the original is always a candidate), and a block that cannot be
//! written back validly (or runs out of time) is kept as written; the time budget bounds the
//! whole call.

pub mod analysis;
pub mod convert;
pub mod cost;
pub mod extract;
pub mod konst;
pub mod lang;
pub mod level_extract;
pub mod pack;
pub mod rules;

use crate::ir::ckks::CkksProgram;
use blindtune_runtime::plan::{Inst, Op, Reg};
use convert::{Counts, Ctx};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How hard to try.
#[derive(Clone, Debug)]
pub struct OptOptions {
    /// wall-clock bound for the whole call (saturation and extraction of every block)
    pub time_budget: Duration,
    /// e-nodes per block e-graph
    pub node_limit: usize,
    /// saturation iterations per block
    pub iter_limit: usize,
    /// prices for extraction
    pub cost: cost::CostParams,
    /// level-aware extraction against an enclosing schedule ([`level_extract`]): each block's
    /// terms, level drops and bootstrap sites are chosen together, and the bootstraps chosen
    /// come back as [`OptReport::boot_hints`]; `None`: extraction by seconds and priced depth
    pub levels: Option<LevelInputs>,
}

/// The enclosing schedule a level-aware extraction works against (HALO's order: the skeleton
/// first, so every block knows the levels its leaves arrive at and its roots are needed at).
#[derive(Clone, Debug)]
pub struct LevelInputs {
    /// the level of fresh values and bootstrap outputs
    pub top: usize,
    /// per register of the program: the level it is available at (after its bootstrap)
    pub level: Vec<Option<usize>>,
    /// per register: the level its uses need it at
    pub need: Vec<Option<usize>>,
    /// seconds of one bootstrap of one block
    pub boot_s: f64,
    /// magnitude assumed for values whose range is unknown (the scale factor before a bootstrap)
    pub default_bound: f64,
}

/// What the level-aware extraction carries from block to block.
struct LevelState {
    inputs: LevelInputs,
    level: HashMap<Reg, usize>,
    need: HashMap<Reg, usize>,
    prices: Vec<cost::Prices>,
    hints: std::collections::BTreeSet<Reg>,
}

impl Default for OptOptions {
    fn default() -> Self {
        OptOptions {
            time_budget: Duration::from_millis(900),
            node_limit: 20_000,
            iter_limit: 8,
            cost: cost::CostParams::default(),
            levels: None,
        }
    }
}

/// What happened to one block.
#[derive(Clone, Debug)]
pub struct BlockReport {
    /// `body`, `body.loop[17]`, …
    pub path: String,
    pub before: Counts,
    pub after: Counts,
    pub egraph_nodes: usize,
    pub egraph_classes: usize,
    pub iterations: usize,
    /// why saturation stopped (egg's reason), or why the block was kept
    pub stop: String,
    /// the extraction that won: `original`, `greedy-dag`, `greedy-dag-depth`
    pub chosen: String,
    /// the objective (estimated seconds + priced depth) before and after
    pub objective: (f64, f64),
}

/// The optimizer's account: counts per block and for the whole program (static counts: a loop
/// body is counted once).
#[derive(Clone, Debug, Default)]
pub struct OptReport {
    pub before: Counts,
    pub after: Counts,
    pub blocks: Vec<BlockReport>,
    pub elapsed: Duration,
    /// registers the level-aware extraction bootstraps (seeds for the placement pass)
    pub boot_hints: std::collections::BTreeSet<Reg>,
}

impl std::fmt::Display for OptReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<22} {:>13} {:>11} {:>11} {:>11} {:>9} {:>11} {:>8}  e-graph",
            "block", "rotations", "keyswitch", "ct mults", "pt mults", "depth", "rot amts", "insts"
        )?;
        let row =
            |f: &mut std::fmt::Formatter<'_>, name: &str, b: &Counts, a: &Counts, tail: &str| {
                writeln!(
                    f,
                    "{:<22} {:>13} {:>11} {:>11} {:>11} {:>9} {:>11} {:>8}  {}",
                    name,
                    format!("{}→{}", b.rotations, a.rotations),
                    format!("{}→{}", b.key_switches, a.key_switches),
                    format!("{}→{}", b.ct_mults, a.ct_mults),
                    format!("{}→{}", b.plain_mults, a.plain_mults),
                    format!("{}→{}", b.depth, a.depth),
                    format!("{}→{}", b.rotation_amounts.len(), a.rotation_amounts.len()),
                    format!("{}→{}", b.instructions, a.instructions),
                    tail
                )
            };
        for b in &self.blocks {
            let tail = format!(
                "{} nodes, {} classes, {} iters, {}; {}",
                b.egraph_nodes, b.egraph_classes, b.iterations, b.stop, b.chosen
            );
            row(f, &b.path, &b.before, &b.after, &tail)?;
        }
        row(
            f,
            "program",
            &self.before,
            &self.after,
            &format!("{:.1} ms", self.elapsed.as_secs_f64() * 1e3),
        )
    }
}

/// A program the optimizer refuses.
#[derive(Debug, thiserror::Error)]
pub enum OptError {
    #[error("the CKKS program reads register %{reg} at {at} before defining it")]
    Undefined { reg: Reg, at: String },
    #[error("the CKKS program defines register %{reg} twice (at {at})")]
    Redefined { reg: Reg, at: String },
}

/// Optimizes every straight-line block of `prog`.
pub fn optimize(
    prog: &CkksProgram,
    opts: &OptOptions,
) -> Result<(CkksProgram, OptReport), OptError> {
    let start = Instant::now();
    let deadline = start + opts.time_budget;
    check_ssa(prog)?;
    let mut ctx = Ctx {
        block: prog.block,
        regs: prog.regs.clone(),
        facts: prog.facts.clone(),
        konst: HashMap::new(),
        const_regs: HashMap::new(),
        hoisted: Vec::new(),
    };
    // compile-time values of public registers, everywhere
    fn scan(insts: &[Inst], ctx: &mut Ctx) {
        for i in insts {
            if let [r] = i.results.as_slice() {
                if let Some(k) = convert::fold_public(&i.op, &ctx.konst) {
                    ctx.konst.insert(*r, k);
                }
            }
            if let Op::Loop { body, .. } = &i.op {
                scan(body, ctx);
            }
        }
    }
    scan(&prog.body, &mut ctx);
    // the leading constants of the program are visible everywhere: reuse them
    let lead = prog
        .body
        .iter()
        .take_while(|i| matches!(i.op, Op::Const(_) | Op::Mask(_)))
        .count();
    for i in &prog.body[..lead] {
        let r = i.results[0];
        if let Some(k) = ctx.konst.get(&r) {
            ctx.const_regs.entry(k.key()).or_insert(r);
        }
    }
    let rules = rules::all();
    let prices = cost::Prices::new(&opts.cost, assumed_rows(prog));
    let mut report = OptReport::default();
    let mut yields = Vec::new();
    let levels = opts.levels.as_ref().map(|li| {
        let mut level = HashMap::new();
        let mut need = HashMap::new();
        for (r, l) in li.level.iter().enumerate() {
            if let Some(l) = l {
                level.insert(r as Reg, *l);
            }
        }
        for (r, l) in li.need.iter().enumerate() {
            if let Some(l) = l {
                need.insert(r as Reg, *l);
            }
        }
        let rows = assumed_rows(prog);
        std::cell::RefCell::new(LevelState {
            inputs: li.clone(),
            level,
            need,
            prices: (0..=li.top)
                .map(|l| {
                    cost::Prices::new(
                        &cost::CostParams {
                            nominal_level: l,
                            ..opts.cost.clone()
                        },
                        rows.clone(),
                    )
                })
                .collect(),
            hints: Default::default(),
        })
    });
    let body = block(
        &mut ctx,
        prog.body.clone(),
        &mut yields,
        "body",
        &Env {
            opts,
            rules: &rules,
            prices: &prices,
            deadline,
            levels: levels.as_ref(),
        },
        &mut report,
    );
    if let Some(l) = levels {
        report.boot_hints = l.into_inner().hints;
    }
    let mut out_body: Vec<Inst> = body[..lead].to_vec();
    out_body.append(&mut ctx.hoisted);
    out_body.extend(body[lead..].iter().cloned());
    let out = CkksProgram {
        slots: prog.slots,
        block: prog.block,
        regs: ctx.regs,
        facts: ctx.facts,
        body: out_body,
        inputs: prog.inputs.clone(),
        outputs: prog.outputs.clone(),
        assumed_dims: prog.assumed_dims.clone(),
    };
    for b in &report.blocks {
        report.before.add(&b.before);
        report.after.add(&b.after);
    }
    report.elapsed = start.elapsed();
    Ok((out, report))
}

struct Env<'a> {
    opts: &'a OptOptions,
    rules: &'a [rules::Rw],
    prices: &'a cost::Prices,
    deadline: Instant,
    levels: Option<&'a std::cell::RefCell<LevelState>>,
}

fn assumed_rows(prog: &CkksProgram) -> std::collections::BTreeMap<String, usize> {
    prog.assumed_dims
        .iter()
        .map(|(k, v)| (k.clone(), v.div_ceil(prog.block.s0).max(1)))
        .collect()
}

/// Optimizes one block, then the bodies of its loops.
fn block(
    ctx: &mut Ctx,
    insts: Vec<Inst>,
    yields: &mut [Reg],
    path: &str,
    env: &Env,
    report: &mut OptReport,
) -> Vec<Inst> {
    let (mut out, subst) = one_block(ctx, insts, yields, path, env, report);
    for y in yields.iter_mut() {
        if let Some(&n) = subst.get(y) {
            *y = n;
        }
    }
    for (k, inst) in out.iter_mut().enumerate() {
        if let Op::Loop { body, yields, .. } = &mut inst.op {
            let b = std::mem::take(body);
            *body = block(ctx, b, yields, &format!("{path}.loop[{k}]"), env, report);
        }
    }
    out
}

fn one_block(
    ctx: &mut Ctx,
    insts: Vec<Inst>,
    yields: &[Reg],
    path: &str,
    env: &Env,
    report: &mut OptReport,
) -> (Vec<Inst>, HashMap<Reg, Reg>) {
    let before = Counts::of_block(&insts);
    let mut rep = BlockReport {
        path: path.to_string(),
        before: before.clone(),
        after: before.clone(),
        egraph_nodes: 0,
        egraph_classes: 0,
        iterations: 0,
        stop: String::new(),
        chosen: "original".into(),
        objective: (0.0, 0.0),
    };
    let keep = |rep: BlockReport, report: &mut OptReport, why: &str| {
        let mut rep = rep;
        rep.stop = why.to_string();
        report.blocks.push(rep);
    };
    if !insts.iter().any(|i| convert::is_egraph_op(&i.op)) {
        keep(rep, report, "no ciphertext operations");
        return (insts, HashMap::new());
    }
    let now = Instant::now();
    if now >= env.deadline {
        keep(rep, report, "time budget spent");
        return (insts, HashMap::new());
    }
    let (egraph, loaded) = convert::load(ctx, &insts, yields);
    // saturation gets half of this block's share of the remaining time
    let blocks_left = 1 + count_loops(&insts);
    let share = (env.deadline - now) / (blocks_left as u32);
    let runner = egg::Runner::default()
        .with_egraph(egraph)
        .with_iter_limit(env.opts.iter_limit)
        .with_node_limit(env.opts.node_limit)
        .with_time_limit(share / 2)
        .run(env.rules);
    rep.egraph_nodes = runner.egraph.total_number_of_nodes();
    rep.egraph_classes = runner.egraph.number_of_classes();
    rep.iterations = runner.iterations.len();
    rep.stop = format!("{:?}", runner.stop_reason.clone().expect("a stop reason"));
    let egraph = runner.egraph;
    let roots: Vec<egg::Id> = loaded.roots.iter().map(|r| loaded.class_of[r]).collect();
    let extract_deadline = (now + share).min(env.deadline);
    let ex = extract::Extractor::new(&egraph, env.prices, &roots, extract_deadline);
    // the block as written: each class by its first definition (a later equal register, say
    // `mul_int(x, 1)`, would select a node that reads its own class)
    let mut first = extract::Choice::new();
    for (id, n) in &loaded.original {
        first.entry(egraph.find(*id)).or_insert_with(|| n.clone());
    }
    let original = ex.canonical(&first);
    let leveled = env
        .levels
        .and_then(|ls| level_candidate(ctx, &egraph, &loaded, &ls.borrow(), extract_deadline))
        .and_then(|(sol, cut_src)| ex.evaluate(&sol.choice).map(|p| (sol, cut_src, p)));
    let orig_priced = ex.evaluate(&original);
    let (name, choice, best, boots, orig) = match (leveled, orig_priced) {
        (Some((sol, cut_src, p)), Some(orig)) => {
            tracing::debug!(
                block = path,
                boots = sol.boots.len(),
                boot_s = sol.boot_s,
                path_s = sol.path_s,
                passes = sol.passes,
                "level-aware extraction"
            );
            ("level-dp", sol.choice, p, Some((sol.boots, cut_src)), orig)
        }
        _ => {
            let mut candidates: Vec<(&str, extract::Choice)> = vec![("original", original)];
            if let Some(c) = ex.greedy_dag(0.0) {
                candidates.push(("greedy-dag", c));
            }
            if let Some(c) = ex.greedy_dag(env.prices.level) {
                candidates.push(("greedy-dag-depth", c));
            }
            let mut priced: Vec<(&str, extract::Choice, extract::Priced)> = candidates
                .into_iter()
                .filter_map(|(n, c)| ex.evaluate(&c).map(|p| (n, c, p)))
                .collect();
            let Some(orig) = priced
                .iter()
                .find(|p| p.0 == "original")
                .map(|p| p.2.clone())
            else {
                keep(rep, report, "the block as written does not price (kept)");
                return (insts, HashMap::new());
            };
            priced.sort_by(|a, b| a.2.objective.total_cmp(&b.2.objective));
            let (mut name, mut choice, mut best) = priced.remove(0);
            if !priced.is_empty() {
                let alts: Vec<&extract::Choice> = priced.iter().map(|p| &p.1).collect();
                let (refined, p) = ex.refine(&choice, &alts);
                if p.objective < best.objective {
                    choice = refined;
                    best = p;
                    name = match name {
                        "greedy-dag-depth" => "greedy-dag-depth+refined",
                        "greedy-dag" => "greedy-dag+refined",
                        _ => "original+refined",
                    };
                }
            }
            (name, choice, best, None, orig)
        }
    };
    rep.objective = (orig.objective, best.objective);
    let regs_before = ctx.regs.len();
    let facts_before = ctx.facts.len();
    let hoisted_before = ctx.hoisted.len();
    let consts_before = ctx.const_regs.clone();
    match convert::emit(ctx, insts.clone(), &loaded, &ex, &choice) {
        Ok(convert::Emitted {
            insts: out,
            subst,
            reg_of_class,
        }) => {
            rep.after = Counts::of_block(&out);
            rep.chosen = name.to_string();
            report.blocks.push(rep);
            if let Some(ls) = env.levels {
                let mut ls = ls.borrow_mut();
                for (&r, &got) in &subst {
                    if let Some(&l) = ls.level.get(&r) {
                        ls.level.insert(got, l);
                    }
                    if let Some(&l) = ls.need.get(&r) {
                        ls.need.insert(got, l);
                    }
                }
                for (b, src) in boots
                    .iter()
                    .flat_map(|(bs, cut_src)| bs.iter().map(move |b| (b, cut_src[b])))
                {
                    let Some(&r) = reg_of_class.get(&egraph.find(*b)) else {
                        continue;
                    };
                    // the class's value is the tensor's: its facts hold for the register
                    if !ctx.facts[r as usize].bootstrappable() {
                        ctx.facts[r as usize] = ctx.facts[src as usize].clone();
                    }
                    ls.hints.insert(r);
                }
            }
            (out, subst)
        }
        Err(e) => {
            ctx.regs.truncate(regs_before);
            ctx.facts.truncate(facts_before);
            ctx.hoisted.truncate(hoisted_before);
            ctx.const_regs = consts_before;
            let why = format!("kept as written: {}", e.0);
            keep(rep, report, &why);
            (insts, HashMap::new())
        }
    }
}

/// The level-aware extraction of one block against the enclosing schedule: the selection, its
/// bootstraps, and for each cut class the tensor register whose facts it carries.
fn level_candidate(
    ctx: &Ctx,
    egraph: &extract::Graph,
    loaded: &convert::Loaded,
    ls: &LevelState,
    deadline: Instant,
) -> Option<(level_extract::LevelSolution, HashMap<egg::Id, Reg>)> {
    let top = ls.inputs.top;
    let mut leaf_level = HashMap::new();
    for (sym, info) in &egraph.analysis.leaves {
        if info.kind != analysis::Kind::Cipher {
            continue;
        }
        let Some(r) = lang::reg_of(*sym) else {
            continue;
        };
        if let Some(id) = egraph.lookup(lang::Ckks::Sym(*sym)) {
            let l = ls.level.get(&r).copied().unwrap_or(top).min(top);
            leaf_level.insert(egraph.find(id), l);
        }
    }
    let roots: Vec<(egg::Id, usize)> = loaded
        .roots
        .iter()
        .map(|r| {
            let need = ls.need.get(r).copied().unwrap_or(0).min(top);
            (egraph.find(loaded.class_of[r]), need)
        })
        .collect();
    let mut cut = HashMap::new();
    let mut cut_src = HashMap::new();
    for &r in &loaded.defined {
        let f = &ctx.facts[r as usize];
        if ctx.regs[r as usize].kind != blindtune_runtime::plan::RegKind::Cipher
            || !f.bootstrappable()
        {
            continue;
        }
        let c = egraph.find(loaded.class_of[&r]);
        // the scale factor costs a level unless it folds into a polynomial or plaintext product
        // (as `sched::levels::Flat::pre_need`)
        let factor = f.bootstrap_factor(ls.inputs.default_bound);
        let folds = egraph[c]
            .nodes
            .iter()
            .any(|n| matches!(n, lang::Ckks::Poly(_) | lang::Ckks::MulPlain(_)));
        let pre = usize::from(factor > 1.0 && !folds);
        cut.entry(c).or_insert(pre);
        cut_src.entry(c).or_insert(r);
    }
    let problem = level_extract::LevelProblem {
        egraph,
        top,
        prices: &ls.prices,
        boot_s: ls.inputs.boot_s,
        leaf_level,
        roots,
        cut,
        deadline,
    };
    problem.solve().map(|s| (s, cut_src))
}

fn count_loops(insts: &[Inst]) -> usize {
    insts
        .iter()
        .map(|i| match &i.op {
            Op::Loop { body, .. } => 1 + count_loops(body),
            _ => 0,
        })
        .sum()
}

/// Every register defined once, before it is read (nested bodies see enclosing definitions).
fn check_ssa(prog: &CkksProgram) -> Result<(), OptError> {
    fn walk(insts: &[Inst], defined: &mut HashSet<Reg>, path: &str) -> Result<(), OptError> {
        for (k, i) in insts.iter().enumerate() {
            let at = format!("{path}[{k}] {}", i.op.mnemonic());
            for r in i.op.operands() {
                if !defined.contains(&r) {
                    return Err(OptError::Undefined { reg: r, at });
                }
            }
            if let Op::Loop {
                args, body, yields, ..
            } = &i.op
            {
                for &a in args {
                    if !defined.insert(a) {
                        return Err(OptError::Redefined { reg: a, at });
                    }
                }
                walk(body, defined, &format!("{path}[{k}].loop"))?;
                for &y in yields {
                    if !defined.contains(&y) {
                        return Err(OptError::Undefined { reg: y, at });
                    }
                }
            }
            for &r in &i.results {
                if !defined.insert(r) {
                    return Err(OptError::Redefined { reg: r, at });
                }
            }
        }
        Ok(())
    }
    walk(&prog.body, &mut HashSet::new(), "body")
}

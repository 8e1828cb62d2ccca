//! `Plan::validate`: every register defined once before use, of the kind its instruction
//! needs, at the level the instruction produces; grids that broadcast; loops whose carried
//! registers keep their kind, grid and level around the back edge. An error names the
//! instruction by its path (`body[12] mul`, `body[5].loop[3] rotate`).

use super::ops::{GridDim, Inst, Op, PolySpec, Reg, RegKind};
use super::Plan;
use crate::circuits::polynomial::{ChebyshevSeries, PolynomialEvaluator, PowerSeries};

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{at}: {message}")]
pub struct ValidationError {
    /// the instruction's path
    pub at: String,
    pub message: String,
}

/// The level a polynomial costs under the runtime's evaluator.
pub fn poly_depth(poly: &PolySpec) -> usize {
    match poly {
        PolySpec::Chebyshev { coeffs, a, b } => {
            PolynomialEvaluator::depth_chebyshev(&ChebyshevSeries::new(coeffs.clone(), *a, *b))
        }
        PolySpec::Power { coeffs } => {
            PolynomialEvaluator::depth_power(&PowerSeries::new(coeffs.clone()))
        }
    }
}

/// A loop's carried register keeps its kind, level and grid around the back edge.
fn same_register_type(a: &super::RegInfo, b: &super::RegInfo) -> bool {
    a.kind == b.kind && a.level == b.level && a.rows == b.rows && a.cols == b.cols
}

struct Checker<'p> {
    plan: &'p Plan,
    defined: Vec<bool>,
}

impl Plan {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let top = |m: String| ValidationError {
            at: "plan".into(),
            message: m,
        };
        if self.block.s0 == 0 || self.block.s1 == 0 || !self.block.slots().is_power_of_two() {
            return Err(top(format!(
                "block {}×{} is not a power-of-two slot count",
                self.block.s0, self.block.s1
            )));
        }
        let mut names = std::collections::BTreeSet::new();
        for i in &self.inputs {
            if !names.insert(&i.name) {
                return Err(top(format!("input `{}` is declared twice", i.name)));
            }
            if i.secret != i.level.is_some() {
                return Err(top(format!(
                    "input `{}`: a secret input needs a level and a public one none",
                    i.name
                )));
            }
            if let Some(l) = i.level {
                if l > self.max_level {
                    return Err(top(format!(
                        "input `{}` at level {l} above the plan's maximum {}",
                        i.name, self.max_level
                    )));
                }
            }
        }
        let mut c = Checker {
            plan: self,
            defined: vec![false; self.regs.len()],
        };
        c.block(&self.body, "body")
    }
}

impl Checker<'_> {
    fn err(&self, at: &str, message: String) -> ValidationError {
        ValidationError {
            at: at.to_string(),
            message,
        }
    }

    fn info(&self, r: Reg, at: &str) -> Result<&super::RegInfo, ValidationError> {
        self.plan
            .regs
            .get(r as usize)
            .ok_or_else(|| self.err(at, format!("register r{r} does not exist")))
    }

    fn read(&self, r: Reg, kinds: &[RegKind], at: &str) -> Result<(), ValidationError> {
        let info = self.info(r, at)?;
        if !self.defined[r as usize] {
            return Err(self.err(at, format!("register r{r} is read before it is defined")));
        }
        if !kinds.contains(&info.kind) {
            return Err(self.err(
                at,
                format!(
                    "register r{r} is {:?}, expected one of {kinds:?}",
                    info.kind
                ),
            ));
        }
        Ok(())
    }

    fn define(&mut self, r: Reg, kind: RegKind, at: &str) -> Result<(), ValidationError> {
        let info = self.info(r, at)?;
        if info.kind != kind {
            return Err(self.err(
                at,
                format!(
                    "result r{r} is declared {:?} but produced {kind:?}",
                    info.kind
                ),
            ));
        }
        if kind == RegKind::Cipher {
            match info.level {
                Some(l) if l <= self.plan.max_level => {}
                Some(l) => {
                    return Err(self.err(
                        at,
                        format!(
                            "r{r} at level {l}, above the maximum {}",
                            self.plan.max_level
                        ),
                    ))
                }
                None => return Err(self.err(at, format!("ciphertext r{r} has no level"))),
            }
        }
        if std::mem::replace(&mut self.defined[r as usize], true) {
            return Err(self.err(at, format!("register r{r} is defined twice")));
        }
        Ok(())
    }

    fn single_block(&self, r: Reg, at: &str) -> Result<(), ValidationError> {
        let i = self.info(r, at)?;
        if i.rows != GridDim::Fixed(1) || i.cols != 1 {
            return Err(self.err(
                at,
                format!(
                    "r{r} is a {:?}×{} grid where one block is expected",
                    i.rows, i.cols
                ),
            ));
        }
        Ok(())
    }

    fn level(&self, r: Reg) -> usize {
        self.plan.regs[r as usize].level.unwrap_or(0)
    }

    fn grids_broadcast(&self, a: Reg, b: Reg, out: Reg, at: &str) -> Result<(), ValidationError> {
        let (x, y, o) = (
            &self.plan.regs[a as usize],
            &self.plan.regs[b as usize],
            &self.plan.regs[out as usize],
        );
        let one = GridDim::Fixed(1);
        let rows_ok = |g: &GridDim| *g == o.rows || *g == one;
        let cols_ok = |c: usize| c == o.cols || c == 1;
        if x.kind == RegKind::Scalar || y.kind == RegKind::Scalar {
            return Ok(());
        }
        if !(rows_ok(&x.rows) && rows_ok(&y.rows) && cols_ok(x.cols) && cols_ok(y.cols)) {
            return Err(self.err(
                at,
                format!(
                    "grids {:?}×{} and {:?}×{} do not broadcast to {:?}×{}",
                    x.rows, x.cols, y.rows, y.cols, o.rows, o.cols
                ),
            ));
        }
        Ok(())
    }

    fn expect_level(&self, r: Reg, want: usize, at: &str) -> Result<(), ValidationError> {
        let got = self.level(r);
        if got != want {
            return Err(self.err(
                at,
                format!("r{r} should be at level {want} here, it is declared at {got}"),
            ));
        }
        Ok(())
    }

    fn block(&mut self, insts: &[Inst], path: &str) -> Result<(), ValidationError> {
        for (k, inst) in insts.iter().enumerate() {
            let at = format!("{path}[{k}] {}", inst.op.mnemonic());
            self.inst(inst, &at)?;
        }
        Ok(())
    }

    fn one_result(&self, inst: &Inst, at: &str) -> Result<Reg, ValidationError> {
        match inst.results.as_slice() {
            [r] => Ok(*r),
            rs => Err(self.err(at, format!("expected one result, found {}", rs.len()))),
        }
    }

    fn inst(&mut self, inst: &Inst, at: &str) -> Result<(), ValidationError> {
        use RegKind::*;
        let ct = [Cipher];
        let pub_ = [Plain, Scalar];
        match &inst.op {
            Op::Input { name } => {
                let r = self.one_result(inst, at)?;
                let spec = self
                    .plan
                    .inputs
                    .iter()
                    .find(|i| &i.name == name)
                    .ok_or_else(|| self.err(at, format!("no input named `{name}`")))?;
                if spec.stream.is_some() {
                    return Err(self.err(
                        at,
                        format!("input `{name}` is streamed: read it with batch_input"),
                    ));
                }
                let kind = if spec.secret { Cipher } else { Plain };
                self.define(r, kind, at)?;
                if let Some(l) = spec.level {
                    self.expect_level(r, l, at)?;
                }
            }
            Op::BatchInput { name, .. } => {
                let r = self.one_result(inst, at)?;
                let spec = self
                    .plan
                    .inputs
                    .iter()
                    .find(|i| &i.name == name)
                    .ok_or_else(|| self.err(at, format!("no input named `{name}`")))?;
                if spec.stream.is_none() || !spec.secret {
                    return Err(self.err(at, format!("input `{name}` is not a secret stream")));
                }
                self.define(r, Cipher, at)?;
                self.expect_level(r, spec.level.unwrap_or(0), at)?;
            }
            Op::Const(v) => {
                if !v.is_finite() {
                    return Err(self.err(at, format!("constant {v} is not finite")));
                }
                self.define(self.one_result(inst, at)?, Scalar, at)?
            }
            Op::DimValue(_) => self.define(self.one_result(inst, at)?, Scalar, at)?,
            Op::ScalarBin { a, b, .. } => {
                self.read(*a, &[Scalar], at)?;
                self.read(*b, &[Scalar], at)?;
                self.define(self.one_result(inst, at)?, Scalar, at)?
            }
            Op::Fill { value } => {
                if !value.is_finite() {
                    return Err(self.err(at, format!("fill value {value} is not finite")));
                }
                self.define(self.one_result(inst, at)?, Plain, at)?
            }
            Op::Mask(_) | Op::RowMask { .. } => {
                self.define(self.one_result(inst, at)?, Plain, at)?
            }
            Op::PlainBin { a, b, .. } => {
                self.read(*a, &pub_, at)?;
                self.read(*b, &pub_, at)?;
                let r = self.one_result(inst, at)?;
                self.define(r, Plain, at)?;
                self.grids_broadcast(*a, *b, r, at)?;
            }
            Op::PlainUnary { a, .. } => {
                self.read(*a, &[Plain], at)?;
                self.define(self.one_result(inst, at)?, Plain, at)?
            }
            Op::Trivial { a } => {
                self.read(*a, &pub_, at)?;
                self.define(self.one_result(inst, at)?, Cipher, at)?
            }
            Op::Add { a, b } | Op::Sub { a, b } | Op::Mul { a, b } => {
                self.read(*a, &ct, at)?;
                self.read(*b, &ct, at)?;
                let r = self.one_result(inst, at)?;
                self.define(r, Cipher, at)?;
                let l = self.level(*a);
                self.expect_level(*b, l, at)?;
                let out = if matches!(inst.op, Op::Mul { .. }) {
                    l.checked_sub(1)
                        .ok_or_else(|| self.err(at, "a product at level 0".into()))?
                } else {
                    l
                };
                self.expect_level(r, out, at)?;
                self.grids_broadcast(*a, *b, r, at)?;
            }
            Op::AddPlain { a, p } | Op::SubPlain { a, p, .. } | Op::MulPlain { a, p } => {
                self.read(*a, &ct, at)?;
                self.read(*p, &pub_, at)?;
                let r = self.one_result(inst, at)?;
                self.define(r, Cipher, at)?;
                let l = self.level(*a);
                let out = if matches!(inst.op, Op::MulPlain { .. }) {
                    l.checked_sub(1)
                        .ok_or_else(|| self.err(at, "a product at level 0".into()))?
                } else {
                    l
                };
                self.expect_level(r, out, at)?;
                self.grids_broadcast(*a, *p, r, at)?;
            }
            Op::Neg { a }
            | Op::MulInteger { a, .. }
            | Op::MulI { a }
            | Op::Conjugate { a }
            | Op::Rotate { a, .. } => {
                self.read(*a, &ct, at)?;
                let r = self.one_result(inst, at)?;
                self.define(r, Cipher, at)?;
                self.expect_level(r, self.level(*a), at)?;
            }
            Op::RotateHoisted { a, steps } => {
                self.read(*a, &ct, at)?;
                if inst.results.len() != steps.len() || steps.is_empty() {
                    return Err(self.err(
                        at,
                        format!("{} steps but {} results", steps.len(), inst.results.len()),
                    ));
                }
                for &r in &inst.results {
                    self.define(r, Cipher, at)?;
                    self.expect_level(r, self.level(*a), at)?;
                }
            }
            Op::SumBlocks { a, axis } => {
                self.read(*a, &ct, at)?;
                if *axis > 1 {
                    return Err(self.err(at, format!("axis {axis} (grids have axes 0 and 1)")));
                }
                let r = self.one_result(inst, at)?;
                self.define(r, Cipher, at)?;
                self.expect_level(r, self.level(*a), at)?;
            }
            Op::SplitBlocks { a } => {
                self.read(*a, &ct, at)?;
                let x = self.info(*a, at)?;
                let GridDim::Fixed(rows) = x.rows else {
                    return Err(self.err(
                        at,
                        format!(
                            "split_blocks of r{a}, whose row blocks are known only at run time"
                        ),
                    ));
                };
                if inst.results.len() != rows * x.cols {
                    return Err(self.err(
                        at,
                        format!(
                            "split_blocks of a {rows}×{} grid has {} results",
                            x.cols,
                            inst.results.len()
                        ),
                    ));
                }
                let level = self.level(*a);
                for &r in &inst.results {
                    self.single_block(r, at)?;
                    self.define(r, Cipher, at)?;
                    self.expect_level(r, level, at)?;
                }
            }
            Op::JoinBlocks { parts } => {
                let r = self.one_result(inst, at)?;
                let o = self.info(r, at)?;
                let GridDim::Fixed(rows) = o.rows else {
                    return Err(self.err(
                        at,
                        format!("join_blocks into r{r}, whose row blocks are not fixed"),
                    ));
                };
                if parts.len() != rows * o.cols {
                    return Err(self.err(
                        at,
                        format!(
                            "join_blocks of {} parts into a {rows}×{} grid",
                            parts.len(),
                            o.cols
                        ),
                    ));
                }
                for &p in parts {
                    self.read(p, &ct, at)?;
                    self.single_block(p, at)?;
                }
                self.define(r, Cipher, at)?;
                for &p in parts {
                    self.expect_level(p, self.level(r), at)?;
                }
            }
            Op::LevelDown { a } => {
                self.read(*a, &ct, at)?;
                let r = self.one_result(inst, at)?;
                self.define(r, Cipher, at)?;
                if self.level(r) >= self.level(*a) {
                    return Err(self.err(
                        at,
                        format!(
                            "level_down from {} to {} does not go down",
                            self.level(*a),
                            self.level(r)
                        ),
                    ));
                }
            }
            Op::Poly { a, poly } => {
                self.read(*a, &ct, at)?;
                let finite = match poly {
                    PolySpec::Chebyshev { coeffs, a, b } => {
                        coeffs.iter().all(|c| c.is_finite())
                            && a.is_finite()
                            && b.is_finite()
                            && a < b
                    }
                    PolySpec::Power { coeffs } => coeffs.iter().all(|c| c.is_finite()),
                };
                if !finite {
                    return Err(self.err(
                        at,
                        "polynomial with a non-finite coefficient or an empty interval".into(),
                    ));
                }
                let r = self.one_result(inst, at)?;
                self.define(r, Cipher, at)?;
                let d = poly_depth(poly);
                let want = self.level(*a).checked_sub(d).ok_or_else(|| {
                    self.err(at, format!("depth {d} from level {}", self.level(*a)))
                })?;
                self.expect_level(r, want, at)?;
            }
            Op::Bootstrap { a } => {
                if !self.plan.bootstrapping {
                    return Err(self.err(at, "bootstrap in a plan without bootstrapping".into()));
                }
                self.read(*a, &ct, at)?;
                self.define(self.one_result(inst, at)?, Cipher, at)?
            }
            Op::Loop {
                args,
                inits,
                body,
                yields,
                ..
            } => {
                if args.len() != inits.len() + 1 || yields.len() != inits.len() {
                    return Err(self.err(
                        at,
                        format!(
                            "a loop needs 1 + {} region arguments and {} yields, found {} and {}",
                            inits.len(),
                            inits.len(),
                            args.len(),
                            yields.len()
                        ),
                    ));
                }
                if inst.results.len() != inits.len() {
                    return Err(self.err(
                        at,
                        format!(
                            "{} results for {} carried values",
                            inst.results.len(),
                            inits.len()
                        ),
                    ));
                }
                self.define(args[0], Scalar, at)?;
                for (k, (&arg, &init)) in args[1..].iter().zip(inits).enumerate() {
                    let (ai, ii) = (self.info(arg, at)?.clone(), self.info(init, at)?.clone());
                    self.read(init, &[ii.kind], at)?;
                    if !same_register_type(&ai, &ii) {
                        return Err(self.err(at, format!(
                            "carried value {k}: entry r{init} ({:?}, level {:?}) differs from the header r{arg} ({:?}, level {:?})",
                            ii.kind, ii.level, ai.kind, ai.level
                        )));
                    }
                    self.define(arg, ai.kind, at)?;
                }
                // Body instructions are named `body[5].loop[3] rotate` (the loop's path, then
                // `.loop` and the index), as the module documentation says.
                let loop_path = at.rsplit_once(' ').map_or(at, |(p, _)| p);
                self.block(body, &format!("{loop_path}.loop"))?;
                for (k, (&y, &arg)) in yields.iter().zip(&args[1..]).enumerate() {
                    let (yi, ai) = (self.info(y, at)?.clone(), self.info(arg, at)?.clone());
                    self.read(y, &[yi.kind], at)?;
                    if !same_register_type(&yi, &ai) {
                        return Err(self.err(at, format!(
                            "carried value {k}: the back edge r{y} (level {:?}) differs from the header r{arg} (level {:?})",
                            yi.level, ai.level
                        )));
                    }
                }
                for (&r, &arg) in inst.results.iter().zip(&args[1..]) {
                    let ai = self.info(arg, at)?.clone();
                    self.define(r, ai.kind, at)?;
                    if self.plan.regs[r as usize].level != ai.level {
                        return Err(
                            self.err(at, format!("loop result r{r} is not at its header's level"))
                        );
                    }
                }
            }
            Op::Output { name, value } => {
                self.read(*value, &[Cipher, Plain, Scalar], at)?;
                if !self.plan.outputs.iter().any(|o| &o.name == name) {
                    return Err(self.err(at, format!("no output named `{name}`")));
                }
            }
        }
        Ok(())
    }
}

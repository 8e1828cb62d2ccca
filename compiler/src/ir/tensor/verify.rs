//! The tensor IR's verifier: every value defined once, every use dominated by its definition
//! (earlier in the same region or in an enclosing one), operand and result types consistent,
//! and every region's arguments and yields matching its loop's carried values. A refusal names
//! the instruction, as the printer writes it.

use super::ir::*;
use super::print;
use crate::syntax::ast::BinOp;
use crate::types::checked::{Builtin, TIndex};
use crate::types::ty::{Dim, TensorType};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("in `{inst}`: {msg}")]
pub struct VerifyError {
    /// the offending instruction, printed
    pub inst: String,
    pub msg: String,
}

pub fn verify(p: &TensorProgram) -> Result<(), VerifyError> {
    let mut v = Verifier {
        p,
        defined: vec![false; p.values.len()],
        visible: vec![false; p.values.len()],
    };
    v.region(&p.body, "the program")?;
    for o in &p.outputs {
        if !has_output(&p.body, &o.name) {
            return Err(VerifyError {
                inst: format!("output {}", o.name),
                msg: "the program declares this output but never records it".into(),
            });
        }
    }
    Ok(())
}

fn has_output(r: &Region, name: &str) -> bool {
    r.insts.iter().any(|i| match &i.op {
        Op::Output { name: n, .. } => n == name,
        op => op.regions().into_iter().any(|r| has_output(r, name)),
    })
}

struct Verifier<'a> {
    p: &'a TensorProgram,
    /// defined anywhere so far (a second definition is an error)
    defined: Vec<bool>,
    /// defined in the current region or an enclosing one
    visible: Vec<bool>,
}

fn same_shape(a: &TensorType, b: &TensorType) -> bool {
    a.shape == b.shape
}

impl Verifier<'_> {
    fn define(&mut self, v: ValueId, what: &dyn Fn() -> String) -> Result<(), VerifyError> {
        let Some(d) = self.defined.get_mut(v as usize) else {
            return Err(VerifyError {
                inst: what(),
                msg: format!("defines %{v}, which has no type"),
            });
        };
        if *d {
            return Err(VerifyError {
                inst: what(),
                msg: format!("defines %{v} a second time"),
            });
        }
        *d = true;
        self.visible[v as usize] = true;
        Ok(())
    }

    fn region(&mut self, r: &Region, owner: &str) -> Result<(), VerifyError> {
        let saved = self.visible.clone();
        for a in &r.args {
            self.define(*a, &|| format!("the arguments of the region of {owner}"))?;
        }
        for inst in &r.insts {
            self.inst(inst)?;
        }
        for y in &r.yields {
            if !self.visible.get(*y as usize).copied().unwrap_or(false) {
                return Err(VerifyError {
                    inst: format!("yield in the region of {owner}"),
                    msg: format!("yields %{y}, which is not defined before it"),
                });
            }
        }
        self.visible = saved;
        Ok(())
    }

    fn inst(&mut self, inst: &Inst) -> Result<(), VerifyError> {
        let p = self.p;
        let text = move || print::inst_line(p, inst);
        let fail = |msg: String| Err(VerifyError { inst: text(), msg });
        for o in inst.op.operands() {
            if !self.visible.get(o as usize).copied().unwrap_or(false) {
                return fail(format!(
                    "uses %{o}, which is not defined before it (a use must be dominated by its definition)"
                ));
            }
        }
        for r in &inst.results {
            if self.defined.get(*r as usize).copied().unwrap_or(false) {
                return fail(format!("defines %{r} a second time"));
            }
        }
        self.types(inst)?;
        // regions see the values defined so far; their own values stay inside
        match &inst.op {
            Op::Loop { body, inits, .. } => {
                let owner = text();
                if body.args.len() != inits.len() + 1 {
                    return fail(format!(
                        "the region takes {} arguments, but the loop has {} carried values plus the induction value",
                        body.args.len(),
                        inits.len()
                    ));
                }
                if body.yields.len() != inits.len() {
                    return fail(format!(
                        "the region yields {} values for {} carried values",
                        body.yields.len(),
                        inits.len()
                    ));
                }
                if inst.results.len() != inits.len() {
                    return fail(format!(
                        "the loop gives {} results for {} carried values",
                        inst.results.len(),
                        inits.len()
                    ));
                }
                let iv = self.p.ty(body.args[0]);
                if !iv.shape.is_empty() {
                    return fail("the induction value must be a scalar".into());
                }
                for (k, ((init, arg), res)) in inits
                    .iter()
                    .zip(&body.args[1..])
                    .zip(&inst.results)
                    .enumerate()
                {
                    let (ti, ta, tr) = (self.p.ty(*init), self.p.ty(*arg), self.p.ty(*res));
                    if !same_shape(ti, ta) || !same_shape(ta, tr) {
                        return fail(format!(
                            "carried value {k}: initial {ti}, region argument {ta} and result {tr} differ in shape"
                        ));
                    }
                }
                self.region(body, &owner)?;
                for (k, (y, arg)) in body.yields.iter().zip(&body.args[1..]).enumerate() {
                    let (ty, ta) = (self.p.ty(*y), self.p.ty(*arg));
                    if !same_shape(ty, ta) {
                        return fail(format!(
                            "carried value {k}: the region yields {ty} for an argument of type {ta}"
                        ));
                    }
                    if ty.secrecy > ta.secrecy {
                        return fail(format!(
                            "carried value {k}: the region yields a secret value for a public carried value"
                        ));
                    }
                }
            }
            Op::If { then, els, .. } => {
                let owner = text();
                for r in [then, els] {
                    if !r.args.is_empty() || r.yields.len() != inst.results.len() {
                        return fail(format!(
                            "a branch takes {} arguments and yields {} values for {} results",
                            r.args.len(),
                            r.yields.len(),
                            inst.results.len()
                        ));
                    }
                    self.region(r, &owner)?;
                    for (y, res) in r.yields.iter().zip(&inst.results) {
                        if !same_shape(self.p.ty(*y), self.p.ty(*res)) {
                            return fail(format!(
                                "a branch yields {} for a result of type {}",
                                self.p.ty(*y),
                                self.p.ty(*res)
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        for r in &inst.results {
            self.define(*r, &text)?;
        }
        Ok(())
    }

    /// Operand/result type rules of the data ops.
    fn types(&self, inst: &Inst) -> Result<(), VerifyError> {
        let p = self.p;
        let fail = |msg: String| {
            Err(VerifyError {
                inst: print::inst_line(p, inst),
                msg,
            })
        };
        for r in &inst.results {
            if *r as usize >= p.values.len() {
                return fail(format!("defines %{r}, which has no type"));
            }
        }
        let expect_results = match &inst.op {
            Op::Output { .. } => 0,
            Op::Loop { .. } | Op::If { .. } => inst.results.len(),
            _ => 1,
        };
        if inst.results.len() != expect_results {
            return fail(format!(
                "gives {} results, expected {expect_results}",
                inst.results.len()
            ));
        }
        let res = || p.ty(inst.results[0]);
        match &inst.op {
            Op::Bin(op, a, b) => {
                if *op == BinOp::MatMul {
                    return fail("a matrix product must be a `matmul`".into());
                }
                for x in [a, b] {
                    let t = p.ty(*x);
                    if !t.shape.is_empty() && t.shape != res().shape {
                        return fail(format!(
                            "operand %{x} has shape {} but the result has {}: an implicit broadcast (insert `broadcast`)",
                            shape(t),
                            shape(res())
                        ));
                    }
                }
                let secret = p.ty(*a).secrecy.max(p.ty(*b).secrecy);
                if res().secrecy < secret {
                    return fail("the result is public but an operand is secret".into());
                }
            }
            Op::Neg(a) | Op::Assume(a, _) | Op::Approx(_, a) => {
                if p.ty(*a).shape != res().shape {
                    return fail(format!(
                        "operand shape {} differs from the result's {}",
                        shape(p.ty(*a)),
                        shape(res())
                    ));
                }
                if let Op::Approx(name, _) = &inst.op {
                    if !p.approximations.contains_key(name) {
                        return fail(format!("approximation `{name}` is not in the program"));
                    }
                }
            }
            Op::Broadcast(a) => {
                let (s, r) = (&p.ty(*a).shape, &res().shape);
                let ok = s.len() <= r.len()
                    && s.iter()
                        .rev()
                        .zip(r.iter().rev())
                        .all(|(x, y)| x == y || *x == Dim::Const(1));
                if !ok {
                    return fail(format!(
                        "cannot broadcast {} to {}",
                        shape(p.ty(*a)),
                        shape(res())
                    ));
                }
            }
            Op::MatMul(a, b) => {
                let (x, y) = (&p.ty(*a).shape, &p.ty(*b).shape);
                let inner_ok = match (x.last(), y.len()) {
                    (Some(k), 1) => Some(k) == y.first(),
                    (Some(k), 2) => Some(k) == y.first(),
                    _ => false,
                };
                if !inner_ok || x.len() > 2 || y.len() > 2 {
                    return fail(format!(
                        "cannot multiply {} by {}",
                        shape(p.ty(*a)),
                        shape(p.ty(*b))
                    ));
                }
            }
            Op::Transpose(a) => {
                let mut s = p.ty(*a).shape.clone();
                s.reverse();
                if s != res().shape {
                    return fail(format!(
                        "the transpose of {} is not {}",
                        shape(p.ty(*a)),
                        shape(res())
                    ));
                }
            }
            Op::Builtin(b, args) => {
                if b.is_elementwise_exact() {
                    if let Some(a) = args.first() {
                        if p.ty(*a).shape != res().shape {
                            return fail("an elementwise function changes the shape".into());
                        }
                    }
                }
                if let Builtin::Sum(ax) | Builtin::Mean(ax) = b {
                    if let Some(a) = args.first() {
                        if *ax >= p.ty(*a).shape.len() {
                            return fail(format!("axis {ax} is out of range"));
                        }
                    }
                }
            }
            Op::Slice(a, items) => {
                let n = items.iter().filter(|i| !matches!(i, TIndex::At(_))).count();
                let rank = p.ty(*a).shape.len();
                if items.len() > rank || res().shape.len() != rank - (items.len() - n) {
                    return fail("the slice's rank does not match its operand's".into());
                }
            }
            Op::BatchSlice { source, order, .. } => {
                let (s, r) = (&p.ty(*source).shape, &res().shape);
                if s.len() != r.len() || s[1..] != r[1..] {
                    return fail("a batch must have its source's shape but for the rows".into());
                }
                if p.ty(*order).shape.first() != s.first() {
                    return fail("the row order and the source have different rows".into());
                }
            }
            Op::Output { name, .. } if !p.outputs.iter().any(|o| &o.name == name) => {
                return fail(format!("output `{name}` is not declared"));
            }
            _ => {}
        }
        Ok(())
    }
}

fn shape(t: &TensorType) -> String {
    crate::types::ty::shape_text(&t.shape)
}

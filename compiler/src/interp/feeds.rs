//! Which approximations a value feeds: a forward data-flow walk over the checked program from
//! every range assumption (and every loop's carried state) to the `approx`/`poly` items and
//! `approximates` functions whose arguments depend on it. Used to say, in a violation report,
//! which polynomials a broken assumption invalidates. Through calls it is exact per parameter;
//! a tuple `let` taints all its names; a loop body is walked once.

use crate::syntax::span::Span;
use crate::types::checked::*;
use std::collections::{BTreeSet, HashMap};

/// A span as a map key: (file, start, end).
pub type Key = (u32, u32, u32);

pub fn key(s: Span) -> Key {
    (s.file, s.start, s.end)
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Src {
    /// an assumption or a carried state, by span
    At(Key),
    /// the i-th parameter of the function being summarised
    Param(usize),
}

type Srcs = BTreeSet<Src>;

#[derive(Clone, Default)]
struct Summary {
    param_feeds: Vec<BTreeSet<String>>,
    ret: Srcs,
}

#[derive(Default)]
struct Body {
    taint: HashMap<LocalId, Srcs>,
    param_feeds: Vec<BTreeSet<String>>,
}

struct Walk<'p> {
    prog: &'p CheckedProgram,
    fed: HashMap<Key, BTreeSet<String>>,
    fns: HashMap<String, Summary>,
}

impl<'p> Walk<'p> {
    fn feed(&mut self, b: &mut Body, s: &Srcs, q: &str) {
        for src in s {
            match src {
                Src::At(k) => {
                    self.fed.entry(*k).or_default().insert(q.to_string());
                }
                Src::Param(i) => {
                    if let Some(p) = b.param_feeds.get_mut(*i) {
                        p.insert(q.to_string());
                    }
                }
            }
        }
    }

    fn summary(&mut self, func: &str) -> Summary {
        if let Some(s) = self.fns.get(func) {
            return s.clone();
        }
        let Some(f) = self.prog.functions.get(func) else {
            return Summary::default();
        };
        let mut b = Body {
            taint: f
                .params
                .iter()
                .enumerate()
                .map(|(i, l)| (*l, [Src::Param(i)].into_iter().collect()))
                .collect(),
            param_feeds: vec![BTreeSet::new(); f.params.len()],
        };
        let ret = self.block(&mut b, &f.body);
        let s = Summary {
            param_feeds: b.param_feeds,
            ret,
        };
        self.fns.insert(func.to_string(), s.clone());
        s
    }

    fn stmt(&mut self, b: &mut Body, s: &TStmt) {
        match s {
            TStmt::Let { targets, value } => {
                let v = self.expr(b, value);
                for t in targets {
                    b.taint.insert(*t, v.clone());
                }
            }
            TStmt::Output { value, against, .. } => {
                self.expr(b, value);
                if let Some(a) = against {
                    self.expr(b, a);
                }
            }
        }
    }

    fn block(&mut self, b: &mut Body, bl: &TBlock) -> Srcs {
        for s in &bl.stmts {
            self.stmt(b, s);
        }
        match &bl.tail {
            Some(t) => self.expr(b, t),
            None => Srcs::new(),
        }
    }

    fn all(&mut self, b: &mut Body, es: &[TExpr]) -> Srcs {
        let mut s = Srcs::new();
        for e in es {
            s.extend(self.expr(b, e));
        }
        s
    }

    fn expr(&mut self, b: &mut Body, e: &TExpr) -> Srcs {
        match &e.kind {
            TKind::Const(_) | TKind::Param(_) | TKind::Input(_) | TKind::DimValue(_) => Srcs::new(),
            TKind::Local(id) => b.taint.get(id).cloned().unwrap_or_default(),
            TKind::Neg(a) | TKind::Transpose(a) => self.expr(b, a),
            TKind::Bin(_, x, y) | TKind::MatMul(x, y) => {
                let mut s = self.expr(b, x);
                s.extend(self.expr(b, y));
                s
            }
            TKind::Builtin(_, args) | TKind::Tuple(args) => self.all(b, args),
            TKind::Approx(q, a) => {
                let s = self.expr(b, a);
                self.feed(b, &s, q);
                s
            }
            TKind::Call { func, args, .. } => {
                let arg_srcs: Vec<Srcs> = args.iter().map(|a| self.expr(b, a)).collect();
                let sum = self.summary(func);
                let approximates = self
                    .prog
                    .functions
                    .get(func)
                    .is_some_and(|f| f.exact.is_some());
                for (i, s) in arg_srcs.iter().enumerate() {
                    if let Some(qs) = sum.param_feeds.get(i) {
                        for q in qs {
                            self.feed(b, s, q);
                        }
                    }
                    if approximates {
                        self.feed(b, s, func);
                    }
                }
                let mut out = Srcs::new();
                for r in &sum.ret {
                    match r {
                        Src::At(k) => {
                            out.insert(Src::At(*k));
                        }
                        Src::Param(i) => out.extend(arg_srcs.get(*i).cloned().unwrap_or_default()),
                    }
                }
                out
            }
            TKind::Index(a, _) => self.expr(b, a),
            TKind::If(c, t, f) => {
                let mut s = self.expr(b, c);
                s.extend(self.block(b, t));
                s.extend(self.block(b, f));
                s
            }
            TKind::Loop(l) => {
                match &l.kind {
                    LoopKind::Range { lo, hi, .. } => {
                        self.expr(b, lo);
                        self.expr(b, hi);
                    }
                    LoopKind::Batches {
                        vars,
                        sources,
                        size,
                        ..
                    } => {
                        for (v, s) in vars.iter().zip(sources) {
                            let t = self.expr(b, s);
                            b.taint.insert(*v, t);
                        }
                        self.expr(b, size);
                    }
                }
                let mut out = Srcs::new();
                for c in &l.carried {
                    let mut s = self.expr(b, &c.init);
                    s.insert(Src::At(key(c.init.span)));
                    out.extend(s.iter().cloned());
                    b.taint.insert(c.local, s);
                }
                let r = self.block(b, &l.body);
                if !l.carried.is_empty() {
                    out.extend(r);
                }
                out
            }
            TKind::Assume(a, _) => {
                let mut s = self.expr(b, a);
                s.insert(Src::At(key(e.span)));
                s
            }
        }
    }
}

/// For every assumption and carried state (by span): the approximations it feeds.
pub fn approximations_fed(prog: &CheckedProgram) -> HashMap<Key, BTreeSet<String>> {
    let mut w = Walk {
        prog,
        fed: HashMap::new(),
        fns: HashMap::new(),
    };
    let mut b = Body::default();
    for s in &prog.body {
        w.stmt(&mut b, s);
    }
    w.fed
}

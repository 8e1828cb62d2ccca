//! Level-aware extraction: the e-graph chooses terms, level drops and bootstrap sites together.
//!
//! An e-class holds terms of one *value*; the level a ciphertext sits at is not a property of
//! the class (`x` at level 7 and its drop to level 6 are one value). So the extraction works on
//! states `(class, level)` (`../shared/docs/scheduling.md`): the cost of having a class's value
//! at level `l` is the cheapest of
//!
//! - an e-node of the class computed at `l`, its ciphertext children at the level the operation
//!   needs (a product or plaintext product at `l + 1`, a polynomial at `l + depth`, everything
//!   else at `l`), priced by the cost table *at the level it runs*;
//! - a level drop from `(class, l + 1)`;
//! - at the top level only, and only for *cut classes* (classes holding a register that stands
//!   for a whole tensor or a packing of carried state), a bootstrap from `(class, l')` for any
//!   `l'` at or above what the value's scale factor needs, at the bootstrap's price.
//!
//! Leaves (registers from outside the block) are available at the level the enclosing schedule
//! gives them; roots must be available at the level their uses demand. Level drops and
//! bootstraps are the identity on values, so they are edges between states of one class, not
//! e-nodes: saturation never sees them, and extraction is where levels are decided.
//!
//! The costs are a least fixpoint (Bellman–Ford over the states: every edge costs more than
//! zero, so the predecessor graph is acyclic). The cost is a tree cost (a state shared by two
//! users is counted by both), which the caller corrects: the result is projected to one node
//! per class (the node of the highest level the class is used at), checked acyclic, and the
//! bootstraps it chose are handed to the placement pass as seeds, which completes and prunes
//! them against the whole program and prices the result exactly.

use super::analysis::Kind;
use super::cost::Prices;
use super::extract::{own_depth, terminal, Choice, Graph};
use super::lang::Ckks;
use egg::{Id, Language};
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::time::Instant;

/// Added to every edge so that no cycle of states is free.
const EPS: f64 = 1e-9;
/// Passes of the fixpoint before giving up (each pass visits every class).
const MAX_PASSES: usize = 200;

/// One block's extraction problem.
pub struct LevelProblem<'a> {
    pub egraph: &'a Graph,
    /// the level of fresh values and bootstrap outputs
    pub top: usize,
    /// prices of operations running at each level (index: level, `0..=top`)
    pub prices: &'a [Prices],
    /// seconds of one bootstrap (one block)
    pub boot_s: f64,
    /// ciphertext leaf classes (canonical) and the level they are available at
    pub leaf_level: HashMap<Id, usize>,
    /// roots (canonical) and the level each must be available at
    pub roots: Vec<(Id, usize)>,
    /// cut classes (canonical) and the levels their scale factor consumes before a bootstrap
    pub cut: HashMap<Id, usize>,
    pub deadline: Instant,
}

/// What the extraction chose.
#[derive(Clone, Debug)]
pub struct LevelSolution {
    /// one node per class reachable from the roots
    pub choice: Choice,
    /// classes the extraction bootstraps
    pub boots: BTreeSet<Id>,
    /// seconds of the bootstraps the roots need (each once)
    pub boot_s: f64,
    /// seconds of the longest chain of operations to a root
    pub path_s: f64,
    /// fixpoint passes
    pub passes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum How {
    Unreached,
    Node(u32),
    Down,
    Boot(u8),
}

/// Levels an operation consumes from its ciphertext operands.
fn consumed(eg: &Graph, n: &Ckks) -> usize {
    own_depth(eg, n) as usize
}

/// The value of a state: the bootstraps its cone needs (a set: a bootstrap shared by several
/// uses is paid once) and the seconds of its most expensive chain of operations (a path, so
/// shared operations are never counted twice; it ranks terms of equal bootstraps by the time
/// they put on the critical path).
#[derive(Clone, Debug)]
struct Val {
    /// bootstrapped class indices, sorted
    boots: Rc<Vec<u32>>,
    boot_s: f64,
    path_s: f64,
}

impl Val {
    fn total(&self) -> f64 {
        self.boot_s + self.path_s
    }
    fn better(&self, than: &Option<Val>) -> bool {
        match than {
            None => true,
            Some(t) => self.total() < t.total() * (1.0 - 1e-12) - 1e-15,
        }
    }
}

/// The union of two sorted sets of bootstrapped classes, with the seconds it adds.
fn union(a: &Rc<Vec<u32>>, b: &Rc<Vec<u32>>, price: &[f64]) -> (Rc<Vec<u32>>, f64) {
    if b.is_empty() || Rc::ptr_eq(a, b) {
        return (a.clone(), 0.0);
    }
    if a.is_empty() {
        return (b.clone(), b.iter().map(|&c| price[c as usize]).sum());
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j, mut added) = (0, 0, 0.0);
    while i < a.len() || j < b.len() {
        if j == b.len() || (i < a.len() && a[i] < b[j]) {
            out.push(a[i]);
            i += 1;
        } else if i == a.len() || b[j] < a[i] {
            out.push(b[j]);
            added += price[b[j] as usize];
            j += 1;
        } else {
            out.push(a[i]);
            i += 1;
            j += 1;
        }
    }
    if added == 0.0 {
        return (a.clone(), 0.0);
    }
    (Rc::new(out), added)
}

impl LevelProblem<'_> {
    /// Solves the problem; `None` when a root cannot be had at its level, or at the deadline.
    pub fn solve(&self) -> Option<LevelSolution> {
        let eg = self.egraph;
        let top = self.top;
        let width = top + 1;
        let ids: Vec<Id> = eg.classes().map(|c| c.id).collect();
        let index: HashMap<Id, usize> = ids.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        let n = ids.len();
        let cipher: Vec<bool> = ids
            .iter()
            .map(|&c| eg[c].data.kind == Kind::Cipher)
            .collect();
        let term: Vec<bool> = ids.iter().map(|&c| terminal(eg, c)).collect();
        // the price of bootstrapping each class (its blocks)
        let boot_price: Vec<f64> = ids
            .iter()
            .map(|&c| self.boot_s * self.prices[top].blocks(&eg[c].data.grid))
            .collect();
        let empty: Rc<Vec<u32>> = Rc::new(Vec::new());
        let zero = Val {
            boots: empty.clone(),
            boot_s: 0.0,
            path_s: 0.0,
        };
        // ciphertext states, `width` per class; other classes one value
        let mut cv: Vec<Option<Val>> = vec![None; n * width];
        let mut how = vec![How::Unreached; n * width];
        let mut pv: Vec<Option<Val>> = vec![None; n];
        let mut pnode = vec![u32::MAX; n];
        for i in 0..n {
            if term[i] {
                pv[i] = Some(zero.clone());
            }
        }
        let kids: Vec<Vec<Vec<usize>>> = ids
            .iter()
            .map(|&c| {
                eg[c]
                    .nodes
                    .iter()
                    .map(|nd| nd.children().iter().map(|k| index[&eg.find(*k)]).collect())
                    .collect()
            })
            .collect();
        // a node's value from its children's: bootstraps united, the longest path extended
        let combine = |own: f64, children: &[&Val]| -> Val {
            let mut boots = empty.clone();
            let mut boot_s = 0.0;
            let mut path: f64 = 0.0;
            for ch in children {
                if boot_s == 0.0 && boots.is_empty() {
                    boots = ch.boots.clone();
                    boot_s = ch.boot_s;
                } else {
                    let (u, added) = union(&boots, &ch.boots, &boot_price);
                    boots = u;
                    boot_s += added;
                }
                path = path.max(ch.path_s);
            }
            Val {
                boots,
                boot_s,
                path_s: path + own + EPS,
            }
        };
        let mut passes = 0;
        loop {
            passes += 1;
            if passes > MAX_PASSES || Instant::now() > self.deadline {
                return None;
            }
            let mut changed = false;
            for i in 0..n {
                let class = &eg[ids[i]];
                if term[i] {
                    continue;
                }
                if !cipher[i] {
                    for (j, nd) in class.nodes.iter().enumerate() {
                        let Some(own) = self.prices[top].node(eg, &class.data.grid, nd) else {
                            continue;
                        };
                        let Some(ch) = kids[i][j]
                            .iter()
                            .map(|&k| pv[k].as_ref())
                            .collect::<Option<Vec<_>>>()
                        else {
                            continue;
                        };
                        let v = combine(own, &ch);
                        if v.better(&pv[i]) {
                            pv[i] = Some(v);
                            pnode[i] = j as u32;
                            changed = true;
                        }
                    }
                    continue;
                }
                for l in 0..width {
                    for (j, nd) in class.nodes.iter().enumerate() {
                        let v = match nd {
                            Ckks::Sym(_) => {
                                let have = self.leaf_level.get(&ids[i]).copied().unwrap_or(top);
                                if l > have {
                                    continue;
                                }
                                zero.clone()
                            }
                            nd => {
                                let lin = l + consumed(eg, nd);
                                if lin > top {
                                    continue;
                                }
                                let Some(own) = self.prices[lin].node(eg, &class.data.grid, nd)
                                else {
                                    continue;
                                };
                                let Some(ch) = kids[i][j]
                                    .iter()
                                    .map(|&k| {
                                        if cipher[k] {
                                            cv[k * width + lin].as_ref()
                                        } else {
                                            pv[k].as_ref()
                                        }
                                    })
                                    .collect::<Option<Vec<_>>>()
                                else {
                                    continue;
                                };
                                combine(own, &ch)
                            }
                        };
                        if v.better(&cv[i * width + l]) {
                            cv[i * width + l] = Some(v);
                            how[i * width + l] = How::Node(j as u32);
                            changed = true;
                        }
                    }
                }
                changed |= self.relax_levels(i, ids[i], &boot_price, &mut cv, &mut how);
            }
            if !changed {
                break;
            }
        }
        // trace the roots' states back
        let mut sel: HashMap<usize, (usize, u32)> = HashMap::new(); // class → (level, node)
        let mut boots: BTreeSet<Id> = BTreeSet::new();
        let mut seen: std::collections::HashSet<(usize, usize)> = Default::default();
        let mut total = zero.clone();
        let mut stack: Vec<(usize, usize)> = Vec::new();
        for &(r, need) in &self.roots {
            let i = *index.get(&eg.find(r))?;
            let (v, state) = if cipher[i] {
                let need = need.min(top);
                (cv[i * width + need].as_ref()?, (i, need))
            } else {
                (pv[i].as_ref()?, (i, usize::MAX))
            };
            total = combine(0.0, &[&total, v]);
            stack.push(state);
        }
        while let Some((i, l)) = stack.pop() {
            if !seen.insert((i, l)) || term[i] {
                continue;
            }
            if l == usize::MAX {
                let j = pnode[i];
                if j == u32::MAX {
                    return None;
                }
                sel.entry(i).or_insert((0, j));
                stack.extend(kids[i][j as usize].iter().map(|&k| (k, usize::MAX)));
                continue;
            }
            match how[i * width + l] {
                How::Unreached => return None,
                How::Down => stack.push((i, l + 1)),
                How::Boot(from) => {
                    boots.insert(ids[i]);
                    stack.push((i, from as usize));
                }
                How::Node(j) => {
                    let e = sel.entry(i).or_insert((l, j));
                    if l > e.0 {
                        *e = (l, j);
                    }
                    let nd = &eg[ids[i]].nodes[j as usize];
                    let lin = l + consumed(eg, nd);
                    for &k in &kids[i][j as usize] {
                        stack.push((k, if cipher[k] { lin } else { usize::MAX }));
                    }
                }
            }
        }
        // one node per class, then only what the roots reach through it
        let all: HashMap<Id, Ckks> = sel
            .iter()
            .map(|(&i, &(_, j))| {
                let nd = eg[ids[i]].nodes[j as usize]
                    .clone()
                    .map_children(|c| eg.find(c));
                (ids[i], nd)
            })
            .collect();
        let mut choice = Choice::new();
        let mut stack: Vec<Id> = self.roots.iter().map(|r| eg.find(r.0)).collect();
        while let Some(id) = stack.pop() {
            if terminal(eg, id) || choice.contains_key(&id) {
                continue;
            }
            let nd = all.get(&id)?.clone();
            stack.extend(nd.children().iter().copied());
            choice.insert(id, nd);
        }
        boots.retain(|b| choice.contains_key(b));
        Some(LevelSolution {
            choice,
            boots,
            boot_s: total.boot_s,
            path_s: total.path_s,
            passes,
        })
    }

    /// Level drops (down from `l + 1`) and, for a cut class, a bootstrap into the top level;
    /// returns whether a value improved.
    fn relax_levels(
        &self,
        i: usize,
        id: Id,
        boot_price: &[f64],
        cv: &mut [Option<Val>],
        how: &mut [How],
    ) -> bool {
        let top = self.top;
        let width = top + 1;
        let s = &mut cv[i * width..(i + 1) * width];
        let h = &mut how[i * width..(i + 1) * width];
        let down = |s: &mut [Option<Val>], h: &mut [How]| {
            let mut changed = false;
            for l in (0..top).rev() {
                let Some(up) = &s[l + 1] else { continue };
                let v = Val {
                    path_s: up.path_s + EPS,
                    ..up.clone()
                };
                if v.better(&s[l]) {
                    s[l] = Some(v);
                    h[l] = How::Down;
                    changed = true;
                }
            }
            changed
        };
        let mut changed = down(s, h);
        if let Some(&pre) = self.cut.get(&id) {
            let from = (pre..top)
                .filter_map(|l| s[l].as_ref().map(|v| (l, v.total())))
                .min_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
            if let Some((from, _)) = from {
                let src = s[from].clone().expect("a reached level");
                let me = [i as u32];
                let (boots, added) = union(&src.boots, &Rc::new(me.to_vec()), boot_price);
                let v = Val {
                    boots,
                    boot_s: src.boot_s + added,
                    path_s: src.path_s + EPS,
                };
                if v.better(&s[top]) {
                    s[top] = Some(v);
                    h[top] = How::Boot(from as u8);
                    changed = true;
                    down(s, h);
                }
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::analysis::CkksAnalysis;
    use crate::opt::cost::{CostParams, Prices};
    use egg::{EGraph, RecExpr};

    fn prices(top: usize) -> Vec<Prices> {
        (0..=top)
            .map(|l| {
                Prices::new(
                    &CostParams {
                        nominal_level: l,
                        ..CostParams::default()
                    },
                    Default::default(),
                )
            })
            .collect()
    }

    fn problem<'a>(
        eg: &'a Graph,
        prices: &'a [Prices],
        top: usize,
        root: Id,
        need: usize,
    ) -> LevelProblem<'a> {
        let x = eg.lookup(Ckks::Sym("x".into())).unwrap();
        LevelProblem {
            egraph: eg,
            top,
            prices,
            boot_s: 20.0,
            leaf_level: [(x, top)].into_iter().collect(),
            roots: vec![(eg.find(root), need)],
            cut: HashMap::new(),
            deadline: Instant::now() + std::time::Duration::from_secs(5),
        }
    }

    /// A chain of products deeper than the levels: the extraction must bootstrap at a cut class,
    /// and only at one the levels allow.
    #[test]
    fn bootstraps_where_levels_run_out_and_only_at_cut_classes() {
        let top = 3;
        let p = prices(top);
        let mut eg: Graph = EGraph::new(CkksAnalysis::default());
        // x⁸ by repeated squaring is depth 3; two more squarings need a bootstrap
        let e: RecExpr<Ckks> =
            "(mul (mul (mul (mul (mul x x) (mul x x)) (mul (mul x x) (mul x x))) \
                                (mul (mul (mul x x) (mul x x)) (mul (mul x x) (mul x x)))) x)"
                .parse()
                .unwrap();
        let root = eg.add_expr(&e);
        eg.rebuild();
        // without cut classes it cannot be had
        assert!(problem(&eg, &p, top, root, 0).solve().is_none());
        // the x⁸ class may be bootstrapped
        let x8: RecExpr<Ckks> = "(mul (mul (mul x x) (mul x x)) (mul (mul x x) (mul x x)))"
            .parse()
            .unwrap();
        let x8 = eg.add_expr(&x8);
        let mut pr = problem(&eg, &p, top, root, 0);
        pr.cut.insert(eg.find(x8), 0);
        let s = pr.solve().expect("solvable with a bootstrap");
        assert_eq!(s.boots, [eg.find(x8)].into_iter().collect());
        // the bootstrap's price is in the cost once, though x⁸·x⁸ uses it twice
        assert_eq!(s.boot_s, 20.0);
        // a root demanded at the top needs a bootstrap of its own class, which is not a cut
        assert!(problem(&eg, &p, top, root, top).solve().is_none());
    }

    /// Of two equal terms the extraction takes the one whose depth fits the levels, even when it
    /// costs more operations, rather than paying a bootstrap.
    #[test]
    fn trades_operations_for_a_bootstrap() {
        let top = 2;
        let p = prices(top);
        let mut eg: Graph = EGraph::new(CkksAnalysis::default());
        // ((x·x)·x)·x is depth 3; (x·x)·(conj(conj(x))·x) is the same value at depth 2, for
        // two conjugations more
        let deep: RecExpr<Ckks> = "(mul (mul (mul x x) x) x)".parse().unwrap();
        let shallow: RecExpr<Ckks> = "(mul (mul x x) (mul (conj (conj x)) x))".parse().unwrap();
        let a = eg.add_expr(&deep);
        let b = eg.add_expr(&shallow);
        eg.union(a, b);
        eg.rebuild();
        let mut pr = problem(&eg, &p, top, a, 0);
        pr.cut.insert(
            eg.find(
                eg.lookup_expr(&"(mul (mul x x) x)".parse().unwrap())
                    .unwrap(),
            ),
            0,
        );
        let s = pr.solve().expect("solvable");
        assert!(
            s.boots.is_empty(),
            "no bootstrap where a shallower term exists"
        );
        assert!(
            s.choice.values().any(|n| matches!(n, Ckks::Conj(_))),
            "the shallow term: {:?}",
            s.choice
        );
        // with levels enough for the deep term, the cheaper deep term wins
        let p = prices(3);
        let mut pr = problem(&eg, &p, 3, a, 0);
        pr.cut.clear();
        let s = pr.solve().expect("solvable");
        assert!(!s.choice.values().any(|n| matches!(n, Ckks::Conj(_))));
    }

    /// A leaf available only at a low level limits what can be computed from it.
    #[test]
    fn leaves_bound_levels() {
        let top = 4;
        let p = prices(top);
        let mut eg: Graph = EGraph::new(CkksAnalysis::default());
        let e: RecExpr<Ckks> = "(mul x x)".parse().unwrap();
        let root = eg.add_expr(&e);
        eg.rebuild();
        let mut pr = problem(&eg, &p, top, root, 2);
        let x = eg.lookup(Ckks::Sym("x".into())).unwrap();
        pr.leaf_level.insert(x, 3);
        assert!(pr.solve().is_some());
        pr.leaf_level.insert(x, 2);
        assert!(pr.solve().is_none());
        // a drop is chosen where the use needs less than the leaf has
        pr.roots = vec![(eg.find(root), 0)];
        let s = pr.solve().unwrap();
        assert!(s.boots.is_empty());
    }
}

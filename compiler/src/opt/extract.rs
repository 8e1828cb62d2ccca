//! DAG-aware extraction: one e-node per class reachable from the roots, a shared class paid
//! once.
//!
//! The objective of a selection is `Σ node seconds + level_price · critical depth`, evaluated
//! exactly by [`Extractor::evaluate`] (rotations of one class priced as one hoisted group:
//! a decomposition and an inner product each). Candidates: the block as written (always valid,
//! so the optimizer never makes a block worse by its own measure), and greedy DAG extractions
//! (extraction-gym's "faster greedy DAG": each class keeps the set of classes its best term
//! uses, children's sets are merged, so sharing is counted once) by seconds alone and by
//! seconds plus priced depth. The cheapest valid candidate wins. Compile-time plaintexts and
//! scalars are terminal: they are materialized from their rule, never from a term.

use super::analysis::{CkksAnalysis, Kind};
use super::cost::Prices;
use super::lang::Ckks;
use egg::{EGraph, Id, Language};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Instant;

pub type Graph = EGraph<Ckks, CkksAnalysis>;

/// A selection: class → its chosen node (children canonical).
pub type Choice = HashMap<Id, Ckks>;

/// A priced selection.
#[derive(Clone, Debug)]
pub struct Priced {
    pub seconds: f64,
    pub depth: u32,
    pub objective: f64,
}

pub struct Extractor<'a> {
    pub egraph: &'a Graph,
    pub prices: &'a Prices,
    pub roots: Vec<Id>,
    pub deadline: Instant,
}

#[derive(Clone)]
struct Best {
    node: usize,
    key: f64,
    depth: u32,
    /// (class, seconds of its chosen node), sorted by class
    set: Rc<Vec<(u32, f64)>>,
}

impl<'a> Extractor<'a> {
    pub fn new(egraph: &'a Graph, prices: &'a Prices, roots: &[Id], deadline: Instant) -> Self {
        Extractor {
            egraph,
            prices,
            roots: roots.iter().map(|&r| egraph.find(r)).collect(),
            deadline,
        }
    }

    /// A class materialized without a term: a compile-time constant or a datum.
    pub fn terminal(&self, id: Id) -> bool {
        terminal(self.egraph, id)
    }

    fn canon(&self, n: &Ckks) -> Ckks {
        n.clone().map_children(|c| self.egraph.find(c))
    }

    fn own_depth(&self, n: &Ckks) -> u32 {
        own_depth(self.egraph, n)
    }

    fn node_seconds(&self, class: Id, n: &Ckks) -> Option<f64> {
        self.prices
            .node(self.egraph, &self.egraph[class].data.grid, n)
    }

    /// Prices a selection; `None` if it misses a class, has a cycle or an unemittable node.
    pub fn evaluate(&self, choice: &Choice) -> Option<Priced> {
        let mut depth: HashMap<Id, u32> = HashMap::new();
        let mut seconds = 0.0;
        // rotations by source class: hoisted groups
        let mut rots: HashMap<Id, usize> = HashMap::new();
        let mut on_stack: HashMap<Id, bool> = HashMap::new();
        let mut stack: Vec<(Id, bool)> = self.roots.iter().map(|&r| (r, false)).collect();
        while let Some((id, done)) = stack.pop() {
            let id = self.egraph.find(id);
            if self.terminal(id) {
                depth.insert(id, 0);
                continue;
            }
            let n = choice.get(&id)?;
            if done {
                let d = self.own_depth(n)
                    + n.children()
                        .iter()
                        .map(|c| depth[&self.egraph.find(*c)])
                        .max()
                        .unwrap_or(0);
                depth.insert(id, d);
                on_stack.insert(id, false);
                match n {
                    Ckks::Rot([x, _]) => *rots.entry(self.egraph.find(*x)).or_default() += 1,
                    _ => seconds += self.node_seconds(id, n)?,
                }
                continue;
            }
            if depth.contains_key(&id) {
                continue;
            }
            if on_stack.get(&id) == Some(&true) {
                return None; // a cycle
            }
            on_stack.insert(id, true);
            stack.push((id, true));
            for c in n.children() {
                let c = self.egraph.find(*c);
                if on_stack.get(&c) == Some(&true) {
                    return None;
                }
                if !depth.contains_key(&c) {
                    stack.push((c, false));
                }
            }
        }
        let mut rots: Vec<(Id, usize)> = rots.into_iter().collect();
        rots.sort_unstable();
        for (x, count) in rots {
            let b = self.prices.blocks(&self.egraph[x].data.grid);
            seconds += b * if count >= 2 {
                self.prices.decompose + count as f64 * self.prices.galois_hoisted
            } else {
                self.prices.galois
            };
        }
        let d = self.roots.iter().map(|r| depth[r]).max().unwrap_or(0);
        Some(Priced {
            seconds,
            depth: d,
            objective: seconds + self.prices.level * d as f64,
        })
    }

    /// Greedy DAG extraction minimizing `seconds + depth_weight · depth` per class.
    pub fn greedy_dag(&self, depth_weight: f64) -> Option<Choice> {
        let eg = self.egraph;
        let mut parents: HashMap<Id, Vec<(Id, usize)>> = HashMap::new();
        let mut queue: VecDeque<(Id, usize)> = VecDeque::new();
        let mut best: HashMap<Id, Best> = HashMap::new();
        for class in eg.classes() {
            if self.terminal(class.id) {
                best.insert(
                    class.id,
                    Best {
                        node: 0,
                        key: 0.0,
                        depth: 0,
                        set: Rc::new(vec![]),
                    },
                );
            }
        }
        for class in eg.classes() {
            for (i, n) in class.nodes.iter().enumerate() {
                if n.children().is_empty() {
                    queue.push_back((class.id, i));
                }
                for c in n.children() {
                    parents.entry(eg.find(*c)).or_default().push((class.id, i));
                }
            }
        }
        // (in the e-graph's class order: the result does not depend on hashing)
        for class in eg.classes() {
            if best.contains_key(&class.id) {
                for &p in parents.get(&class.id).map(|v| v.as_slice()).unwrap_or(&[]) {
                    queue.push_back(p);
                }
            }
        }
        let mut steps = 0usize;
        while let Some((cid, i)) = queue.pop_front() {
            steps += 1;
            if steps.is_multiple_of(1024) && Instant::now() > self.deadline {
                return None;
            }
            if self.terminal(cid) {
                continue;
            }
            let n = &eg[cid].nodes[i];
            let Some(own) = self.node_seconds(cid, n) else {
                continue;
            };
            let kids: Vec<Id> = n.children().iter().map(|c| eg.find(*c)).collect();
            let Some(kb) = kids.iter().map(|k| best.get(k)).collect::<Option<Vec<_>>>() else {
                continue;
            };
            // merge the children's sets
            let mut set: Vec<(u32, f64)> = Vec::new();
            for b in &kb {
                set = merge(&set, &b.set);
            }
            let me = usize::from(cid) as u32;
            if set.binary_search_by_key(&me, |e| e.0).is_ok() {
                continue; // the node reaches its own class
            }
            let pos = set.partition_point(|e| e.0 < me);
            set.insert(pos, (me, own));
            let depth = self.own_depth(n) + kb.iter().map(|b| b.depth).max().unwrap_or(0);
            let total: f64 = set.iter().map(|e| e.1).sum();
            let key = total + depth_weight * depth as f64;
            let better = match best.get(&cid) {
                None => true,
                Some(b) => key < b.key * (1.0 - 1e-12) - 1e-15,
            };
            if better {
                best.insert(
                    cid,
                    Best {
                        node: i,
                        key,
                        depth,
                        set: Rc::new(set),
                    },
                );
                for &p in parents.get(&cid).map(|v| v.as_slice()).unwrap_or(&[]) {
                    queue.push_back(p);
                }
            }
        }
        // the selection reachable from the roots
        let mut choice = Choice::new();
        let mut stack = self.roots.clone();
        while let Some(id) = stack.pop() {
            let id = eg.find(id);
            if self.terminal(id) || choice.contains_key(&id) {
                continue;
            }
            let b = best.get(&id)?;
            let n = self.canon(&eg[id].nodes[b.node]);
            stack.extend(n.children().iter().copied());
            choice.insert(id, n);
        }
        Some(choice)
    }

    /// Improves `base` one class at a time: where another selection picks a different node for
    /// a class, the switch is kept if the whole objective drops (a depth-first selection gives
    /// back the extra operations it took off the critical path). Stops at the deadline.
    pub fn refine(&self, base: &Choice, alternatives: &[&Choice]) -> (Choice, Priced) {
        let mut cur: Choice = Choice::new();
        for alt in alternatives {
            cur.extend(alt.iter().map(|(k, n)| (*k, n.clone())));
        }
        cur.extend(base.iter().map(|(k, n)| (*k, n.clone())));
        let mut best = self.evaluate(&cur).expect("a valid base selection");
        let mut classes: Vec<Id> = base.keys().copied().collect();
        classes.sort_unstable();
        for _pass in 0..2 {
            let mut improved = false;
            for &c in &classes {
                for alt in alternatives {
                    let Some(n) = alt.get(&c) else { continue };
                    if cur.get(&c) == Some(n) {
                        continue;
                    }
                    if Instant::now() > self.deadline {
                        return (cur, best);
                    }
                    let old = cur.insert(c, n.clone()).expect("a selected class");
                    match self.evaluate(&cur) {
                        Some(p) if p.objective < best.objective * (1.0 - 1e-12) => {
                            best = p;
                            improved = true;
                        }
                        _ => {
                            cur.insert(c, old);
                        }
                    }
                }
            }
            if !improved {
                break;
            }
        }
        (cur, best)
    }

    /// Canonicalizes a selection given with stale ids; leaf classes (registers) not in it
    /// select their leaf.
    pub fn canonical(&self, choice: &Choice) -> Choice {
        let mut out: Choice = choice
            .iter()
            .map(|(k, n)| (self.egraph.find(*k), self.canon(n)))
            .collect();
        for class in self.egraph.classes() {
            if out.contains_key(&class.id) {
                continue;
            }
            if let Some(leaf) = class.nodes.iter().find(|n| matches!(n, Ckks::Sym(_))) {
                out.insert(class.id, leaf.clone());
            }
        }
        out
    }
}

/// A class materialized without a term: a compile-time constant or a datum.
pub fn terminal(egraph: &Graph, id: Id) -> bool {
    let d = &egraph[id].data;
    d.kind == Kind::Datum || (d.kind != Kind::Cipher && d.konst.is_some())
}

/// Levels a node consumes from its ciphertext operands (a polynomial: its evaluator depth).
pub fn own_depth(egraph: &Graph, n: &Ckks) -> u32 {
    match n {
        Ckks::Poly([f, _]) => egraph[egraph.find(*f)]
            .nodes
            .iter()
            .find_map(|m| match m {
                Ckks::F(r) => Some(egraph.analysis.polys[r.0 as usize].1),
                _ => None,
            })
            .unwrap_or(0),
        n => n.own_depth(),
    }
}

fn merge(a: &[(u32, f64)], b: &[(u32, f64)]) -> Vec<(u32, f64)> {
    if a.is_empty() {
        return b.to_vec();
    }
    if b.is_empty() {
        return a.to_vec();
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

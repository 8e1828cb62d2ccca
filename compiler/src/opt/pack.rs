//! Packing loop-carried values (HALO's carried-value packing, on the CKKS stage).
//!
//! A training loop carries small tensors (weights, bias, their momenta), each of which fills a
//! whole ciphertext in its layout (tiled and replicated copies) and each of which must be back
//! at the top level at the loop's back edge: one bootstrap per carried value and trip. Their
//! *footprints* (one period of a tiled axis, one position of a replicated axis, the extent of a
//! blocked axis) are small, so this pass carries them as one ciphertext instead:
//!
//! - **pack** (at the back edge, and for the initial values): each value is masked to its
//!   footprint (the mask carries a power-of-two factor that brings it into `|z| ≤ 1`) and
//!   rotated to its place in the packed block; the sum is the one carried ciphertext, and the
//!   scheduler bootstraps it once (a packed register is a cut point, [`RegFacts::packed`]);
//! - **unpack** (at the top of the body, and after the loop): the footprint is masked out (the
//!   mask undoes the factor), rotated home and replicated back to its layout by rotate-and-add
//!   doubling, so the body sees exactly the values it saw before.
//!
//! A pack of values that are the unpacking of one packed register by the same scheme is that
//! register (nested loops carrying the same state pass the packed value through), and zero
//! initial values pack to a zero ciphertext without any operation. Dead unpackings are removed.
//!
//! Invariant: every register of the input program that is still read keeps its value in every
//! slot its layout defines (blocked padding may become zero, which any padding state allows).

use crate::ir::ckks::{CkksProgram, RegFacts};
use blindtune_runtime::plan::{
    AxisLayout, DimSpec, GridDim, Inst, Layout, Mask, Op, Reg, RegInfo, RegKind, ScalarOp,
};
use std::collections::{HashMap, HashSet};

/// How many sums deep a packing mask is pushed towards the plaintext products that make a value.
const MASK_PUSH_DEPTH: usize = 2;

/// What the pass did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PackReport {
    /// loops whose carried values were packed
    pub loops: usize,
    /// carried values packed (over all those loops)
    pub values: usize,
}

/// One packed value: its layout, footprint (rows × columns at the block's origin), where the
/// footprint sits in the packed block, and the factor applied on packing.
#[derive(Clone, Debug, PartialEq)]
struct Item {
    layout: Layout,
    region: [usize; 2],
    offset: [usize; 2],
    factor: f64,
    /// one block of a value of several (all masked alike before they are split apart, so
    /// never in place)
    multi: bool,
}

impl Item {
    /// Whether the layout holds the footprint's content at the item's offset too (every
    /// offset along a replicated axis, multiples of the period along a tiled one, 0 along a
    /// blocked one): then packing and unpacking need no rotation, as the copies the
    /// replication makes from there are the layout's own.
    fn in_place(&self) -> bool {
        if self.multi {
            return false;
        }
        // columns are copied rightwards unless every row is alike ([`Packer::unpack`]): from a
        // column offset they would run into the next row
        if self.offset[1] != 0 && self.layout.rows != AxisLayout::Replicated {
            return false;
        }
        (0..2).all(|a| match self.layout.axis(a) {
            AxisLayout::Replicated => true,
            AxisLayout::Tiled { period } => self.offset[a].is_multiple_of(period),
            AxisLayout::Blocked => self.offset[a] == 0,
        })
    }
}

/// Where a loop's packed values go: `blocks[v]` items per value `v` (its grid's blocks in
/// row-major order), one after the other in `items`.
#[derive(Clone, Debug, PartialEq)]
struct Scheme {
    items: Vec<Item>,
    blocks: Vec<usize>,
}

impl Scheme {
    /// The items of value `v`.
    fn of(&self, v: usize) -> std::ops::Range<usize> {
        let start: usize = self.blocks[..v].iter().sum();
        start..start + self.blocks[v]
    }
}

/// Packs the carried values of every loop that carries ciphertext tensors of at least two
/// blocks in all (a tensor of several blocks, blocked along its split axes, packs block by
/// block) whose footprints fit one block together. `None`: nothing to pack.
pub fn pack_carried(prog: &CkksProgram, default_bound: f64) -> Option<(CkksProgram, PackReport)> {
    let mut p = Packer {
        prog,
        regs: prog.regs.clone(),
        facts: prog.facts.clone(),
        default_bound,
        consts: Vec::new(),
        const_cache: HashMap::new(),
        unpacked: HashMap::new(),
        schemes: Vec::new(),
        defs: HashMap::new(),
        report: PackReport::default(),
    };
    collect_defs(&prog.body, &mut p.defs);
    let body = p.block(&prog.body);
    if p.report.loops == 0 {
        return None;
    }
    let mut top = std::mem::take(&mut p.consts);
    top.extend(body);
    let mut out = prog.clone();
    out.regs = p.regs;
    out.facts = p.facts;
    out.body = top;
    dce(&mut out.body);
    Some((out, p.report))
}

struct Packer<'a> {
    prog: &'a CkksProgram,
    regs: Vec<RegInfo>,
    facts: Vec<RegFacts>,
    default_bound: f64,
    /// new constants (masks), placed at the top of the program
    consts: Vec<Inst>,
    const_cache: HashMap<String, Reg>,
    /// register → (packed register, scheme, item) for registers defined by an unpacking
    unpacked: HashMap<Reg, (Reg, usize, usize)>,
    schemes: Vec<Scheme>,
    /// the defining operation of every register of the input program
    defs: HashMap<Reg, Op>,
    report: PackReport,
}

fn collect_defs(insts: &[Inst], defs: &mut HashMap<Reg, Op>) {
    for inst in insts {
        for &r in &inst.results {
            defs.insert(r, inst.op.clone());
        }
        if let Op::Loop { body, .. } = &inst.op {
            collect_defs(body, defs);
        }
    }
}

impl Packer<'_> {
    fn block(&mut self, insts: &[Inst]) -> Vec<Inst> {
        let mut out = Vec::with_capacity(insts.len());
        for inst in insts {
            match &inst.op {
                Op::Loop {
                    trips,
                    args,
                    inits,
                    body,
                    yields,
                } => self.of_loop(
                    &mut out,
                    &inst.results,
                    trips.clone(),
                    args,
                    inits,
                    body,
                    yields,
                ),
                _ => out.push(inst.clone()),
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn of_loop(
        &mut self,
        out: &mut Vec<Inst>,
        results: &[Reg],
        trips: blindtune_runtime::plan::Trips,
        args: &[Reg],
        inits: &[Reg],
        body: &[Inst],
        yields: &[Reg],
    ) {
        let carried = &args[1..];
        let Some((chosen, scheme)) = self.scheme(carried, inits, yields, results) else {
            let body = self.block(body);
            out.push(Inst {
                results: results.to_vec(),
                op: Op::Loop {
                    trips,
                    args: args.to_vec(),
                    inits: inits.to_vec(),
                    body,
                    yields: yields.to_vec(),
                },
            });
            return;
        };
        self.report.loops += 1;
        self.report.values += chosen.len();
        let sid = self.intern(scheme);
        let pick = |v: &[Reg]| chosen.iter().map(|&k| v[k]).collect::<Vec<Reg>>();
        let rest = |v: &[Reg]| {
            (0..v.len())
                .filter(|k| !chosen.contains(k))
                .map(|k| v[k])
                .collect::<Vec<Reg>>()
        };

        let p_init = self.pack(out, &pick(inits), sid);
        let p_arg = self.packed_reg();
        let mut new_body = Vec::new();
        self.unpack(&mut new_body, p_arg, sid, &pick(carried));
        new_body.extend(self.block(body));
        let p_yield = self.pack(&mut new_body, &pick(yields), sid);
        let p_res = self.packed_reg();

        let mut new_args = vec![args[0], p_arg];
        new_args.extend(rest(carried));
        let mut new_inits = vec![p_init];
        new_inits.extend(rest(inits));
        let mut new_yields = vec![p_yield];
        new_yields.extend(rest(yields));
        let mut new_results = vec![p_res];
        new_results.extend(rest(results));
        out.push(Inst {
            results: new_results,
            op: Op::Loop {
                trips,
                args: new_args,
                inits: new_inits,
                body: new_body,
                yields: new_yields,
            },
        });
        self.unpack(out, p_res, sid, &pick(results));
    }

    fn intern(&mut self, s: Scheme) -> usize {
        if let Some(i) = self.schemes.iter().position(|x| *x == s) {
            return i;
        }
        self.schemes.push(s);
        self.schemes.len() - 1
    }

    /// The carried values to pack (indices into the carried list) and where they go.
    fn scheme(
        &self,
        carried: &[Reg],
        inits: &[Reg],
        yields: &[Reg],
        results: &[Reg],
    ) -> Option<(Vec<usize>, Scheme)> {
        let block = self.prog.block;
        if block.slots() != self.prog.slots {
            return None; // rotations must be cyclic over the block
        }
        // the fixed grid of a ciphertext register
        let grid = |r: Reg| -> Option<[usize; 2]> {
            let i = &self.regs[r as usize];
            match (i.kind, &i.rows) {
                (RegKind::Cipher, GridDim::Fixed(n)) => Some([*n, i.cols]),
                _ => None,
            }
        };
        // (carried index, layout, footprint, factor, blocks)
        let mut cands: Vec<(usize, Layout, [usize; 2], f64, usize)> = Vec::new();
        for (k, &a) in carried.iter().enumerate() {
            let Some(g) = grid(a) else { continue };
            if ![inits[k], yields[k], results[k]]
                .iter()
                .all(|&r| grid(r) == Some(g))
            {
                continue;
            }
            let Some(t) = &self.facts[a as usize].tensor else {
                continue;
            };
            let Some(region) = footprint(t.layout, &t.shape, [block.s0, block.s1], g) else {
                continue;
            };
            let bound = [a, inits[k], yields[k], results[k]]
                .iter()
                .map(|&r| self.facts[r as usize].bound.unwrap_or(self.default_bound))
                .fold(0.0f64, f64::max);
            let factor = if bound <= 1.0 {
                1.0
            } else {
                2f64.powi(-(bound.log2().ceil() as i32))
            };
            cands.push((k, t.layout, region, factor, g[0] * g[1]));
        }
        // every value's blocks must all find a place; values that do not are left unpacked
        let s = [block.s0, block.s1];
        let place = |regions: &[[usize; 2]], live: &[bool]| -> Option<Vec<Vec<[usize; 2]>>> {
            let mut flat = Vec::new();
            for (i, c) in cands.iter().enumerate() {
                if live[i] {
                    flat.extend(std::iter::repeat_n(regions[i], c.4));
                }
            }
            let placed = shelves(&flat, s);
            let mut it = placed.into_iter();
            let mut out = Vec::new();
            for (i, c) in cands.iter().enumerate() {
                if live[i] {
                    out.push(
                        (0..c.4)
                            .map(|_| it.next().flatten())
                            .collect::<Option<Vec<_>>>()?,
                    );
                } else {
                    out.push(Vec::new());
                }
            }
            Some(out)
        };
        let mut regions: Vec<[usize; 2]> = cands.iter().map(|c| c.2).collect();
        let mut live = vec![true; cands.len()];
        // drop the values whose blocks do not all fit, largest first, until the rest do
        while place(&regions, &live).is_none() {
            let worst = (0..cands.len())
                .filter(|&i| live[i])
                .max_by_key(|&i| (regions[i][0] * regions[i][1] * cands[i].4, i))?;
            live[worst] = false;
        }
        let blocks_live: usize = (0..cands.len())
            .filter(|&i| live[i])
            .map(|i| cands[i].4)
            .sum();
        if blocks_live < 2 {
            return None;
        }
        // spare room buys fewer unpacking rotations: double a footprint along a tiled or
        // replicated axis (one rotation saved per block) while everything still fits,
        // cheapest in rows first (a column doubling costs no rows)
        loop {
            let mut best: Option<(usize, usize, usize)> = None; // (rows added, value, axis)
            for (i, c) in cands.iter().enumerate() {
                if !live[i] {
                    continue;
                }
                for axis in [1, 0] {
                    let e = regions[i][axis];
                    if c.1.axis(axis) == AxisLayout::Blocked
                        || 2 * e > s[axis]
                        || !s[axis].is_multiple_of(2 * e)
                    {
                        continue;
                    }
                    let added = if axis == 0 { e * c.4 } else { 0 };
                    if best.is_none_or(|b| added < b.0) {
                        let mut r = regions.clone();
                        r[i][axis] *= 2;
                        if place(&r, &live).is_some() {
                            best = Some((added, i, axis));
                        }
                    }
                }
            }
            let Some((_, i, axis)) = best else { break };
            regions[i][axis] *= 2;
        }
        let placed = place(&regions, &live)?;
        let chosen: Vec<usize> = (0..cands.len()).filter(|&i| live[i]).collect();
        let mut items = Vec::new();
        for &i in &chosen {
            for &offset in &placed[i] {
                items.push(Item {
                    layout: cands[i].1,
                    region: regions[i],
                    offset,
                    factor: cands[i].3,
                    multi: cands[i].4 > 1,
                });
            }
        }
        Some((
            chosen.iter().map(|&i| cands[i].0).collect(),
            Scheme {
                items,
                blocks: chosen.iter().map(|&i| cands[i].4).collect(),
            },
        ))
    }

    /// A packed register: every item was brought into `|z| ≤ 1` by its factor.
    fn packed_reg(&mut self) -> Reg {
        self.reg(
            RegKind::Cipher,
            Some("packed"),
            RegFacts {
                tensor: None,
                bound: Some(1.0),
                packed: true,
            },
        )
    }

    /// A new single-block register.
    fn reg(&mut self, kind: RegKind, name: Option<&str>, facts: RegFacts) -> Reg {
        self.regs.push(RegInfo {
            kind,
            rows: GridDim::Fixed(1),
            cols: 1,
            level: None,
            name: name.map(str::to_string),
            tensor: None,
        });
        self.facts.push(facts);
        (self.regs.len() - 1) as Reg
    }

    fn temp(&mut self) -> Reg {
        self.reg(RegKind::Cipher, None, RegFacts::default())
    }

    /// A new register of `kind` with the grid of `like`.
    fn reg_like(&mut self, kind: RegKind, like: Reg) -> Reg {
        let r = self.reg(kind, None, RegFacts::default());
        let (rows, cols) = {
            let l = &self.regs[like as usize];
            (l.rows.clone(), l.cols)
        };
        self.regs[r as usize].rows = rows;
        self.regs[r as usize].cols = cols;
        r
    }

    /// [`Packer::emit`] with a result of the grid of `like`.
    fn emit_like(&mut self, out: &mut Vec<Inst>, op: Op, like: Reg) -> Reg {
        let r = self.reg_like(RegKind::Cipher, like);
        out.push(Inst {
            results: vec![r],
            op,
        });
        r
    }

    fn constant(&mut self, op: Op) -> Reg {
        let key = format!("{op:?}");
        if let Some(&r) = self.const_cache.get(&key) {
            return r;
        }
        let kind = match op {
            Op::Const(_) => RegKind::Scalar,
            _ => RegKind::Plain,
        };
        let r = self.reg(kind, None, RegFacts::default());
        self.consts.push(Inst {
            results: vec![r],
            op,
        });
        self.const_cache.insert(key, r);
        r
    }

    /// The window `[at, at + region)` of the block, times `value`.
    fn window(&mut self, at: [usize; 2], region: [usize; 2], value: f64) -> Reg {
        let block = self.prog.block;
        let m = self.constant(Op::Mask(Mask::Window {
            row_mod: block.s0,
            row_lo: at[0],
            row_hi: at[0] + region[0],
            col_mod: block.s1,
            col_lo: at[1],
            col_hi: at[1] + region[1],
        }));
        if value == 1.0 {
            return m;
        }
        let v = self.constant(Op::Const(value));
        self.constant(Op::PlainBin {
            op: ScalarOp::Mul,
            a: m,
            b: v,
        })
    }

    fn emit(&mut self, out: &mut Vec<Inst>, op: Op) -> Reg {
        let r = self.temp();
        out.push(Inst {
            results: vec![r],
            op,
        });
        r
    }

    /// `steps` to the left (negative: to the right) as the plan writes a rotation.
    fn steps(&self, k: i64) -> i64 {
        k.rem_euclid(self.prog.slots as i64)
    }

    /// The packing of `values` (one per item of the scheme).
    fn pack(&mut self, out: &mut Vec<Inst>, values: &[Reg], sid: usize) -> Reg {
        // values that are this scheme's unpacking of one register: that register
        let src: Vec<Option<(Reg, usize, usize)>> = values
            .iter()
            .map(|v| self.unpacked.get(v).copied())
            .collect();
        if let Some(Some((x, s, _))) = src.first() {
            if src
                .iter()
                .enumerate()
                .all(|(i, e)| *e == Some((*x, *s, i)) && *s == sid)
            {
                return *x;
            }
        }
        // zero initial values: a zero ciphertext
        let zero = |op: Option<&Op>, defs: &HashMap<Reg, Op>| match op {
            Some(Op::Trivial { a }) => {
                matches!(defs.get(a), Some(Op::Fill { value }) if *value == 0.0)
            }
            _ => false,
        };
        if values.iter().all(|v| zero(self.defs.get(v), &self.defs)) {
            let fill = self.constant(Op::Fill { value: 0.0 });
            let p = self.packed_reg();
            out.push(Inst {
                results: vec![p],
                op: Op::Trivial { a: fill },
            });
            return p;
        }
        let block = self.prog.block;
        let scheme = self.schemes[sid].clone();
        let mut parts = Vec::new();
        for (vi, &v) in values.iter().enumerate() {
            let its = &scheme.items[scheme.of(vi)];
            // a value whose layout repeats with its offset is masked where it will sit; the
            // blocks of a value of several are masked together, at the origin
            let home = if its[0].in_place() {
                its[0].offset
            } else {
                [0, 0]
            };
            let m = self.window(home, its[0].region, its[0].factor);
            let x = self.masked(out, v, m, MASK_PUSH_DEPTH);
            let blocks = if its.len() == 1 {
                vec![x]
            } else {
                let split: Vec<Reg> = its.iter().map(|_| self.temp()).collect();
                out.push(Inst {
                    results: split.clone(),
                    op: Op::SplitBlocks { a: x },
                });
                split
            };
            for (it, mut x) in its.iter().zip(blocks) {
                let off = (it.offset[0] * block.s1 + it.offset[1]) as i64;
                if off != 0 && !it.in_place() {
                    let steps = self.steps(-off);
                    x = self.emit(out, Op::Rotate { a: x, steps });
                }
                parts.push(x);
            }
        }
        let mut acc = parts[0];
        for &x in &parts[1..] {
            acc = self.emit(out, Op::Add { a: acc, b: x });
        }
        // the sum is the packed register
        let p = self.packed_reg();
        rename_last(out, acc, p);
        p
    }

    /// `v · m`, with the mask pushed through sums into the plaintext products that make `v`
    /// (`m·(a − c·t) = m·a − (c·m)·t`): the update step's last product and the mask share a
    /// level, so packing costs no level beyond the step itself.
    fn masked(&mut self, out: &mut Vec<Inst>, v: Reg, m: Reg, depth: usize) -> Reg {
        if depth > 0 {
            let is_ct = |r: Reg, regs: &[RegInfo]| regs[r as usize].kind == RegKind::Cipher;
            match self.defs.get(&v).cloned() {
                Some(Op::Add { a, b }) if is_ct(a, &self.regs) && is_ct(b, &self.regs) => {
                    let x = self.masked(out, a, m, depth - 1);
                    let y = self.masked(out, b, m, depth - 1);
                    return self.emit_like(out, Op::Add { a: x, b: y }, v);
                }
                Some(Op::Sub { a, b }) if is_ct(a, &self.regs) && is_ct(b, &self.regs) => {
                    let x = self.masked(out, a, m, depth - 1);
                    let y = self.masked(out, b, m, depth - 1);
                    return self.emit_like(out, Op::Sub { a: x, b: y }, v);
                }
                Some(Op::MulPlain { a, p }) => {
                    let pm = self.plain(
                        out,
                        Op::PlainBin {
                            op: ScalarOp::Mul,
                            a: p,
                            b: m,
                        },
                        p,
                    );
                    return self.emit_like(out, Op::MulPlain { a, p: pm }, v);
                }
                _ => {}
            }
        }
        self.emit_like(out, Op::MulPlain { a: v, p: m }, v)
    }

    /// A plaintext computed where it is needed (its operands may be the loop's), with the
    /// grid of `like` when that is a plaintext grid (a scalar times a mask is one block).
    fn plain(&mut self, out: &mut Vec<Inst>, op: Op, like: Reg) -> Reg {
        let r = if self.regs[like as usize].kind == RegKind::Plain {
            self.reg_like(RegKind::Plain, like)
        } else {
            self.reg(RegKind::Plain, None, RegFacts::default())
        };
        out.push(Inst {
            results: vec![r],
            op,
        });
        r
    }

    /// Unpacks `p` into `targets` (one per value), recording where they came from.
    fn unpack(&mut self, out: &mut Vec<Inst>, p: Reg, sid: usize, targets: &[Reg]) {
        let block = self.prog.block;
        let scheme = self.schemes[sid].clone();
        for (vi, &target) in targets.iter().enumerate() {
            let its = &scheme.items[scheme.of(vi)];
            let mut parts = Vec::with_capacity(its.len());
            for it in its {
                let m = self.window(it.offset, it.region, 1.0 / it.factor);
                let mut x = self.emit(out, Op::MulPlain { a: p, p: m });
                let off = (it.offset[0] * block.s1 + it.offset[1]) as i64;
                if off != 0 && !it.in_place() {
                    let steps = self.steps(off);
                    x = self.emit(out, Op::Rotate { a: x, steps });
                }
                // rows first; then columns, leftwards only when every row is alike (a
                // position shifted past a row's start lands in the row before, which holds
                // the same values)
                let rows = copies(it.layout.rows, it.region[0], block.s0);
                x = self.replicate(out, x, it.region[0], rows, block.s1 as i64);
                let cols = copies(it.layout.cols, it.region[1], block.s1);
                let dir = if it.layout.rows == AxisLayout::Replicated {
                    1
                } else {
                    -1
                };
                x = self.replicate(out, x, it.region[1], cols, dir);
                parts.push(x);
            }
            if parts.len() == 1 {
                rename_last(out, parts[0], target);
            } else {
                out.push(Inst {
                    results: vec![target],
                    op: Op::JoinBlocks { parts },
                });
            }
            self.unpacked.insert(target, (p, sid, vi));
        }
    }

    /// `copies` copies of the content at `[0, extent)` along an axis whose positions are
    /// `stride` slots apart (signed: the direction of the copies).
    fn replicate(
        &mut self,
        out: &mut Vec<Inst>,
        x: Reg,
        extent: usize,
        copies: usize,
        stride: i64,
    ) -> Reg {
        if copies <= 1 {
            return x;
        }
        let unit = extent as i64 * stride;
        if copies.is_power_of_two() {
            let mut t = x;
            let mut covered = 1;
            while covered < copies {
                let steps = self.steps(covered as i64 * unit);
                let r = self.emit(out, Op::Rotate { a: t, steps });
                t = self.emit(out, Op::Add { a: t, b: r });
                covered *= 2;
            }
            t
        } else {
            let mut acc = x;
            for k in 1..copies {
                let steps = self.steps(k as i64 * unit);
                let r = self.emit(out, Op::Rotate { a: x, steps });
                acc = self.emit(out, Op::Add { a: acc, b: r });
            }
            acc
        }
    }
}

/// Shelf placement of footprints in a block, tallest first: a shelf is a band of rows filled
/// left to right. `None` for a footprint that does not fit.
fn shelves(regions: &[[usize; 2]], s: [usize; 2]) -> Vec<Option<[usize; 2]>> {
    let mut order: Vec<usize> = (0..regions.len()).collect();
    order.sort_by_key(|&i| {
        (
            std::cmp::Reverse(regions[i][0]),
            std::cmp::Reverse(regions[i][1]),
            i,
        )
    });
    let mut shelves: Vec<(usize, usize, usize)> = Vec::new(); // (row, height, used cols)
    let mut rows_used = 0;
    let mut placed = vec![None; regions.len()];
    for i in order {
        let [r, c] = regions[i];
        if let Some(sh) = shelves.iter_mut().find(|sh| sh.1 >= r && sh.2 + c <= s[1]) {
            placed[i] = Some([sh.0, sh.2]);
            sh.2 += c;
        } else if rows_used + r <= s[0] {
            placed[i] = Some([rows_used, 0]);
            shelves.push((rows_used, r, c));
            rows_used += r;
        }
    }
    placed
}

/// One copy of a layout's data in one block of a grid of `grid` blocks, along an axis of `s`
/// positions: a tiled axis's period, one position of a replicated axis, a blocked axis's
/// extent in a block (the whole block where the axis spans several). `None`: a tiled or
/// replicated axis over several blocks, or an extent the grid does not match.
fn footprint(
    layout: Layout,
    shape: &[DimSpec; 2],
    s: [usize; 2],
    grid: [usize; 2],
) -> Option<[usize; 2]> {
    let axis = |a: usize| -> Option<usize> {
        match layout.axis(a) {
            AxisLayout::Replicated => (grid[a] == 1).then_some(1),
            AxisLayout::Tiled { period } => {
                (grid[a] == 1 && period > 0 && s[a].is_multiple_of(period)).then_some(period)
            }
            AxisLayout::Blocked => match &shape[a] {
                DimSpec::Fixed(n) if *n >= 1 && n.div_ceil(s[a]) == grid[a] => Some((*n).min(s[a])),
                _ => None,
            },
        }
    };
    Some([axis(0)?, axis(1)?])
}

/// How many copies of a footprint of `extent` the layout holds along an axis of `s` positions.
fn copies(layout: AxisLayout, extent: usize, s: usize) -> usize {
    match layout {
        AxisLayout::Blocked => 1,
        AxisLayout::Tiled { .. } | AxisLayout::Replicated => s / extent,
    }
}

/// Makes the last instruction of `out` (which defines `from`) define `to` instead.
fn rename_last(out: &mut [Inst], from: Reg, to: Reg) {
    let last = out.last_mut().expect("an instruction was emitted");
    debug_assert_eq!(last.results, vec![from]);
    last.results = vec![to];
}

/// Removes instructions whose results nobody reads (inputs, outputs and loops stay).
fn dce(body: &mut Vec<Inst>) {
    loop {
        let mut used = HashSet::new();
        uses(body, &mut used);
        let mut removed = false;
        prune(body, &used, &mut removed);
        if !removed {
            return;
        }
    }
}

fn uses(insts: &[Inst], used: &mut HashSet<Reg>) {
    for inst in insts {
        used.extend(inst.op.operands());
        if let Op::Loop { body, yields, .. } = &inst.op {
            used.extend(yields.iter().copied());
            uses(body, used);
        }
    }
}

fn prune(insts: &mut Vec<Inst>, used: &HashSet<Reg>, removed: &mut bool) {
    insts.retain(|inst| {
        let keep = matches!(
            inst.op,
            Op::Input { .. } | Op::BatchInput { .. } | Op::Output { .. } | Op::Loop { .. }
        ) || inst.results.iter().any(|r| used.contains(r));
        if !keep {
            *removed = true;
        }
        keep
    });
    for inst in insts.iter_mut() {
        if let Op::Loop { body, .. } = &mut inst.op {
            prune(body, used, removed);
        }
    }
}

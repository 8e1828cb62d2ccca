//! Kernels expanded into primitive CKKS operations on block grids.
//!
//! Rotation "by k" moves slot `j + k` to slot `j` (cyclic over the block; the block is the
//! whole slot vector, so rotating by `k·s1` shifts whole rows). The matrix products are HETAL's
//! (hetal.md §7.2, §7.3) with two class diagonals per complex product; their operation counts
//! equal the published table (`tests/hetal_counts.rs`).

use super::builder::Builder;
use super::RegFacts;
use blindtune_runtime::plan::{BlockShape, GridDim, Mask, Op, Reg};

/// Plain `1` on block columns `q % period ∈ [lo, hi)`, every row.
pub fn col_window(period: usize, lo: usize, hi: usize) -> Mask {
    Mask::Window {
        row_mod: 1,
        row_lo: 0,
        row_hi: 1,
        col_mod: period,
        col_lo: lo,
        col_hi: hi,
    }
}

/// Plain `1` on block rows `p % period ∈ [lo, hi)`, every column.
pub fn row_window(period: usize, lo: usize, hi: usize) -> Mask {
    Mask::Window {
        row_mod: period,
        row_lo: lo,
        row_hi: hi,
        col_mod: 1,
        col_lo: 0,
        col_hi: 1,
    }
}

fn log2(n: usize) -> usize {
    n.trailing_zeros() as usize
}

pub struct Kernels<'b> {
    pub b: &'b mut Builder,
    pub block: BlockShape,
}

impl Kernels<'_> {
    fn tmp(&self) -> RegFacts {
        RegFacts::default()
    }

    pub fn add(&mut self, x: Reg, y: Reg) -> Reg {
        let f = self.tmp();
        let like = if self.b.regs[x as usize].cols >= self.b.regs[y as usize].cols {
            x
        } else {
            y
        };
        self.b.cipher(like, f, Op::Add { a: x, b: y })
    }

    pub fn rot(&mut self, x: Reg, steps: i64) -> Reg {
        let steps = steps.rem_euclid(self.block.slots() as i64);
        if steps == 0 {
            return x;
        }
        let f = self.tmp();
        self.b.cipher(x, f, Op::Rotate { a: x, steps })
    }

    /// Several rotations of one value with one decomposition.
    pub fn rots(&mut self, x: Reg, steps: &[i64]) -> Vec<Reg> {
        let n = self.block.slots() as i64;
        let steps: Vec<i64> = steps.iter().map(|s| s.rem_euclid(n)).collect();
        let nonzero: Vec<i64> = steps.iter().copied().filter(|&s| s != 0).collect();
        let outs: Vec<Reg> = match nonzero.len() {
            0 => vec![],
            1 => vec![self.rot(x, nonzero[0])],
            _ => {
                let (rows, cols) = (
                    self.b.regs[x as usize].rows.clone(),
                    self.b.regs[x as usize].cols,
                );
                let rs: Vec<Reg> = nonzero
                    .iter()
                    .map(|_| {
                        self.b.reg(
                            blindtune_runtime::plan::RegKind::Cipher,
                            rows.clone(),
                            cols,
                            RegFacts::default(),
                        )
                    })
                    .collect();
                self.b.emit(
                    rs.clone(),
                    Op::RotateHoisted {
                        a: x,
                        steps: nonzero.clone(),
                    },
                );
                rs
            }
        };
        let mut it = outs.into_iter();
        steps
            .iter()
            .map(|&s| if s == 0 { x } else { it.next().unwrap() })
            .collect()
    }

    pub fn mul_plain(&mut self, x: Reg, p: Reg) -> Reg {
        let f = self.tmp();
        self.b.cipher(x, f, Op::MulPlain { a: x, p })
    }

    pub fn mul(&mut self, x: Reg, y: Reg) -> Reg {
        let f = self.tmp();
        let (rx, ry) = (&self.b.regs[x as usize], &self.b.regs[y as usize]);
        let rows = if rx.rows == GridDim::Fixed(1) {
            ry.rows.clone()
        } else {
            rx.rows.clone()
        };
        let cols = rx.cols.max(ry.cols);
        self.b.cipher_grid(rows, cols, f, Op::Mul { a: x, b: y })
    }

    pub fn mask(&mut self, x: Reg, m: Mask) -> Reg {
        let p = self.b.mask(m);
        self.mul_plain(x, p)
    }

    pub fn sum_blocks(&mut self, x: Reg, axis: u8) -> Reg {
        let r = &self.b.regs[x as usize];
        let single = if axis == 0 {
            r.rows == GridDim::Fixed(1)
        } else {
            r.cols == 1
        };
        if single {
            return x;
        }
        let (rows, cols) = if axis == 0 {
            (GridDim::Fixed(1), r.cols)
        } else {
            (r.rows.clone(), 1)
        };
        self.b.cipher_grid(
            rows,
            cols,
            RegFacts::default(),
            Op::SumBlocks { a: x, axis },
        )
    }

    /// `x + rot(x, unit) + rot(x, 2·unit) + …` in `count` doubling steps: position `j` gets the
    /// sum of the `2^count` positions `j, j + unit, …` (forward) or `j, j − unit, …` (backward).
    pub fn rotate_sum(&mut self, mut x: Reg, count: usize, unit: i64) -> Reg {
        for t in 0..count {
            let r = self.rot(x, unit << t);
            x = self.add(x, r);
        }
        x
    }

    /// Sum over block columns in windows of `period` (a power of two dividing `s1`), the result
    /// replicated over each window: position `q` of window `t` ends with the sum of window `t`.
    /// One mask (a level).
    pub fn window_sum_cols(&mut self, x: Reg, period: usize) -> Reg {
        let n = log2(period);
        let s = self.rotate_sum(x, n, 1);
        let s = self.mask(s, col_window(period, 0, 1));
        self.rotate_sum(s, n, -1)
    }

    /// All-reduce over the block's rows: every row ends with the column sums (no level).
    pub fn all_reduce_rows(&mut self, x: Reg) -> Reg {
        let x = self.sum_blocks(x, 0);
        self.rotate_sum(x, log2(self.block.s0), self.block.s1 as i64)
    }

    /// Column class `lo` of a `period`-tiled row, replicated over the whole row (one mask).
    pub fn select_col(&mut self, x: Reg, lo: usize, period: usize) -> Reg {
        let m = self.mask(x, col_window(period, lo, lo + 1));
        let m = self.rot(m, lo as i64);
        self.rotate_sum(m, log2(period), -1)
    }

    /// The language's `roll(x, k)` along columns of length `len` tiled with `period`: `out[j] =
    /// x[(j + k) mod len]` for `j < len` (a left rotation, as a CKKS rotation), zero beyond.
    /// Two rotations, two masks, one level.
    pub fn roll_cols(&mut self, x: Reg, k: i64, len: usize, period: usize) -> Reg {
        let k = k.rem_euclid(len as i64) as usize;
        let valid = col_window(period, 0, len);
        if k == 0 {
            return self.mask(x, valid);
        }
        let rs = self.rots(x, &[k as i64, k as i64 - len as i64]);
        let a = self.mask(rs[0], col_window(period, 0, len - k));
        let b = self.mask(rs[1], col_window(period, len - k, len));
        self.add(a, b)
    }

    /// HETAL's DiagABT: `Z = X·Wᵀ` with `X` row-major `[n, d]` (grid R × Cb) and `W` row-tiled
    /// `[c, d]` with period `cp` (grid 1 × Cb). `Z` comes out column-tiled with period `cp`
    /// (grid R × 1), padding classes zero. Depth 3.
    pub fn diag_abt(&mut self, x: Reg, w: Reg, c: usize, cp: usize) -> Reg {
        let s1 = self.block.s1;
        if cp == 1 {
            let p = self.mul(x, w);
            let p = self.sum_blocks(p, 1);
            return self.window_sum_cols(p, s1);
        }
        let h = cp / 2;
        // C = W̃ + i·(W̃ shifted up by h rows)
        let up = self.rot(w, (h * s1) as i64);
        let iup = self.b.cipher(up, RegFacts::default(), Op::MulI { a: up });
        let cmat = self.add(w, iup);
        let steps: Vec<i64> = (0..h).map(|k| (k * s1) as i64).collect();
        let shifted = self.rots(cmat, &steps);
        let mut acc: Option<Reg> = None;
        let col0 = col_window(s1, 0, 1);
        for (k, ck) in shifted.into_iter().enumerate() {
            let p = self.mul(x, ck);
            let p = self.sum_blocks(p, 1);
            let p = self.rotate_sum(p, log2(s1), 1);
            let p = self.mask(p, col0.clone());
            let p = self.rotate_sum(p, log2(s1), -1);
            let u = Mask::Complex {
                re: 0.5,
                first: Box::new(diag(k, cp, c)),
                im: -0.5,
                second: Box::new(diag(k + h, cp, c)),
            };
            let q = self.mask(p, u);
            acc = Some(match acc {
                None => q,
                Some(a) => self.add(a, q),
            });
        }
        let q = acc.unwrap();
        let cq = self
            .b
            .cipher(q, RegFacts::default(), Op::Conjugate { a: q });
        self.add(q, cq)
    }

    /// In-row cyclic left shift by `k` of a row whose columns are `cp`-periodic (`cp | s1`):
    /// two rotations and a mask.
    fn rot_left_in_row(&mut self, a: Reg, k: usize) -> Reg {
        if k == 0 {
            return a;
        }
        let s1 = self.block.s1;
        let rs = self.rots(a, &[k as i64, k as i64 - s1 as i64]);
        let (y1, y2) = (rs[0], rs[1]);
        let diff = self
            .b
            .cipher(y1, RegFacts::default(), Op::Sub { a: y1, b: y2 });
        let m = self.mask(diff, col_window(s1, 0, s1 - k));
        // y2 is one level above m: the scheduler aligns it
        self.add(y2, m)
    }

    /// HETAL's DiagATB: `G = Aᵀ·B` with `A` column-tiled `[n, c]` (period `cp`, grid R × 1,
    /// clean padding) and `B` row-major `[n, d]` (grid R × Cb). `G` comes out row-tiled with
    /// period `cp` (grid 1 × Cb), the layout of the weights. Depth 4 on `A`, 2 on `B`.
    pub fn diag_atb(&mut self, a: Reg, bm: Reg, c: usize, cp: usize) -> Reg {
        let _ = c;
        if cp == 1 {
            let f = self.mul(a, bm);
            return self.all_reduce_rows(f);
        }
        let h = cp / 2;
        let ah = self.rot_left_in_row(a, h);
        let iah = self.b.cipher(ah, RegFacts::default(), Op::MulI { a: ah });
        let a2 = self.add(a, iah);
        let mut acc: Option<Reg> = None;
        for k in 0..h {
            let rk = self.rot_left_in_row(a2, k);
            let f = self.mul(rk, bm);
            let f = self.all_reduce_rows(f);
            let u = Mask::Complex {
                re: 0.5,
                first: Box::new(diag_rows(k, cp)),
                im: -0.5,
                second: Box::new(diag_rows(k + h, cp)),
            };
            let q = self.mask(f, u);
            acc = Some(match acc {
                None => q,
                Some(x) => self.add(x, q),
            });
        }
        let q = acc.unwrap();
        let cq = self
            .b
            .cipher(q, RegFacts::default(), Op::Conjugate { a: q });
        self.add(q, cq)
    }
}

/// DiagABT's placement mask `M_k`: 1 where column `q ≡ p + k (mod cp)` and that class is `< c`.
fn diag(k: usize, cp: usize, c: usize) -> Mask {
    let _ = c;
    Mask::Diagonal {
        a: 1,
        b: -1,
        offset: k as i64,
        modulus: cp,
        col_mod: cp,
        col_hi: cp,
    }
}

/// DiagATB's placement mask `M'_k`: 1 where row `p ≡ q + k (mod cp)`.
fn diag_rows(k: usize, cp: usize) -> Mask {
    Mask::Diagonal {
        a: 1,
        b: -1,
        offset: -(k as i64),
        modulus: cp,
        col_mod: cp,
        col_hi: cp,
    }
}

//! Emitting CKKS-stage instructions: registers, facts, nested blocks, hoisted constants.

use super::{RegFacts, TensorFacts};
use blindtune_runtime::plan::{GridDim, Inst, Mask, Op, Reg, RegInfo, RegKind};
use std::collections::HashMap;

pub struct Builder {
    pub regs: Vec<RegInfo>,
    pub facts: Vec<RegFacts>,
    /// constants (masks, fills), defined once at the top of the program
    pub consts: Vec<Inst>,
    const_cache: HashMap<String, Reg>,
    /// the open blocks, innermost last
    pub blocks: Vec<Vec<Inst>>,
}

impl Builder {
    pub fn new() -> Self {
        Builder {
            regs: Vec::new(),
            facts: Vec::new(),
            consts: Vec::new(),
            const_cache: HashMap::new(),
            blocks: vec![Vec::new()],
        }
    }

    pub fn reg(&mut self, kind: RegKind, rows: GridDim, cols: usize, facts: RegFacts) -> Reg {
        let r = self.regs.len() as Reg;
        let tensor = if kind == RegKind::Plain {
            facts.tensor.as_ref().map(|t| (t.layout, t.shape.clone()))
        } else {
            None
        };
        self.regs.push(RegInfo {
            kind,
            rows,
            cols,
            level: None,
            name: None,
            tensor,
        });
        self.facts.push(facts);
        r
    }

    pub fn name(&mut self, r: Reg, name: &str) {
        if self.regs[r as usize].name.is_none() {
            self.regs[r as usize].name = Some(name.to_string());
        }
    }

    pub fn emit(&mut self, results: Vec<Reg>, op: Op) {
        self.blocks.last_mut().unwrap().push(Inst { results, op });
    }

    /// A ciphertext result shaped like `like` (its grid), with the given facts.
    pub fn cipher(&mut self, like: Reg, facts: RegFacts, op: Op) -> Reg {
        let (rows, cols) = (
            self.regs[like as usize].rows.clone(),
            self.regs[like as usize].cols,
        );
        let r = self.reg(RegKind::Cipher, rows, cols, facts);
        self.emit(vec![r], op);
        r
    }

    /// A ciphertext result with an explicit grid.
    pub fn cipher_grid(&mut self, rows: GridDim, cols: usize, facts: RegFacts, op: Op) -> Reg {
        let r = self.reg(RegKind::Cipher, rows, cols, facts);
        self.emit(vec![r], op);
        r
    }

    pub fn scalar(&mut self, op: Op) -> Reg {
        let r = self.reg(RegKind::Scalar, GridDim::Fixed(1), 1, RegFacts::default());
        self.emit(vec![r], op);
        r
    }

    /// A hoisted constant (mask, fill, scalar constant): defined once at the top.
    pub fn constant(&mut self, op: Op) -> Reg {
        let key = format!("{op:?}");
        if let Some(&r) = self.const_cache.get(&key) {
            return r;
        }
        let kind = match op {
            Op::Const(_) => RegKind::Scalar,
            _ => RegKind::Plain,
        };
        let r = self.reg(kind, GridDim::Fixed(1), 1, RegFacts::default());
        self.consts.push(Inst {
            results: vec![r],
            op,
        });
        self.const_cache.insert(key, r);
        r
    }

    pub fn mask(&mut self, m: Mask) -> Reg {
        self.constant(Op::Mask(m))
    }

    pub fn konst(&mut self, v: f64) -> Reg {
        self.constant(Op::Const(v))
    }

    pub fn facts(&self, r: Reg) -> &RegFacts {
        &self.facts[r as usize]
    }

    pub fn tensor(&self, r: Reg) -> Option<&TensorFacts> {
        self.facts[r as usize].tensor.as_ref()
    }

    pub fn open(&mut self) {
        self.blocks.push(Vec::new());
    }

    pub fn close(&mut self) -> Vec<Inst> {
        self.blocks.pop().expect("an open block")
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

//! Pricing and key needs of scheduled instructions, read off the runtime's counting backend.
//!
//! Every instruction is replayed at its level on `Recorder<MetaBackend>` with the backend calls
//! the executor makes for it (a product is `mul_relin_rescale`, a plaintext product an encode,
//! a `mul_plain` and a rescale, a polynomial the runtime's `PolynomialEvaluator`, a bootstrap
//! the `Bootstrapper` itself), so the key manifest and the cost come from the same code that
//! evaluates: nothing is re-derived by hand. Traces are memoized per operation and level.

use blindtune_runtime::backend::trace::Trace;
use blindtune_runtime::backend::{Backend, CostModel, MetaBackend, Recorder};
use blindtune_runtime::circuits::bootstrapping::{Bootstrapper, BootstrappingConfig};
use blindtune_runtime::circuits::polynomial::{ChebyshevSeries, PolynomialEvaluator, PowerSeries};
use blindtune_runtime::ckks::keys::KeyManifest;
use blindtune_runtime::ckks::params::Params;
use blindtune_runtime::plan::{Op, PolySpec, RegInfo, RegKind};
use num_complex::Complex64;
use std::collections::HashMap;

pub struct Pricer {
    rec: Recorder<MetaBackend>,
    boot: Option<Bootstrapper<Recorder<MetaBackend>>>,
    model: Option<CostModel>,
    cache: HashMap<String, Priced>,
    slots: usize,
}

/// What one instruction costs on one block, read off its counted trace.
#[derive(Clone, Debug, Default)]
pub struct Priced {
    /// seconds under the cost model (0 without one)
    pub secs: f64,
    /// the keys it uses, with the levels it uses them at
    pub keys: KeyManifest,
    /// inner products with a switching key (rotations, relinearizations, conjugations,
    /// and those inside polynomials and bootstraps)
    pub key_switches: usize,
    /// decompositions (ModUp): hoisted rotations share one
    pub decompositions: usize,
    /// ciphertext × ciphertext tensor products (a `mul`, and those inside a polynomial)
    pub products: usize,
}

impl Pricer {
    pub fn new(
        params: &Params,
        config: Option<&BootstrappingConfig>,
        model: Option<CostModel>,
    ) -> Self {
        let boot = config.and_then(|c| {
            Bootstrapper::with_backend(Recorder::new(MetaBackend::new(params.clone())), c.clone())
                .ok()
        });
        Pricer {
            rec: Recorder::new(MetaBackend::new(params.clone())),
            boot,
            model,
            cache: HashMap::new(),
            slots: params.n() / 2,
        }
    }

    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    /// Seconds and keys of one instruction on one block (`regs` gives operand kinds, levels).
    pub fn price(
        &mut self,
        op: &Op,
        regs: &[RegInfo],
        out_level: Option<usize>,
    ) -> (f64, KeyManifest) {
        let p = self.price_full(op, regs, out_level);
        (p.secs, p.keys)
    }

    /// [`Pricer::price`] with the trace's key switches, decompositions and products.
    pub fn price_full(&mut self, op: &Op, regs: &[RegInfo], out_level: Option<usize>) -> Priced {
        let level_of = |r: u32| regs[r as usize].level.unwrap_or(0);
        let kind_of = |r: u32| regs[r as usize].kind;
        let key = match op {
            Op::Poly { a, poly } => format!("poly {} {:?}", level_of(*a), poly_key(poly)),
            Op::Bootstrap { .. } => format!("boot {}", out_level.unwrap_or(0)),
            Op::Rotate { a, steps } => format!("rot {} {steps}", level_of(*a)),
            Op::RotateHoisted { a, steps } => format!("roth {} {steps:?}", level_of(*a)),
            Op::LevelDown { a } => format!("down {} {}", level_of(*a), out_level.unwrap_or(0)),
            Op::AddPlain { a, p } | Op::SubPlain { a, p, .. } | Op::MulPlain { a, p } => {
                format!("{} {} {:?}", op.mnemonic(), level_of(*a), kind_of(*p))
            }
            other => {
                let l = other.operands().first().map(|&r| level_of(r)).unwrap_or(0);
                format!("{} {l}", other.mnemonic())
            }
        };
        if let Some(v) = self.cache.get(&key) {
            return v.clone();
        }
        let trace = self.trace(op, regs, out_level);
        let secs = self
            .model
            .as_ref()
            .map(|m| m.estimate(&trace))
            .unwrap_or(0.0);
        let v = Priced {
            secs,
            keys: trace.key_manifest(),
            key_switches: trace.key_switches(),
            decompositions: trace.decompositions(),
            products: trace
                .ops
                .iter()
                .filter(|o| o.kind == blindtune_runtime::backend::trace::OpKind::Tensor)
                .count(),
        };
        self.cache.insert(key, v.clone());
        v
    }

    fn trace(&self, op: &Op, regs: &[RegInfo], out_level: Option<usize>) -> Trace {
        let b = &self.rec;
        let meta = b.inner();
        let _ = b.take_trace();
        let level_of = |r: u32| regs[r as usize].level.unwrap_or(0);
        let scale = b.params().default_scale();
        let ct = |l: usize| meta.fresh(l, scale, self.slots);
        let pt = |l: usize| {
            b.encode(&[Complex64::new(0.0, 0.0)], l, scale)
                .expect("encode")
        };
        let _ = (|| -> Result<(), blindtune_runtime::ckks::CkksError> {
            match op {
                Op::Add { a, .. } | Op::Sub { a, .. } => {
                    b.add(&ct(level_of(*a)), &ct(level_of(*a)))?;
                }
                Op::Neg { a } => {
                    b.neg(&ct(level_of(*a)))?;
                }
                Op::AddPlain { a, p } | Op::SubPlain { a, p, .. } => {
                    let l = level_of(*a);
                    if regs[*p as usize].kind == RegKind::Scalar {
                        b.add_const(&ct(l), 1.0)?;
                    } else {
                        b.add_plain(&ct(l), &pt(l))?;
                    }
                }
                Op::Mul { a, .. } => {
                    let l = level_of(*a);
                    b.mul_relin_rescale(&ct(l), &ct(l))?;
                }
                Op::MulPlain { a, p } => {
                    let l = level_of(*a);
                    let x = if regs[*p as usize].kind == RegKind::Scalar {
                        b.mul_const(&ct(l), 0.5)?
                    } else {
                        b.mul_plain(&ct(l), &pt(l))?
                    };
                    b.rescale(&x)?;
                }
                Op::MulInteger { a, .. } => {
                    b.mul_integer(&ct(level_of(*a)), 3)?;
                }
                Op::MulI { a } => {
                    b.mul_by_i(&ct(level_of(*a)))?;
                }
                Op::Conjugate { a } => {
                    b.conjugate(&ct(level_of(*a)))?;
                }
                Op::Rotate { a, steps } => {
                    b.rotate(&ct(level_of(*a)), *steps)?;
                }
                Op::RotateHoisted { a, steps } => {
                    b.rotate_hoisted(&ct(level_of(*a)), steps)?;
                }
                Op::LevelDown { a } => {
                    let to = out_level.unwrap_or(0);
                    let x = b.drop_to_level(&ct(level_of(*a)), to + 1)?;
                    let x = b.mul_const(&x, 1.0)?;
                    b.rescale(&x)?;
                }
                Op::Trivial { .. } => {
                    pt(out_level.unwrap_or(0));
                }
                Op::Poly { a, poly } => {
                    let l = level_of(*a);
                    let ev = PolynomialEvaluator::new(b);
                    match poly {
                        PolySpec::Chebyshev {
                            coeffs,
                            a: lo,
                            b: hi,
                        } => {
                            ev.evaluate_chebyshev(
                                &ct(l),
                                &ChebyshevSeries::new(coeffs.clone(), *lo, *hi),
                                scale,
                            )?;
                        }
                        PolySpec::Power { coeffs } => {
                            ev.evaluate_power(&ct(l), &PowerSeries::new(coeffs.clone()), scale)?;
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        })();
        let mut t = b.take_trace();
        if let (Op::Bootstrap { .. }, Some(boot)) = (op, &self.boot) {
            if let Ok(bt) = boot.trace(out_level.unwrap_or(0)) {
                t = bt;
            }
        }
        t
    }
}

fn poly_key(p: &PolySpec) -> (usize, u64) {
    let (c, extra) = match p {
        PolySpec::Chebyshev { coeffs, a, b } => (coeffs, a.to_bits() ^ b.to_bits().rotate_left(7)),
        PolySpec::Power { coeffs } => (coeffs, 0),
    };
    let h = c.iter().fold(extra, |h, x| h.rotate_left(5) ^ x.to_bits());
    (c.len(), h)
}

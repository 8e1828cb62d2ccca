//! The cost model: seconds per backend operation as a function of its level, measured by
//! `blindtune bench ckks --calibrate` and stored as data ([`CostTable`], JSON). The compiler
//! prices a trace with [`CostModel::estimate`]. A default table measured on the 2-core
//! reference machine ships in `runtime/data/costs/`; users replace it with their own.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::trace::{Op, OpKind, Trace};

/// Format version of cost tables.
pub const COST_TABLE_FORMAT: u32 = 1;

/// One operation's measured latencies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostEntry {
    pub op: OpKind,
    /// `(level, seconds)`, levels ascending. For summing operations, seconds per term.
    pub points: Vec<(usize, f64)>,
    /// Whether `seconds` is per summed term.
    #[serde(default)]
    pub per_term: bool,
}

/// A measured table, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostTable {
    pub format: u32,
    /// Parameter set the table was measured on.
    pub params: String,
    pub log_n: u32,
    pub threads: usize,
    /// Free text: the machine and date.
    pub measured_on: String,
    pub entries: Vec<CostEntry>,
}

/// Why a cost table could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error("cannot read cost table {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cost table {path} is not valid JSON for format {COST_TABLE_FORMAT}: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("cost table {path} has format {found}; this build reads format {COST_TABLE_FORMAT}")]
    Format { path: String, found: u32 },
    #[error("cost table {path}: entry `{op}` {reason}")]
    Entry {
        path: String,
        op: &'static str,
        reason: String,
    },
}

/// The default table for a parameter set and thread count, if one ships.
pub fn shipped_table(params: &str, threads: usize) -> Option<&'static str> {
    match (params, threads) {
        ("n16-boot", 1) => Some(include_str!("../../data/costs/n16-boot-1thread.json")),
        ("n16-boot", 2) => Some(include_str!("../../data/costs/n16-boot-2thread.json")),
        _ => None,
    }
}

/// Prices traces.
#[derive(Clone, Debug)]
pub struct CostModel {
    table: CostTable,
    by_op: BTreeMap<OpKind, CostEntry>,
}

impl CostModel {
    /// Validates a table (`origin` names it in errors).
    pub fn from_table(table: CostTable, origin: &str) -> Result<Self, CostError> {
        if table.format != COST_TABLE_FORMAT {
            return Err(CostError::Format {
                path: origin.into(),
                found: table.format,
            });
        }
        let mut by_op = BTreeMap::new();
        for e in &table.entries {
            let bad = |reason: &str| CostError::Entry {
                path: origin.into(),
                op: e.op.name(),
                reason: reason.into(),
            };
            if e.points.is_empty() {
                return Err(bad("has no measurement"));
            }
            if e.points.windows(2).any(|w| w[0].0 >= w[1].0) {
                return Err(bad("has levels that are not strictly ascending"));
            }
            if e.points.iter().any(|p| !(p.1.is_finite() && p.1 >= 0.0)) {
                return Err(bad("has a negative or non-finite time"));
            }
            if by_op.insert(e.op, e.clone()).is_some() {
                return Err(bad("appears twice"));
            }
        }
        Ok(CostModel { table, by_op })
    }

    /// Parses a JSON table.
    pub fn from_json(json: &str, origin: &str) -> Result<Self, CostError> {
        let table: CostTable = serde_json::from_str(json).map_err(|source| CostError::Parse {
            path: origin.into(),
            source,
        })?;
        Self::from_table(table, origin)
    }

    /// Loads a JSON table from a file.
    pub fn load(path: &Path) -> Result<Self, CostError> {
        let origin = path.display().to_string();
        let json = std::fs::read_to_string(path).map_err(|source| CostError::Io {
            path: origin.clone(),
            source,
        })?;
        Self::from_json(&json, &origin)
    }

    /// The shipped table for `params` at `threads`, if there is one.
    pub fn shipped(params: &str, threads: usize) -> Option<Self> {
        shipped_table(params, threads).map(|json| {
            Self::from_json(json, "shipped table").expect("shipped cost tables are valid")
        })
    }

    pub fn table(&self) -> &CostTable {
        &self.table
    }

    /// Seconds for one operation: interpolated linearly in the level between measured
    /// levels, extrapolated from the two nearest outside them; 0 for unmeasured kinds.
    pub fn op_seconds(&self, op: &Op) -> f64 {
        let Some(e) = self.by_op.get(&op.kind) else {
            return 0.0;
        };
        let p = &e.points;
        let t = if p.len() == 1 {
            p[0].1 * (op.level + 1) as f64 / (p[0].0 + 1) as f64
        } else {
            let i = p
                .windows(2)
                .position(|w| op.level <= w[1].0)
                .unwrap_or(p.len() - 2);
            let ((l0, t0), (l1, t1)) = (p[i], p[i + 1]);
            let x = (op.level as f64 - l0 as f64) / (l1 as f64 - l0 as f64);
            (t0 + x * (t1 - t0)).max(0.0)
        };
        if e.per_term {
            t * op.terms as f64
        } else {
            t
        }
    }

    /// Estimated seconds for a whole trace (on the table's thread count).
    pub fn estimate(&self, trace: &Trace) -> f64 {
        // summed in sorted order: a trace's operations may come in an order that varies from
        // run to run (the bootstrapper's maps), and the estimate must not vary with it
        let mut secs: Vec<f64> = trace.ops.iter().map(|o| self.op_seconds(o)).collect();
        secs.sort_by(f64::total_cmp);
        secs.into_iter().sum::<f64>() + 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: OpKind, level: usize, terms: usize) -> Op {
        Op {
            kind,
            level,
            digits: 0,
            terms,
            key: None,
        }
    }

    fn table(entries: Vec<CostEntry>) -> CostTable {
        CostTable {
            format: COST_TABLE_FORMAT,
            params: "t".into(),
            log_n: 12,
            threads: 1,
            measured_on: "test".into(),
            entries,
        }
    }

    #[test]
    fn shipped_table_loads_and_prices_every_measured_kind() {
        let m = CostModel::shipped("n16-boot", 1).expect("a shipped table");
        for e in &m.table().entries {
            for &(level, secs) in &e.points {
                let got = m.op_seconds(&op(e.op, level, 1));
                assert!((got - secs).abs() <= 1e-12 * secs.max(1.0), "{:?}", e.op);
            }
        }
        // Key switching is priced above additions at the top level.
        let top = m.table().entries[0].points.last().unwrap().0;
        assert!(
            m.op_seconds(&op(OpKind::Galois, top, 1))
                > 10.0 * m.op_seconds(&op(OpKind::Add, top, 1))
        );
    }

    #[test]
    fn interpolates_between_levels_and_scales_per_term() {
        let m = CostModel::from_table(
            table(vec![
                CostEntry {
                    op: OpKind::Add,
                    points: vec![(1, 1.0), (5, 3.0)],
                    per_term: false,
                },
                CostEntry {
                    op: OpKind::LinearCombination,
                    points: vec![(1, 0.5)],
                    per_term: true,
                },
            ]),
            "test",
        )
        .unwrap();
        assert!((m.op_seconds(&op(OpKind::Add, 3, 1)) - 2.0).abs() < 1e-12);
        assert!((m.op_seconds(&op(OpKind::Add, 7, 1)) - 4.0).abs() < 1e-12);
        // one point: proportional to limbs; per term: times the terms
        assert!((m.op_seconds(&op(OpKind::LinearCombination, 3, 4)) - 4.0).abs() < 1e-12);
        let trace = Trace {
            ops: vec![op(OpKind::Add, 3, 1), op(OpKind::LinearCombination, 1, 2)],
        };
        assert!((m.estimate(&trace) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn malformed_tables_are_refused_naming_the_entry() {
        let bad = table(vec![CostEntry {
            op: OpKind::Rescale,
            points: vec![(5, 1.0), (2, 0.5)],
            per_term: false,
        }]);
        let e = CostModel::from_table(bad, "costs.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("costs.json") && e.contains("rescale"), "{e}");
        let mut old = table(vec![]);
        old.format = 99;
        let e = CostModel::from_table(old, "costs.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("format 99"), "{e}");
        let e = CostModel::from_json("{", "x.json").unwrap_err().to_string();
        assert!(e.contains("x.json"), "{e}");
        let e = CostModel::load(Path::new("/nonexistent/costs.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/costs.json"), "{e}");
    }
}

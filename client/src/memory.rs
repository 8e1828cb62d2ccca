//! In-memory [`InputSource`] and [`OutputSink`]: plaintext tensors encrypted on the fly for any
//! backend with a [`SlotEncryptor`] (the simulator for `simulate`, the CPU backend with a
//! public key in tests), and outputs kept in memory. The batch order, shapes and levels are
//! exactly those of an encrypted dataset directory, so a run from memory and a run from disk
//! see the same values.

use std::collections::BTreeMap;

use blindtune_compiler::interp::data::DataSet;
use blindtune_runtime::backend::{Backend, CiphertextMeta};
use blindtune_runtime::executor::io::{Grid, InputSource, IoError, OutputSink};
use blindtune_runtime::plan::{layout, Plan};

use crate::cipher::SlotEncryptor;
use crate::dataset::{bind, cursor, encryption_scale, BatchCursor, BoundData, BoundInput};
use crate::error::Result;
use crate::tensors::{gather_output, Decrypted};

/// Plaintext inputs, encrypted when the executor asks for them.
pub struct MemorySource<E> {
    plan: Plan,
    bound: BoundData,
    encryptor: E,
    cursors: BTreeMap<String, BatchCursor>,
}

fn input_err(name: &str, e: impl std::fmt::Display) -> IoError {
    IoError::Input {
        name: name.to_string(),
        message: e.to_string(),
    }
}

impl<E> MemorySource<E> {
    /// Binds `data` to the plan's inputs (the same checks as `encrypt`).
    pub fn new(plan: &Plan, data: &DataSet, encryptor: E) -> Result<Self> {
        Ok(MemorySource {
            bound: bind(plan, data)?,
            plan: plan.clone(),
            encryptor,
            cursors: BTreeMap::new(),
        })
    }

    /// The named dimensions the data fixed.
    pub fn dims(&self) -> &BTreeMap<String, usize> {
        &self.bound.dims
    }

    fn input(&self, name: &str) -> Result<&BoundInput, IoError> {
        self.bound
            .get(name)
            .ok_or_else(|| input_err(name, "not bound (the plan does not read it)"))
    }

    fn encrypt_grid<B: Backend>(
        &self,
        backend: &B,
        input: &BoundInput,
        data: &[f64],
        rows: usize,
    ) -> Result<Grid<B::Ct>, IoError>
    where
        E: SlotEncryptor<B>,
    {
        let name = &input.spec.name;
        let level = input
            .spec
            .level
            .ok_or_else(|| input_err(name, "not secret"))?;
        let scale = encryption_scale(backend.params(), self.plan.max_level, level);
        layout::scatter(data, rows, input.cols, input.spec.layout, self.plan.block)
            .iter()
            .map(|row| {
                row.iter()
                    .map(|slots| {
                        self.encryptor
                            .encrypt(backend, slots, level, scale)
                            .map_err(|e| input_err(name, e))
                    })
                    .collect()
            })
            .collect()
    }
}

impl<B: Backend, E: SlotEncryptor<B>> InputSource<B> for MemorySource<E> {
    fn secret(&mut self, backend: &B, name: &str) -> Result<Grid<B::Ct>, IoError> {
        let input = self.input(name)?;
        if !input.spec.secret || input.spec.stream.is_some() {
            return Err(input_err(name, "not a whole secret input"));
        }
        self.encrypt_grid(backend, input, &input.data, input.rows)
    }

    fn public(&mut self, name: &str) -> Result<(Vec<f64>, [usize; 2]), IoError> {
        let input = self.input(name)?;
        if input.spec.secret {
            return Err(input_err(name, "a secret input, not a public one"));
        }
        Ok((input.data.clone(), [input.rows, input.cols]))
    }

    fn next_batch(&mut self, backend: &B, name: &str) -> Result<(Grid<B::Ct>, usize), IoError> {
        let input = self.input(name)?;
        if !self.cursors.contains_key(name) {
            let c = cursor(&self.plan, input).ok_or_else(|| input_err(name, "not streamed"))?;
            self.cursors.insert(name.to_string(), c);
        }
        let batch = self
            .cursors
            .get_mut(name)
            .expect("inserted above")
            .next()
            .ok_or_else(|| {
                input_err(
                    name,
                    "every batch of every entry has been read; the plan asks for more",
                )
            })?;
        let input = self.input(name)?;
        let rows = input.select_rows(&batch.rows);
        Ok((
            self.encrypt_grid(backend, input, &rows, batch.rows.len())?,
            batch.rows.len(),
        ))
    }

    fn dim(&self, name: &str) -> Option<usize> {
        self.bound.dims.get(name).copied()
    }
}

/// Output values kept in memory, in the order they were written.
#[derive(Debug)]
pub struct MemorySink<C> {
    pub values: Vec<(String, Vec<u64>, Grid<C>)>,
}

impl<C> Default for MemorySink<C> {
    fn default() -> Self {
        MemorySink { values: Vec::new() }
    }
}

impl<B: Backend> OutputSink<B> for MemorySink<B::Ct> {
    fn output(
        &mut self,
        _backend: &B,
        name: &str,
        trips: &[u64],
        grid: &Grid<B::Ct>,
    ) -> Result<(), IoError> {
        self.values
            .push((name.to_string(), trips.to_vec(), grid.clone()));
        Ok(())
    }
}

impl<C: CiphertextMeta> MemorySink<C> {
    /// Decrypts every value with `decrypt` (a ciphertext to its real slot values: the
    /// simulator's `decrypt`, or the owner's decryptor) and gathers the tensors.
    pub fn decrypt_with(
        &self,
        plan: &Plan,
        dims: &BTreeMap<String, usize>,
        mut decrypt: impl FnMut(&C) -> Vec<f64>,
    ) -> Result<Decrypted> {
        let mut out = Decrypted::default();
        for (name, trips, grid) in &self.values {
            let spec = plan
                .outputs
                .iter()
                .find(|o| &o.name == name)
                .ok_or_else(|| crate::error::ClientError::Output {
                    name: name.clone(),
                    message: "not an output of the plan".into(),
                })?;
            let blocks: Vec<Vec<Vec<f64>>> = grid
                .iter()
                .map(|r| r.iter().map(&mut decrypt).collect())
                .collect();
            let t = gather_output(spec, dims, plan.block, trips, &blocks)?;
            if trips.is_empty() {
                out.finals.push(t);
            } else {
                out.repeated.push(t);
            }
        }
        Ok(out)
    }
}

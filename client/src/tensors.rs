//! Decrypted outputs as tensors: a grid of slot vectors gathered back into the output's
//! row-major shape (padding cut, tiled or replicated copies read once), named like the output
//! (`weights`) or, per trip of a repeated output, `NAME.T` (`val_logits.3`; `NAME.T.U` with
//! nested loops), and written as safetensors.

use std::collections::BTreeMap;
use std::path::Path;

use blindtune_runtime::plan::{layout, BlockShape, OutputSpec};
use safetensors::Dtype;

use crate::dataset::resolve_shape;
use crate::error::{ClientError, Result};
use crate::features::output::{serialize, OwnedTensor};

/// One decrypted output value.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputTensor {
    pub name: String,
    /// trip indices of the enclosing loops (empty for a final output)
    pub trips: Vec<u64>,
    /// the program's shape (rank 0, 1 or 2)
    pub shape: Vec<usize>,
    /// row-major
    pub data: Vec<f64>,
}

impl OutputTensor {
    /// The tensor's name in a safetensors file: `NAME`, or `NAME.T[.U…]` per trip.
    pub fn tensor_name(&self) -> String {
        let mut s = self.name.clone();
        for t in &self.trips {
            s.push_str(&format!(".{t}"));
        }
        s
    }

    /// `[rows, cols]`.
    pub fn matrix(&self) -> [usize; 2] {
        match self.shape.as_slice() {
            [] => [1, 1],
            [c] => [1, *c],
            [r, c] => [*r, *c],
            _ => unreachable!("ranks above 2 are never built"),
        }
    }
}

/// The program's shape of an output `[rows, cols]` of rank `rank`.
pub fn program_shape(rank: usize, [rows, cols]: [usize; 2]) -> Vec<usize> {
    match rank {
        0 => vec![],
        1 => vec![cols],
        _ => vec![rows, cols],
    }
}

/// Gathers decrypted blocks (`blocks[row_block][col_block]`, each the block's slots) into the
/// output's tensor. The grid must have the blocks the layout needs.
pub fn gather_output(
    spec: &OutputSpec,
    dims: &BTreeMap<String, usize>,
    block: BlockShape,
    trips: &[u64],
    blocks: &[Vec<Vec<f64>>],
) -> Result<OutputTensor> {
    let err = |m: String| ClientError::Output {
        name: spec.name.clone(),
        message: m,
    };
    let [rows, cols] = resolve_shape(&spec.shape, dims).ok_or_else(|| {
        err(format!(
            "its shape {:?} names a dimension the run did not fix (known: {:?})",
            spec.shape, dims
        ))
    })?;
    let need = [
        spec.layout.rows.blocks(rows, block.s0),
        spec.layout.cols.blocks(cols, block.s1),
    ];
    let have = [blocks.len(), blocks.first().map_or(0, Vec::len)];
    if have[0] < need[0] || have[1] < need[1] || blocks.iter().any(|r| r.len() != have[1]) {
        return Err(err(format!(
            "{}×{} blocks where its layout {} of [{rows}, {cols}] needs {}×{}",
            have[0], have[1], spec.layout, need[0], need[1]
        )));
    }
    if let Some(s) = blocks.iter().flatten().find(|s| s.len() < block.slots()) {
        return Err(err(format!(
            "a block of {} slots where the plan's blocks have {}",
            s.len(),
            block.slots()
        )));
    }
    let data = layout::gather(blocks, rows, cols, spec.layout, block);
    Ok(OutputTensor {
        name: spec.name.clone(),
        trips: trips.to_vec(),
        shape: program_shape(spec.rank, [rows, cols]),
        data,
    })
}

/// Writes tensors (f64) to a safetensors file atomically.
pub fn write_safetensors(path: &Path, tensors: &[OutputTensor]) -> Result<()> {
    let owned: Vec<(String, OwnedTensor)> = tensors
        .iter()
        .map(|t| {
            (
                t.tensor_name(),
                OwnedTensor {
                    dtype: Dtype::F64,
                    shape: t.shape.clone(),
                    data: t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                },
            )
        })
        .collect();
    let bytes = serialize(&owned, None).map_err(|m| ClientError::Data {
        path: path.to_path_buf(),
        message: m,
    })?;
    crate::files::write_atomic(path, &bytes)
}

/// Outputs split into the final values and the per-trip values of repeated outputs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decrypted {
    /// outputs recorded once (the head: `weights`, `bias`)
    pub finals: Vec<OutputTensor>,
    /// repeated outputs, in trip order per output (validation logits per epoch)
    pub repeated: Vec<OutputTensor>,
}

impl Decrypted {
    pub fn get(&self, name: &str) -> Option<&OutputTensor> {
        self.finals.iter().find(|t| t.name == name)
    }
    /// The values of a repeated output, in trip order.
    pub fn trips(&self, name: &str) -> Vec<&OutputTensor> {
        let mut v: Vec<_> = self.repeated.iter().filter(|t| t.name == name).collect();
        v.sort_by(|a, b| a.trips.cmp(&b.trips));
        v
    }
}

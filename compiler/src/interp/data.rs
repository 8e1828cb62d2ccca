//! Loading tensors for the interpreter: `.safetensors` files (every tensor by name) and `.npy`
//! files (one tensor, named by the caller). Everything is converted to f64; integer dtypes are
//! remembered so labels can become one-hot matrices.

use ndarray::{ArrayD, IxDyn};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a valid safetensors file: {msg}")]
    SafeTensors { path: String, msg: String },
    #[error("{path}: tensor `{name}` has unsupported dtype {dtype}")]
    Dtype {
        path: String,
        name: String,
        dtype: String,
    },
    #[error("{path}: not a valid .npy file: {msg}")]
    Npy { path: String, msg: String },
}

#[derive(Clone, Debug)]
pub struct Tensor {
    pub data: ArrayD<f64>,
    /// stored with an integer dtype (labels)
    pub integer: bool,
}

pub type DataSet = BTreeMap<String, Tensor>;

pub fn load_safetensors(path: &Path) -> Result<DataSet, DataError> {
    let p = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| DataError::Io {
        path: p.clone(),
        source: e,
    })?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| DataError::SafeTensors {
        path: p.clone(),
        msg: e.to_string(),
    })?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        use safetensors::Dtype;
        let d = view.data();
        let (vals, integer): (Vec<f64>, bool) = match view.dtype() {
            Dtype::F32 => (
                d.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                    .collect(),
                false,
            ),
            Dtype::F64 => (
                d.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
                false,
            ),
            Dtype::U8 => (d.iter().map(|&b| b as f64).collect(), true),
            Dtype::I8 => (d.iter().map(|&b| b as i8 as f64).collect(), true),
            Dtype::I32 => (
                d.chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                    .collect(),
                true,
            ),
            Dtype::I64 => (
                d.chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
                    .collect(),
                true,
            ),
            other => {
                return Err(DataError::Dtype {
                    path: p.clone(),
                    name,
                    dtype: format!("{other:?}"),
                })
            }
        };
        let shape: Vec<usize> = view.shape().to_vec();
        let data =
            ArrayD::from_shape_vec(IxDyn(&shape), vals).map_err(|e| DataError::SafeTensors {
                path: p.clone(),
                msg: format!("tensor `{name}`: {e}"),
            })?;
        out.insert(name, Tensor { data, integer });
    }
    Ok(out)
}

pub fn load_npy(path: &Path) -> Result<Tensor, DataError> {
    use ndarray_npy::ReadNpyExt;
    let p = path.display().to_string();
    let open = || {
        std::fs::File::open(path).map_err(|e| DataError::Io {
            path: p.clone(),
            source: e,
        })
    };
    if let Ok(a) = ArrayD::<f64>::read_npy(open()?) {
        return Ok(Tensor {
            data: a,
            integer: false,
        });
    }
    if let Ok(a) = ArrayD::<f32>::read_npy(open()?) {
        return Ok(Tensor {
            data: a.mapv(|x| x as f64),
            integer: false,
        });
    }
    if let Ok(a) = ArrayD::<i64>::read_npy(open()?) {
        return Ok(Tensor {
            data: a.mapv(|x| x as f64),
            integer: true,
        });
    }
    if let Ok(a) = ArrayD::<i32>::read_npy(open()?) {
        return Ok(Tensor {
            data: a.mapv(|x| x as f64),
            integer: true,
        });
    }
    match ArrayD::<u8>::read_npy(open()?) {
        Ok(a) => Ok(Tensor {
            data: a.mapv(|x| x as f64),
            integer: true,
        }),
        Err(e) => Err(DataError::Npy {
            path: p,
            msg: format!("{e} (supported dtypes: f64, f32, i64, i32, u8)"),
        }),
    }
}

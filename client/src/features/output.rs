//! Writing features (and labels) to safetensors, optionally also `.npy`; and small safetensors
//! helpers shared by the tests and the bench.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::checkpoint::to_f32;
use super::error::{io_err, FeatureError, Result};
use super::images::Labels;

/// An owned tensor to serialise.
#[derive(Debug, Clone)]
pub struct OwnedTensor {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl OwnedTensor {
    pub fn f32(shape: Vec<usize>, values: &[f32]) -> Self {
        OwnedTensor {
            dtype: Dtype::F32,
            shape,
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
    pub fn labels(l: &Labels) -> Self {
        match l {
            Labels::U8(v) => OwnedTensor {
                dtype: Dtype::U8,
                shape: vec![v.len()],
                data: v.clone(),
            },
            Labels::I64(v) => OwnedTensor {
                dtype: Dtype::I64,
                shape: vec![v.len()],
                data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            },
        }
    }
}

/// Serialises named tensors (and `__metadata__`) to safetensors bytes.
pub fn serialize(
    tensors: &[(String, OwnedTensor)],
    metadata: Option<HashMap<String, String>>,
) -> std::result::Result<Vec<u8>, String> {
    let views = tensors
        .iter()
        .map(|(name, t)| {
            TensorView::new(t.dtype, t.shape.clone(), &t.data)
                .map(|v| (name.clone(), v))
                .map_err(|e| format!("tensor `{name}`: {e}"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    safetensors::serialize(views, metadata).map_err(|e| e.to_string())
}

/// Reads one floating-point tensor of a safetensors file as f32, with its shape.
pub fn read_f32(path: &Path, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| FeatureError::Safetensors {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let v = st.tensor(name).map_err(|_| FeatureError::Safetensors {
        path: path.to_path_buf(),
        message: format!("no tensor `{name}`"),
    })?;
    Ok((to_f32(name, v.dtype(), v.data())?, v.shape().to_vec()))
}

/// What `blindtune features` writes.
pub struct FeatureOutput<'a> {
    /// `[n, d]`
    pub features: &'a [f32],
    pub n: usize,
    pub d: usize,
    pub labels: Option<&'a Labels>,
    pub metadata: HashMap<String, String>,
}

/// Writes `features` f32 `[n, d]` and `labels` `[n]` (if any) to `path` as safetensors; with
/// `npy`, also `<stem>.features.npy` and `<stem>.labels.npy` beside it. Returns the files written.
pub fn write(out: &FeatureOutput, path: &Path, npy: bool) -> Result<Vec<PathBuf>> {
    let oerr = |m: String| FeatureError::Output {
        path: path.to_path_buf(),
        message: m,
    };
    let mut tensors = vec![(
        "features".to_string(),
        OwnedTensor::f32(vec![out.n, out.d], out.features),
    )];
    if let Some(l) = out.labels {
        tensors.push(("labels".to_string(), OwnedTensor::labels(l)));
    }
    let bytes = serialize(&tensors, Some(out.metadata.clone())).map_err(oerr)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    std::fs::write(path, bytes).map_err(io_err(path))?;
    let mut written = vec![path.to_path_buf()];
    if npy {
        let stem = path.with_extension("");
        let fpath = PathBuf::from(format!("{}.features.npy", stem.display()));
        let arr = ndarray::Array2::from_shape_vec((out.n, out.d), out.features.to_vec())
            .map_err(|e| oerr(e.to_string()))?;
        ndarray_npy::write_npy(&fpath, &arr).map_err(|e| FeatureError::Output {
            path: fpath.clone(),
            message: e.to_string(),
        })?;
        written.push(fpath);
        if let Some(l) = out.labels {
            let lpath = PathBuf::from(format!("{}.labels.npy", stem.display()));
            let r = match l {
                Labels::U8(v) => ndarray_npy::write_npy(&lpath, &ndarray::arr1(v)),
                Labels::I64(v) => ndarray_npy::write_npy(&lpath, &ndarray::arr1(v)),
            };
            r.map_err(|e| FeatureError::Output {
                path: lpath.clone(),
                message: e.to_string(),
            })?;
            written.push(lpath);
        }
    }
    Ok(written)
}

//! `evaluate`: a decrypted head scored on plaintext features. Logits are
//! `X_norm · Wᵀ + b` with the program's normalisation `X_norm = (X − train_mean) / train_std`
//! (`train_mean`/`train_std` from the data file when it has them, else computed from its
//! `train_x` rows, population std; a zero std divides by nothing, as the executor zeroes
//! `1/std` there); then accuracy (argmax), mean cross-entropy and the confusion matrix.

use std::path::Path;

use blindtune_compiler::interp::data::{load_safetensors, DataSet, Tensor};
use serde::Serialize;

use crate::error::{ClientError, Result};

#[derive(Clone, Debug)]
pub struct EvaluateOptions {
    /// features tensor of the data file
    pub x: String,
    /// labels tensor (integer `[n]`, or one-hot `[n, C]`)
    pub y: String,
    /// the head's weight `[C, D]` and bias `[C]` tensors
    pub weights: String,
    pub bias: String,
    /// normalise as the program does (off: raw features)
    pub normalize: bool,
}

impl Default for EvaluateOptions {
    fn default() -> Self {
        EvaluateOptions {
            x: "test_x".into(),
            y: "test_y".into(),
            weights: "weights".into(),
            bias: "bias".into(),
            normalize: true,
        }
    }
}

/// Accuracy, loss and confusion of logits against labels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Score {
    pub rows: usize,
    pub classes: usize,
    /// fraction of rows whose argmax logit is the label (first maximum on ties)
    pub accuracy: f64,
    /// mean cross-entropy of softmax(logits) against the labels
    pub loss: f64,
    /// `confusion[label][predicted]`
    pub confusion: Vec<Vec<u64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    #[serde(flatten)]
    pub score: Score,
    /// how the features were normalised
    pub normalization: String,
}

/// Scores row-major logits `[rows, classes]` against labels in `0..classes`.
pub fn score_logits(logits: &[f64], rows: usize, classes: usize, labels: &[usize]) -> Score {
    assert_eq!(logits.len(), rows * classes, "logits are [rows, classes]");
    assert_eq!(labels.len(), rows, "one label per row");
    let mut confusion = vec![vec![0u64; classes]; classes];
    let (mut correct, mut loss) = (0usize, 0.0);
    for (row, &y) in logits.chunks_exact(classes.max(1)).zip(labels) {
        let (mut best, mut arg) = (f64::NEG_INFINITY, 0);
        for (j, &v) in row.iter().enumerate() {
            if v > best {
                best = v;
                arg = j;
            }
        }
        correct += (arg == y) as usize;
        confusion[y][arg] += 1;
        let lse = best + row.iter().map(|v| (v - best).exp()).sum::<f64>().ln();
        loss += lse - row[y];
    }
    Score {
        rows,
        classes,
        accuracy: correct as f64 / rows.max(1) as f64,
        loss: loss / rows.max(1) as f64,
        confusion,
    }
}

/// `X_norm · Wᵀ + b` for `x` `[rows, dim]`, `w` `[classes, dim]`, `b` `[classes]`, with
/// `norm = (mean, std)` per feature.
pub fn logits(
    x: &[f64],
    rows: usize,
    dim: usize,
    w: &[f64],
    b: &[f64],
    norm: Option<(&[f64], &[f64])>,
) -> Vec<f64> {
    let classes = b.len();
    let mut out = vec![0.0; rows * classes];
    let mut xn = vec![0.0; dim];
    for i in 0..rows {
        let xi = &x[i * dim..(i + 1) * dim];
        for k in 0..dim {
            xn[k] = match norm {
                Some((m, s)) if s[k] != 0.0 => (xi[k] - m[k]) / s[k],
                Some(_) => 0.0,
                None => xi[k],
            };
        }
        for c in 0..classes {
            let wc = &w[c * dim..(c + 1) * dim];
            out[i * classes + c] = b[c] + wc.iter().zip(&xn).map(|(a, v)| a * v).sum::<f64>();
        }
    }
    out
}

/// Labels as class indices: integer `[n]`, or one-hot / scores `[n, C]` by argmax.
pub fn labels_of(t: &Tensor, classes: usize) -> std::result::Result<Vec<usize>, String> {
    let shape = t.data.shape();
    let v: Vec<f64> = t.data.iter().copied().collect();
    let labels: Vec<usize> = match shape {
        [_] => v
            .iter()
            .map(|&x| {
                if x >= 0.0 && x.fract() == 0.0 && (x as usize) < classes {
                    Ok(x as usize)
                } else {
                    Err(format!("label {x} is outside 0..{classes}"))
                }
            })
            .collect::<std::result::Result<_, _>>()?,
        [_, c] if *c == classes => v
            .chunks_exact(classes)
            .map(|r| {
                r.iter()
                    .enumerate()
                    .fold((0, f64::NEG_INFINITY), |(bi, bv), (j, &x)| {
                        if x > bv {
                            (j, x)
                        } else {
                            (bi, bv)
                        }
                    })
                    .0
            })
            .collect(),
        s => {
            return Err(format!(
                "labels of shape {s:?} (expected [n] or [n, {classes}])"
            ))
        }
    };
    Ok(labels)
}

/// Per-feature mean and population std of `[rows, dim]`.
pub fn mean_std(x: &[f64], rows: usize, dim: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = vec![0.0; dim];
    for r in x.chunks_exact(dim) {
        m.iter_mut().zip(r).for_each(|(a, v)| *a += v);
    }
    m.iter_mut().for_each(|a| *a /= rows.max(1) as f64);
    let mut s = vec![0.0; dim];
    for r in x.chunks_exact(dim) {
        s.iter_mut()
            .zip(r.iter().zip(&m))
            .for_each(|(a, (v, mu))| *a += (v - mu) * (v - mu));
    }
    s.iter_mut()
        .for_each(|a| *a = (*a / rows.max(1) as f64).sqrt());
    (m, s)
}

fn tensor<'a>(ds: &'a DataSet, name: &str, path: &Path) -> Result<&'a Tensor> {
    ds.get(name).ok_or_else(|| ClientError::Data {
        path: path.to_path_buf(),
        message: format!(
            "no tensor `{name}` (it has {})",
            ds.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    })
}

/// Scores the head in `head` on the data in `data`.
pub fn evaluate(head: &Path, data: &Path, opts: &EvaluateOptions) -> Result<Evaluation> {
    let data_err = |path: &Path, m: String| ClientError::Data {
        path: path.to_path_buf(),
        message: m,
    };
    let h = load_safetensors(head).map_err(|e| data_err(head, e.to_string()))?;
    let d = load_safetensors(data).map_err(|e| data_err(data, e.to_string()))?;
    let w = tensor(&h, &opts.weights, head)?;
    let b = tensor(&h, &opts.bias, head)?;
    let [classes, dim] = match w.data.shape() {
        [c, k] => [*c, *k],
        s => {
            return Err(data_err(
                head,
                format!(
                    "`{}` has shape {s:?}, not [classes, features]",
                    opts.weights
                ),
            ))
        }
    };
    if b.data.len() != classes {
        return Err(data_err(
            head,
            format!(
                "`{}` has {} values for {classes} classes",
                opts.bias,
                b.data.len()
            ),
        ));
    }
    let x = tensor(&d, &opts.x, data)?;
    let rows = match x.data.shape() {
        [n, k] if *k == dim => *n,
        s => {
            return Err(data_err(
                data,
                format!("`{}` has shape {s:?}, the head expects [n, {dim}]", opts.x),
            ))
        }
    };
    let labels = labels_of(tensor(&d, &opts.y, data)?, classes)
        .map_err(|m| data_err(data, format!("`{}`: {m}", opts.y)))?;
    if labels.len() != rows {
        return Err(data_err(
            data,
            format!("{} labels for {rows} rows", labels.len()),
        ));
    }
    let xv: Vec<f64> = x.data.iter().copied().collect();
    let wv: Vec<f64> = w.data.iter().copied().collect();
    let bv: Vec<f64> = b.data.iter().copied().collect();
    let (norm, how) = if !opts.normalize {
        (None, "none (raw features)".to_string())
    } else if let (Some(m), Some(s)) = (d.get("train_mean"), d.get("train_std")) {
        if m.data.len() != dim || s.data.len() != dim {
            return Err(data_err(
                data,
                format!("train_mean/train_std do not have {dim} values"),
            ));
        }
        (
            Some((
                m.data.iter().copied().collect::<Vec<_>>(),
                s.data.iter().copied().collect::<Vec<_>>(),
            )),
            "train_mean/train_std of the data file".to_string(),
        )
    } else if let Some(t) = d
        .get("train_x")
        .filter(|t| t.data.ndim() == 2 && t.data.shape()[1] == dim)
    {
        let tv: Vec<f64> = t.data.iter().copied().collect();
        (
            Some(mean_std(&tv, t.data.shape()[0], dim)),
            "mean/std computed from train_x".to_string(),
        )
    } else {
        return Err(data_err(
            data,
            "no train_mean/train_std and no train_x to normalise with (pass --raw for raw features)".into(),
        ));
    };
    let z = logits(
        &xv,
        rows,
        dim,
        &wv,
        &bv,
        norm.as_ref().map(|(m, s)| (m.as_slice(), s.as_slice())),
    );
    Ok(Evaluation {
        score: score_logits(&z, rows, classes, &labels),
        normalization: how,
    })
}

impl Score {
    /// A text table: accuracy, loss, and the confusion matrix (rows: label, columns: predicted).
    pub fn table(&self) -> String {
        let mut s = format!(
            "rows {}  classes {}  accuracy {:.2}%  loss {:.4}\n\nconfusion (rows: label, columns: predicted)\n",
            self.rows,
            self.classes,
            self.accuracy * 100.0,
            self.loss
        );
        let width = self
            .confusion
            .iter()
            .flatten()
            .map(|v| v.to_string().len())
            .max()
            .unwrap_or(1)
            .max(self.classes.saturating_sub(1).to_string().len())
            .max(3);
        s.push_str(&format!("{:>w$}", "", w = width + 1));
        for j in 0..self.classes {
            s.push_str(&format!(" {:>width$}", j));
        }
        s.push('\n');
        for (i, row) in self.confusion.iter().enumerate() {
            s.push_str(&format!("{:>width$}:", i));
            for v in row {
                s.push_str(&format!(" {:>width$}", v));
            }
            s.push('\n');
        }
        s
    }
}

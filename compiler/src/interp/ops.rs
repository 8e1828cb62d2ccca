//! f64 tensor kernels for the interpreter (ndarray), with numpy broadcasting.

use ndarray::{ArrayD, Axis, Ix2, IxDyn, Zip};

use crate::syntax::ast::BinOp;

pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return None;
        };
    }
    Some(out)
}

/// The scalar function of an elementwise binary operator (`None` for `@`, which is not
/// elementwise): one definition for the reference interpreter and the tensor IR's evaluator.
pub fn elementwise(op: BinOp) -> Option<fn(f64, f64) -> f64> {
    Some(match op {
        BinOp::Add => |a, b| a + b,
        BinOp::Sub => |a, b| a - b,
        BinOp::Mul => |a, b| a * b,
        BinOp::Div => |a, b| a / b,
        BinOp::Pow => |a: f64, b: f64| {
            if b.fract() == 0.0 && b.abs() < 1e9 {
                a.powi(b as i32)
            } else {
                a.powf(b)
            }
        },
        BinOp::Lt => |a, b| (a < b) as u8 as f64,
        BinOp::Le => |a, b| (a <= b) as u8 as f64,
        BinOp::Gt => |a, b| (a > b) as u8 as f64,
        BinOp::Ge => |a, b| (a >= b) as u8 as f64,
        BinOp::Eq => |a, b| (a == b) as u8 as f64,
        BinOp::Ne => |a, b| (a != b) as u8 as f64,
        BinOp::MatMul => return None,
    })
}

pub fn zip(a: &ArrayD<f64>, b: &ArrayD<f64>, f: impl Fn(f64, f64) -> f64) -> Option<ArrayD<f64>> {
    if a.shape() == b.shape() {
        return Some(Zip::from(a).and(b).map_collect(|&x, &y| f(x, y)));
    }
    let s = broadcast_shape(a.shape(), b.shape())?;
    let av = a.broadcast(IxDyn(&s))?;
    let bv = b.broadcast(IxDyn(&s))?;
    Some(Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y)))
}

pub fn matmul(a: &ArrayD<f64>, b: &ArrayD<f64>) -> Option<ArrayD<f64>> {
    let a2 = match a.ndim() {
        1 => a
            .view()
            .insert_axis(Axis(0))
            .into_dimensionality::<Ix2>()
            .ok()?,
        2 => a.view().into_dimensionality::<Ix2>().ok()?,
        _ => return None,
    };
    let b2 = match b.ndim() {
        1 => b
            .view()
            .insert_axis(Axis(1))
            .into_dimensionality::<Ix2>()
            .ok()?,
        2 => b.view().into_dimensionality::<Ix2>().ok()?,
        _ => return None,
    };
    if a2.ncols() != b2.nrows() {
        return None;
    }
    let mut r = a2.dot(&b2).into_dyn();
    if b.ndim() == 1 {
        r = r.index_axis_move(Axis(1), 0);
    }
    if a.ndim() == 1 {
        r = r.index_axis_move(Axis(0), 0);
    }
    Some(r)
}

/// Row softmax over the last axis (max-shifted).
pub fn softmax(x: &ArrayD<f64>) -> ArrayD<f64> {
    let mut out = x.clone();
    let last = Axis(x.ndim() - 1);
    for mut lane in out.lanes_mut(last) {
        let m = lane.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        lane.mapv_inplace(|v| (v - m).exp());
        let s: f64 = lane.sum();
        lane.mapv_inplace(|v| v / s);
    }
    out
}

pub fn row_reduce(x: &ArrayD<f64>, f: impl Fn(ndarray::ArrayView1<f64>) -> f64) -> ArrayD<f64> {
    let last = Axis(x.ndim() - 1);
    let mut shape = x.shape().to_vec();
    *shape.last_mut().unwrap() = 1;
    let vals: Vec<f64> = x.lanes(last).into_iter().map(f).collect();
    ArrayD::from_shape_vec(IxDyn(&shape), vals).expect("lane count matches")
}

/// Cyclic shift along the last axis: out[.., j] = x[.., (j + k) mod c] (a left rotation, as
/// CKKS `rotate(x, k)`).
pub fn roll(x: &ArrayD<f64>, k: i64) -> ArrayD<f64> {
    let last = Axis(x.ndim() - 1);
    let c = x.len_of(last) as i64;
    if c == 0 {
        return x.clone();
    }
    let k = k.rem_euclid(c) as usize;
    let mut out = x.clone();
    for (mut o, i) in out.lanes_mut(last).into_iter().zip(x.lanes(last)) {
        for j in 0..c as usize {
            o[j] = i[(j + k) % c as usize];
        }
    }
    out
}

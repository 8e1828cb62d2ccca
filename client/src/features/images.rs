//! Input images: a u8 tensor in a safetensors file, or a folder of PNGs. Either way the result
//! is an [`ImageSet`] of u8 pixels `[n, C, S, S]` already brought to the model's channels and size
//! (normalisation to f32 happens inside the forward pass, by lookup table).
//!
//! Resizing follows timm's eval transform on PIL images: shorter side to
//! `floor(img_size / crop_pct)` with PIL's separable resampling (antialiased bilinear or bicubic,
//! intermediate rounding to u8), then a centre crop of `img_size`. Images that already have the
//! model's size are used untouched. Channel conversion: grey to RGB by replication, RGB to grey
//! with PIL's `L` weights (299/587/114), alpha dropped.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use safetensors::{Dtype, SafeTensors};

use super::config::{Architecture, InputSpec, Interpolation};
use super::error::{io_err, FeatureError, Result};

/// Class labels, in the dtype they came in (u8 stays u8; other integer types become i64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Labels {
    U8(Vec<u8>),
    I64(Vec<i64>),
}

impl Labels {
    pub fn len(&self) -> usize {
        match self {
            Labels::U8(v) => v.len(),
            Labels::I64(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The labels of the given rows.
    pub fn select(&self, rows: &[usize]) -> Labels {
        match self {
            Labels::U8(v) => Labels::U8(rows.iter().map(|&i| v[i]).collect()),
            Labels::I64(v) => Labels::I64(rows.iter().map(|&i| v[i]).collect()),
        }
    }
}

/// Preprocessed images ready for [`super::DeiT::extract`].
#[derive(Debug, Clone)]
pub struct ImageSet {
    /// u8 `[n, C, S, S]`
    pub pixels: Vec<u8>,
    pub n: usize,
    pub labels: Option<Labels>,
    /// Source file of every image (PNG folders), relative to the folder.
    pub files: Vec<String>,
    /// Class names in label order (PNG folders with class subfolders).
    pub classes: Vec<String>,
}

/// One decoded image, channels first (planar), 8 bit.
struct Planar {
    c: usize,
    h: usize,
    w: usize,
    data: Vec<u8>,
}

fn img_err(path: &Path, message: impl Into<String>) -> FeatureError {
    FeatureError::Images {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

impl ImageSet {
    /// Loads images from `path`: a directory of PNGs or a safetensors file (by extension / type).
    pub fn load(
        path: impl AsRef<Path>,
        arch: &Architecture,
        input: &InputSpec,
        images_key: &str,
        labels_key: &str,
    ) -> Result<Self> {
        let path = path.as_ref();
        if path.is_dir() {
            Self::from_png_dir(path, arch, input)
        } else {
            Self::from_safetensors(path, arch, input, images_key, labels_key)
        }
    }

    /// Images from tensor `images_key`, u8 `[N, H, W]`, `[N, C, H, W]` or `[N, H, W, C]`
    /// (C in 1, 3, 4), and labels from `labels_key` (any integer dtype, `[N]`) if present.
    pub fn from_safetensors(
        path: &Path,
        arch: &Architecture,
        input: &InputSpec,
        images_key: &str,
        labels_key: &str,
    ) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| FeatureError::Safetensors {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let view = st.tensor(images_key).map_err(|_| {
            img_err(
                path,
                format!(
                    "no tensor `{images_key}` (tensors: {})",
                    st.names().join(", ")
                ),
            )
        })?;
        if view.dtype() != Dtype::U8 {
            return Err(img_err(
                path,
                format!(
                    "tensor `{images_key}` has dtype {:?}, expected U8",
                    view.dtype()
                ),
            ));
        }
        let shape = view.shape().to_vec();
        let is_c = |c: usize| matches!(c, 1 | 3 | 4);
        // (n, c, h, w, channels_last)
        let (n, c, h, w, last) = match shape.as_slice() {
            [n, h, w] => (*n, 1, *h, *w, false),
            [n, c, h, w] if is_c(*c) => (*n, *c, *h, *w, false),
            [n, h, w, c] if is_c(*c) => (*n, *c, *h, *w, true),
            _ => {
                return Err(img_err(
                    path,
                    format!(
                        "tensor `{images_key}` has shape {shape:?}; expected [N,H,W], [N,C,H,W] \
                         or [N,H,W,C] with C in 1, 3, 4"
                    ),
                ))
            }
        };
        if h == 0 || w == 0 {
            return Err(img_err(
                path,
                format!("tensor `{images_key}` has empty images"),
            ));
        }
        let data = view.data();
        let per = c * h * w;
        let out_per = arch.pixels_per_image();
        let mut pixels = vec![0u8; n * out_per];
        pixels
            .par_chunks_mut(out_per.max(1))
            .enumerate()
            .try_for_each(|(i, dst)| {
                let src = &data[i * per..(i + 1) * per];
                let planar = if last {
                    let mut p = vec![0u8; per];
                    for (px, chunk) in src.chunks_exact(c).enumerate() {
                        for (ch, &v) in chunk.iter().enumerate() {
                            p[ch * h * w + px] = v;
                        }
                    }
                    p
                } else {
                    src.to_vec()
                };
                preprocess(
                    Planar {
                        c,
                        h,
                        w,
                        data: planar,
                    },
                    arch,
                    input,
                    dst,
                )
                .map_err(|m| img_err(path, format!("image {i}: {m}")))
            })?;

        let labels = match st.tensor(labels_key) {
            Err(_) => None,
            Ok(l) => {
                if l.shape() != [n] {
                    return Err(img_err(
                        path,
                        format!(
                            "labels `{labels_key}` have shape {:?}, expected [{n}]",
                            l.shape()
                        ),
                    ));
                }
                Some(read_labels(path, labels_key, l.dtype(), l.data())?)
            }
        };
        tracing::info!(n, h, w, c, "images loaded from {}", path.display());
        Ok(ImageSet {
            pixels,
            n,
            labels,
            files: Vec::new(),
            classes: Vec::new(),
        })
    }

    /// PNGs from a folder. With class subfolders (`DIR/<class>/**/*.png`, the torchvision
    /// `ImageFolder` convention) labels are the indices of the sorted class names; a flat folder
    /// gives images without labels. Files are taken in sorted path order.
    pub fn from_png_dir(dir: &Path, arch: &Architecture, input: &InputSpec) -> Result<Self> {
        let mut subdirs = Vec::new();
        let mut top_files = Vec::new();
        for e in std::fs::read_dir(dir).map_err(io_err(dir))? {
            let e = e.map_err(io_err(dir))?;
            let p = e.path();
            if p.is_dir() {
                subdirs.push(p);
            } else if is_png(&p) {
                top_files.push(p);
            }
        }
        subdirs.sort();
        top_files.sort();
        let (files, labels, classes): (Vec<PathBuf>, Option<Vec<usize>>, Vec<String>) =
            if subdirs.is_empty() {
                (top_files, None, Vec::new())
            } else {
                if !top_files.is_empty() {
                    tracing::warn!(
                        "{} PNGs directly in {} are ignored (class subfolders are used)",
                        top_files.len(),
                        dir.display()
                    );
                }
                let mut files = Vec::new();
                let mut labels = Vec::new();
                let mut classes = Vec::new();
                for (ci, sd) in subdirs.iter().enumerate() {
                    let mut fs = Vec::new();
                    walk_pngs(sd, &mut fs)?;
                    fs.sort();
                    labels.extend(std::iter::repeat_n(ci, fs.len()));
                    files.extend(fs);
                    classes.push(sd.file_name().unwrap().to_string_lossy().into_owned());
                }
                (files, Some(labels), classes)
            };
        if files.is_empty() {
            return Err(img_err(dir, "no .png files found"));
        }
        let n = files.len();
        let out_per = arch.pixels_per_image();
        let mut pixels = vec![0u8; n * out_per];
        pixels
            .par_chunks_mut(out_per)
            .zip(files.par_iter())
            .try_for_each(|(dst, f)| {
                let img = decode_png(f)?;
                preprocess(img, arch, input, dst).map_err(|m| img_err(f, m))
            })?;
        let labels = labels.map(|l| {
            if classes.len() <= 256 {
                Labels::U8(l.iter().map(|&x| x as u8).collect())
            } else {
                Labels::I64(l.iter().map(|&x| x as i64).collect())
            }
        });
        let files = files
            .iter()
            .map(|f| {
                f.strip_prefix(dir)
                    .unwrap_or(f)
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        tracing::info!(
            n,
            classes = classes.len(),
            "PNGs loaded from {}",
            dir.display()
        );
        Ok(ImageSet {
            pixels,
            n,
            labels,
            files,
            classes,
        })
    }

    /// The images (and labels) of the given rows, in that order.
    pub fn select(&self, rows: &[usize]) -> ImageSet {
        let per = self.pixels.len() / self.n.max(1);
        let mut pixels = Vec::with_capacity(rows.len() * per);
        for &r in rows {
            pixels.extend_from_slice(&self.pixels[r * per..(r + 1) * per]);
        }
        ImageSet {
            pixels,
            n: rows.len(),
            labels: self.labels.as_ref().map(|l| l.select(rows)),
            files: if self.files.is_empty() {
                Vec::new()
            } else {
                rows.iter().map(|&r| self.files[r].clone()).collect()
            },
            classes: self.classes.clone(),
        }
    }
}

fn read_labels(path: &Path, key: &str, dtype: Dtype, b: &[u8]) -> Result<Labels> {
    Ok(match dtype {
        Dtype::U8 => Labels::U8(b.to_vec()),
        Dtype::I8 => Labels::I64(b.iter().map(|&x| x as i8 as i64).collect()),
        Dtype::I16 => Labels::I64(
            b.chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
        ),
        Dtype::U16 => Labels::I64(
            b.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
        ),
        Dtype::I32 => Labels::I64(
            b.chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64)
                .collect(),
        ),
        Dtype::U32 => Labels::I64(
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as i64)
                .collect(),
        ),
        Dtype::I64 => Labels::I64(
            b.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        other => {
            return Err(img_err(
                path,
                format!("labels `{key}` have dtype {other:?}, expected an integer type"),
            ))
        }
    })
}

fn is_png(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"))
}

fn walk_pngs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let p = e.map_err(io_err(dir))?.path();
        if p.is_dir() {
            walk_pngs(&p, out)?;
        } else if is_png(&p) {
            out.push(p);
        }
    }
    Ok(())
}

fn decode_png(path: &Path) -> Result<Planar> {
    let perr = |m: String| FeatureError::Png {
        path: path.to_path_buf(),
        message: m,
    };
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut dec = png::Decoder::new(BufReader::new(file));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(|e| perr(e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| perr("image too large".into()))?;
    let mut buf = vec![0u8; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| perr(e.to_string()))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let c = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(perr("indexed colour was not expanded".into())),
    };
    let mut data = vec![0u8; c * h * w];
    for y in 0..h {
        let row = &buf[y * info.line_size..][..w * c];
        for x in 0..w {
            for ch in 0..c {
                data[ch * h * w + y * w + x] = row[x * c + ch];
            }
        }
    }
    Ok(Planar { c, h, w, data })
}

/// Channel conversion, resize, centre crop into `dst` `[C, S, S]`.
fn preprocess(
    img: Planar,
    arch: &Architecture,
    input: &InputSpec,
    dst: &mut [u8],
) -> Result<(), String> {
    let img = convert_channels(img, arch.in_chans)?;
    let s = arch.img_size;
    let (h, w) = (img.h, img.w);
    if h == s && w == s {
        dst.copy_from_slice(&img.data);
        return Ok(());
    }
    // timm: scale_size = floor(img_size / crop_pct); torchvision Resize(int) scales the shorter
    // side to it, the longer to int(size * long / short); CenterCrop rounds the offset.
    let scale = ((s as f64 / input.crop_pct) + 1e-9).floor() as usize;
    let (nh, nw) = if h <= w {
        (scale, (scale as f64 * w as f64 / h as f64) as usize)
    } else {
        ((scale as f64 * h as f64 / w as f64) as usize, scale)
    };
    if nh < s || nw < s {
        return Err(format!(
            "resized image {nh}x{nw} is smaller than the crop {s}"
        ));
    }
    let top = ((nh - s) as f64 / 2.0).round() as usize;
    let left = ((nw - s) as f64 / 2.0).round() as usize;
    let hw = h * w;
    for c in 0..img.c {
        let plane = &img.data[c * hw..(c + 1) * hw];
        let resized = resize_plane(plane, h, w, nh, nw, input.interpolation);
        for y in 0..s {
            dst[c * s * s + y * s..][..s].copy_from_slice(&resized[(top + y) * nw + left..][..s]);
        }
    }
    Ok(())
}

fn convert_channels(img: Planar, want: usize) -> Result<Planar, String> {
    let hw = img.h * img.w;
    let data = match (img.c, want) {
        (a, b) if a == b => return Ok(img),
        (1, 3) => img.data.repeat(3),
        (2, 1) | (4, 3) => img.data[..want * hw].to_vec(),
        (2, 3) => img.data[..hw].repeat(3),
        (3, 1) | (4, 1) => {
            let (r, g, b) = (
                &img.data[..hw],
                &img.data[hw..2 * hw],
                &img.data[2 * hw..3 * hw],
            );
            (0..hw)
                .map(|i| {
                    // PIL ImagingConvert RGB->L: (r*19595 + g*38470 + b*7471 + 0x8000) >> 16
                    ((r[i] as u32 * 19595 + g[i] as u32 * 38470 + b[i] as u32 * 7471 + 0x8000)
                        >> 16) as u8
                })
                .collect()
        }
        (a, b) => return Err(format!("cannot convert {a} channels to {b}")),
    };
    Ok(Planar {
        c: want,
        h: img.h,
        w: img.w,
        data,
    })
}

/// PIL-style separable resampling of one u8 plane (horizontal pass, then vertical, rounding to u8
/// in between as PIL does for 8-bit images).
pub fn resize_plane(
    src: &[u8],
    h: usize,
    w: usize,
    nh: usize,
    nw: usize,
    f: Interpolation,
) -> Vec<u8> {
    if f == Interpolation::Nearest {
        // The source pixel that contains the output pixel's centre.
        let map = |i: usize, n: usize, m: usize| {
            (((i as f64 + 0.5) * m as f64 / n as f64) as usize).min(m - 1)
        };
        let mut out = vec![0u8; nh * nw];
        for y in 0..nh {
            let sy = map(y, nh, h);
            for x in 0..nw {
                out[y * nw + x] = src[sy * w + map(x, nw, w)];
            }
        }
        return out;
    }
    let horiz = if nw == w {
        src.to_vec()
    } else {
        let (bounds, weights, ksize) = coefficients(w, nw, f);
        let mut out = vec![0u8; h * nw];
        for y in 0..h {
            let row = &src[y * w..(y + 1) * w];
            for x in 0..nw {
                let (lo, len) = bounds[x];
                let k = &weights[x * ksize..][..len];
                let v: f64 = k
                    .iter()
                    .zip(&row[lo..lo + len])
                    .map(|(a, &b)| a * b as f64)
                    .sum();
                out[y * nw + x] = clip8(v);
            }
        }
        out
    };
    if nh == h {
        return horiz;
    }
    let (bounds, weights, ksize) = coefficients(h, nh, f);
    let mut out = vec![0u8; nh * nw];
    for y in 0..nh {
        let (lo, len) = bounds[y];
        let k = &weights[y * ksize..][..len];
        for x in 0..nw {
            let v: f64 = k
                .iter()
                .enumerate()
                .map(|(i, a)| a * horiz[(lo + i) * nw + x] as f64)
                .sum();
            out[y * nw + x] = clip8(v);
        }
    }
    out
}

fn clip8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// PIL `precompute_coeffs`: for every output index, the first input index, the tap count and
/// normalised weights (stored with stride `ksize`).
fn coefficients(
    inp: usize,
    out: usize,
    f: Interpolation,
) -> (Vec<(usize, usize)>, Vec<f64>, usize) {
    let (support, filter): (f64, fn(f64) -> f64) = match f {
        Interpolation::Nearest => unreachable!("nearest is resampled directly"),
        Interpolation::Bilinear => (1.0, |x| {
            let x = x.abs();
            if x < 1.0 {
                1.0 - x
            } else {
                0.0
            }
        }),
        Interpolation::Bicubic => (2.0, |x| {
            let a = -0.5;
            let x = x.abs();
            if x < 1.0 {
                ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
            } else if x < 2.0 {
                (((x - 5.0) * x + 8.0) * x - 4.0) * a
            } else {
                0.0
            }
        }),
    };
    let scale = inp as f64 / out as f64;
    let filterscale = scale.max(1.0);
    let support = support * filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(out);
    let mut weights = vec![0.0; out * ksize];
    for xx in 0..out {
        let center = (xx as f64 + 0.5) * scale;
        let xmin = ((center - support + 0.5).floor().max(0.0)) as usize;
        let xmax = ((center + support + 0.5).floor() as usize).min(inp);
        let len = xmax.saturating_sub(xmin).min(ksize);
        let k = &mut weights[xx * ksize..][..len];
        let mut ww = 0.0;
        for (x, kv) in k.iter_mut().enumerate() {
            let wv = filter((x as f64 + xmin as f64 - center + 0.5) / filterscale);
            *kv = wv;
            ww += wv;
        }
        if ww != 0.0 {
            for kv in k.iter_mut() {
                *kv /= ww;
            }
        }
        bounds.push((xmin, len));
    }
    (bounds, weights, ksize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upscale_constant_stays_constant_and_downscale_averages() {
        for f in [
            Interpolation::Nearest,
            Interpolation::Bilinear,
            Interpolation::Bicubic,
        ] {
            let up = resize_plane(&[77u8; 4 * 6], 4, 6, 9, 13, f);
            assert!(up.iter().all(|&v| v == 77), "{f:?}");
        }
        // 2x downscale of a 0/200 checkerboard with the antialiased triangle filter (support 2
        // input pixels, renormalised at the borders as in PIL): close to the mean 100.
        let src: Vec<u8> = (0..16)
            .map(|i| if (i / 4 + i % 4) % 2 == 0 { 0 } else { 200 })
            .collect();
        let down = resize_plane(&src, 4, 4, 2, 2, Interpolation::Bilinear);
        assert_eq!(down, [98, 102, 102, 98]);
        let total: u32 = down.iter().map(|&v| v as u32).sum();
        assert_eq!(total, 400);
    }
}

//! Payload encodings of each object, with validation against the context on load.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::codec::{Reader, Writer};
use super::envelope::{hex, open, seal, FormatError, ObjectKind};
use crate::ckks::ciphertext::Ciphertext;
use crate::ckks::context::Context;
use crate::ckks::keys::{
    EvaluationKeys, GaloisKey, PublicKey, RelinearizationKey, SecretKey, SwitchingKey,
};
use crate::ckks::params::{Params, ParamsLiteral};
use crate::ckks::plaintext::Plaintext;
use crate::ckks::rns::Poly;
use crate::ckks::sampling::Sampler;

/// An object with a payload encoding in the blindtune format.
pub trait Serializable: Sized {
    const KIND: ObjectKind;
    fn write_payload(&self, w: &mut Writer);
    fn read_payload(ctx: &Context, r: &mut Reader<'_>) -> Result<Self, FormatError>;

    /// The complete file contents.
    fn to_bytes(&self, ctx: &Context) -> Vec<u8> {
        let mut w = Writer::default();
        self.write_payload(&mut w);
        seal(Self::KIND, ctx.params().fingerprint(), &w.buf)
    }

    /// Parses and validates complete file contents.
    fn from_bytes(ctx: &Context, data: &[u8]) -> Result<Self, FormatError> {
        let opened = open(data, Self::KIND)?;
        let expected = ctx.params().fingerprint();
        if opened.fingerprint != expected {
            return Err(FormatError::ParameterMismatch {
                expected: hex(&expected),
                found: hex(&opened.fingerprint),
            });
        }
        let mut r = Reader::new(opened.payload);
        let obj = Self::read_payload(ctx, &mut r)?;
        r.finish("payload")?;
        Ok(obj)
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed to disk, then
/// renamed over the target (a crash leaves the old file or the new one, never half of it;
/// a failed write removes the temporary file).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FormatError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        FormatError::Io {
            path: path.display().to_string(),
            source,
        }
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, FormatError> {
    std::fs::read(path).map_err(|source| FormatError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Saves an object (write to a temporary file, then rename).
pub fn save<T: Serializable>(ctx: &Context, obj: &T, path: &Path) -> Result<(), FormatError> {
    write_atomically(path, &obj.to_bytes(ctx))
}

/// Loads and validates an object; errors name the file.
pub fn load<T: Serializable>(ctx: &Context, path: &Path) -> Result<T, FormatError> {
    let data = read_file(path)?;
    T::from_bytes(ctx, &data).map_err(|e| e.in_file(path))
}

/// Loads evaluation keys for a cloud runtime. A secret key file is refused outright.
pub fn load_evaluation_keys(ctx: &Context, path: &Path) -> Result<EvaluationKeys, FormatError> {
    load::<EvaluationKeys>(ctx, path)
}

/// Saves a parameter set.
pub fn save_params(params: &Params, path: &Path) -> Result<(), FormatError> {
    write_atomically(path, &params_to_bytes(params))
}

/// Loads a parameter set, re-running every check (including 128-bit security for sets that
/// were saved as secure).
pub fn load_params(path: &Path) -> Result<Params, FormatError> {
    let data = read_file(path)?;
    params_from_bytes(&data).map_err(|e| e.in_file(path))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ParamsPayload {
    literal: ParamsLiteral,
    q: Vec<u64>,
    p: Vec<u64>,
    secure: bool,
}

pub fn params_to_bytes(params: &Params) -> Vec<u8> {
    let payload = ParamsPayload {
        literal: params.literal().clone(),
        q: params.q().to_vec(),
        p: params.p().to_vec(),
        secure: params.is_secure(),
    };
    let json = serde_json::to_vec(&payload).expect("parameters serialize");
    seal(ObjectKind::Params, params.fingerprint(), &json)
}

pub fn params_from_bytes(data: &[u8]) -> Result<Params, FormatError> {
    let opened = open(data, ObjectKind::Params)?;
    let payload: ParamsPayload =
        serde_json::from_slice(opened.payload).map_err(|e| FormatError::Malformed {
            field: "parameters",
            reason: e.to_string(),
        })?;
    let params = Params::from_primes(payload.literal, payload.q, payload.p, payload.secure)
        .map_err(|e| FormatError::Malformed {
            field: "parameters",
            reason: e.to_string(),
        })?;
    if params.fingerprint() != opened.fingerprint {
        return Err(FormatError::ParameterMismatch {
            expected: hex(&params.fingerprint()),
            found: hex(&opened.fingerprint),
        });
    }
    Ok(params)
}

// ------------------------------------------------------------------ polynomials

pub(crate) fn write_poly(w: &mut Writer, p: &Poly) {
    w.u32(p.num_limbs() as u32);
    w.u64s(p.data());
}

pub(crate) fn read_poly(
    ctx: &Context,
    r: &mut Reader<'_>,
    idx: &[usize],
    field: &'static str,
) -> Result<Poly, FormatError> {
    let limbs = r.u32(field)? as usize;
    if limbs != idx.len() {
        return Err(FormatError::Malformed {
            field,
            reason: format!("{limbs} limbs where {} are expected", idx.len()),
        });
    }
    let n = ctx.n();
    let data = r.u64s(limbs * n, field)?;
    for (j, limb) in data.chunks_exact(n).enumerate() {
        let q = ctx.basis().modulus(idx[j]).value();
        if let Some(k) = limb.iter().position(|&x| x >= q) {
            return Err(FormatError::Malformed {
                field,
                reason: format!("residue {k} of limb {j} is not reduced modulo {q}"),
            });
        }
    }
    Ok(Poly::from_data(n, data))
}

fn read_level(ctx: &Context, r: &mut Reader<'_>) -> Result<usize, FormatError> {
    let level = r.u32("level")? as usize;
    if level > ctx.max_level() {
        return Err(FormatError::Malformed {
            field: "level",
            reason: format!("{level} exceeds the maximum level {}", ctx.max_level()),
        });
    }
    Ok(level)
}

fn read_scale_slots(ctx: &Context, r: &mut Reader<'_>) -> Result<(f64, usize), FormatError> {
    let scale = r.f64("scale")?;
    if !(scale.is_finite() && scale >= 1.0) {
        return Err(FormatError::Malformed {
            field: "scale",
            reason: format!("{scale} is not a finite number ≥ 1"),
        });
    }
    let slots = r.u32("slots")? as usize;
    if !slots.is_power_of_two() || slots > ctx.n() / 2 {
        return Err(FormatError::Malformed {
            field: "slots",
            reason: format!("{slots} is not a power of two ≤ {}", ctx.n() / 2),
        });
    }
    Ok((scale, slots))
}

impl Serializable for Plaintext {
    const KIND: ObjectKind = ObjectKind::Plaintext;
    fn write_payload(&self, w: &mut Writer) {
        w.u32(self.level as u32);
        w.f64(self.scale);
        w.u32(self.slots as u32);
        write_poly(w, &self.poly);
    }
    fn read_payload(ctx: &Context, r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let level = read_level(ctx, r)?;
        let (scale, slots) = read_scale_slots(ctx, r)?;
        let poly = read_poly(
            ctx,
            r,
            &ctx.basis().q_indices(level),
            "plaintext polynomial",
        )?;
        Ok(Plaintext {
            poly,
            level,
            scale,
            slots,
        })
    }
}

impl Serializable for Ciphertext {
    const KIND: ObjectKind = ObjectKind::Ciphertext;
    fn write_payload(&self, w: &mut Writer) {
        w.u32(self.level as u32);
        w.f64(self.scale);
        w.u32(self.slots as u32);
        w.u8(self.parts.len() as u8);
        for p in &self.parts {
            write_poly(w, p);
        }
    }
    fn read_payload(ctx: &Context, r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let level = read_level(ctx, r)?;
        let (scale, slots) = read_scale_slots(ctx, r)?;
        let parts = r.u8("ciphertext degree")? as usize;
        if !(2..=3).contains(&parts) {
            return Err(FormatError::Malformed {
                field: "ciphertext degree",
                reason: format!("{parts} polynomials (2 or 3 expected)"),
            });
        }
        let idx = ctx.basis().q_indices(level);
        let parts = (0..parts)
            .map(|_| read_poly(ctx, r, &idx, "ciphertext polynomial"))
            .collect::<Result<_, _>>()?;
        Ok(Ciphertext {
            parts,
            level,
            scale,
            slots,
        })
    }
}

impl Serializable for PublicKey {
    const KIND: ObjectKind = ObjectKind::PublicKey;
    fn write_payload(&self, w: &mut Writer) {
        write_poly(w, &self.b);
        write_poly(w, &self.a);
    }
    fn read_payload(ctx: &Context, r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let idx = ctx.basis().q_indices(ctx.max_level());
        let b = read_poly(ctx, r, &idx, "public key b")?;
        let a = read_poly(ctx, r, &idx, "public key a")?;
        Ok(PublicKey {
            b,
            a,
            fingerprint: ctx.params().fingerprint(),
        })
    }
}

impl Serializable for SecretKey {
    const KIND: ObjectKind = ObjectKind::SecretKey;
    fn write_payload(&self, w: &mut Writer) {
        w.u32(self.coeffs.len() as u32);
        w.buf.extend(self.coeffs.iter().map(|&c| c as i8 as u8));
    }
    fn read_payload(ctx: &Context, r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let n = r.u32("secret key length")? as usize;
        if n != ctx.n() {
            return Err(FormatError::Malformed {
                field: "secret key length",
                reason: format!("{n} coefficients for a ring of degree {}", ctx.n()),
            });
        }
        let raw = r.take(n, "secret key coefficients")?;
        let mut coeffs = Vec::with_capacity(n);
        for (k, &b) in raw.iter().enumerate() {
            let c = b as i8 as i64;
            if !(-1..=1).contains(&c) {
                return Err(FormatError::Malformed {
                    field: "secret key coefficients",
                    reason: format!("coefficient {k} is {c}, not ternary"),
                });
            }
            coeffs.push(c);
        }
        let basis = ctx.basis();
        let idx = basis.all_indices();
        let mut poly = Poly::from_signed(n, basis, &idx, &coeffs);
        poly.ntt(basis, &idx);
        Ok(SecretKey {
            coeffs,
            poly,
            fingerprint: ctx.params().fingerprint(),
        })
    }
}

/// Set in the digit count of a key held below the top level; the level follows.
const TRUNCATED: u32 = 1 << 31;
/// Set in the digit count of a key whose uniform halves are stored as seeds (32 bytes per
/// digit instead of a polynomial).
const SEEDED: u32 = 1 << 30;

/// A key at the top level is written as format 1 always was (digit count, then the digits);
/// a key held only up to a lower level sets [`TRUNCATED`] in the digit count and writes its
/// level next (a format-1 reader refuses it with a digit-count error rather than misreading).
pub(crate) fn write_switching_key(w: &mut Writer, k: &SwitchingKey) {
    let seeded = if k.a_seeds.is_some() { SEEDED } else { 0 };
    if k.truncated {
        w.u32(TRUNCATED | seeded | k.b.len() as u32);
        w.u32(k.max_level as u32);
    } else {
        w.u32(seeded | k.b.len() as u32);
    }
    if let Some(seeds) = &k.a_seeds {
        for (b, seed) in k.b.iter().zip(seeds) {
            write_poly(w, b);
            w.bytes(seed);
        }
        return;
    }
    for (b, a) in k.b.iter().zip(&k.a) {
        write_poly(w, b);
        write_poly(w, a);
    }
}

pub(crate) fn read_switching_key(
    ctx: &Context,
    r: &mut Reader<'_>,
) -> Result<SwitchingKey, FormatError> {
    let raw = r.u32("key digits")?;
    let max_level = if raw & TRUNCATED != 0 {
        let level = r.u32("key level")? as usize;
        if level >= ctx.max_level() {
            return Err(FormatError::Malformed {
                field: "key level",
                reason: format!(
                    "a truncated key must be below the top level {}, found {level}",
                    ctx.max_level()
                ),
            });
        }
        level
    } else {
        ctx.max_level()
    };
    let dnum = (raw & !(TRUNCATED | SEEDED)) as usize;
    let expected = ctx.digits(max_level).len();
    if dnum != expected {
        return Err(FormatError::Malformed {
            field: "key digits",
            reason: format!(
                "{dnum} digits where the parameters have {expected} at level {max_level}"
            ),
        });
    }
    let basis = ctx.basis();
    let idx: Vec<usize> = (0..=max_level)
        .chain(basis.p_indices().iter().copied())
        .collect();
    let mut b = Vec::with_capacity(dnum);
    let mut a = Vec::with_capacity(dnum);
    let mut seeds = Vec::new();
    for _ in 0..dnum {
        b.push(read_poly(ctx, r, &idx, "switching key b")?);
        if raw & SEEDED != 0 {
            let bytes = r.bytes("switching key seed")?;
            let seed: [u8; 32] = bytes.try_into().map_err(|_| FormatError::Malformed {
                field: "switching key seed",
                reason: format!("{} bytes where a seed has 32", bytes.len()),
            })?;
            a.push(Sampler::uniform_poly_from_seed(ctx.basis(), &idx, &seed));
            seeds.push(seed);
        } else {
            a.push(read_poly(ctx, r, &idx, "switching key a")?);
        }
    }
    Ok(SwitchingKey {
        b,
        a,
        max_level,
        truncated: raw & TRUNCATED != 0,
        a_seeds: (raw & SEEDED != 0).then_some(seeds),
    })
}

impl Serializable for EvaluationKeys {
    const KIND: ObjectKind = ObjectKind::EvaluationKeys;
    fn write_payload(&self, w: &mut Writer) {
        match &self.relin {
            Some(k) => {
                w.u8(1);
                write_switching_key(w, &k.key);
            }
            None => w.u8(0),
        }
        w.u32(self.galois.len() as u32);
        for (g, k) in &self.galois {
            w.u64(*g);
            write_switching_key(w, &k.key);
        }
    }
    fn read_payload(ctx: &Context, r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let relin = match r.u8("relinearization flag")? {
            0 => None,
            1 => Some(RelinearizationKey {
                key: read_switching_key(ctx, r)?,
            }),
            x => {
                return Err(FormatError::Malformed {
                    field: "relinearization flag",
                    reason: format!("{x} is neither 0 nor 1"),
                })
            }
        };
        let count = r.u32("Galois key count")? as usize;
        let two_n = 2 * ctx.n() as u64;
        let mut galois = BTreeMap::new();
        for _ in 0..count {
            let element = r.u64("Galois element")?;
            if element % 2 == 0 || element >= two_n {
                return Err(FormatError::Malformed {
                    field: "Galois element",
                    reason: format!("{element} is not odd and below 2N"),
                });
            }
            let key = read_switching_key(ctx, r)?;
            if galois.insert(element, GaloisKey { element, key }).is_some() {
                return Err(FormatError::Malformed {
                    field: "Galois element",
                    reason: format!("{element} appears twice"),
                });
            }
        }
        Ok(EvaluationKeys {
            relin,
            galois,
            fingerprint: ctx.params().fingerprint(),
        })
    }
}

/// A grid of ciphertexts, `grid[row_block][col_block]`, stored as one file: the blocks of one
/// tensor (or of one batch of a streamed input). Every block has the same level and slot
/// count.
#[derive(Clone, Debug, PartialEq)]
pub struct CiphertextGrid(pub Vec<Vec<Ciphertext>>);

/// Layout tag of the ciphertext-grid payload.
const GRID_LAYOUT: u8 = 1;

impl CiphertextGrid {
    /// `(row blocks, column blocks)`.
    pub fn dims(&self) -> (usize, usize) {
        (self.0.len(), self.0.first().map_or(0, Vec::len))
    }
}

/// Payload: layout tag, row and column block counts (u32 each, both ≥ 1), then each
/// ciphertext's payload, row-major.
impl Serializable for CiphertextGrid {
    const KIND: ObjectKind = ObjectKind::CiphertextGrid;
    fn write_payload(&self, w: &mut Writer) {
        let (rows, cols) = self.dims();
        w.u8(GRID_LAYOUT);
        w.u32(rows as u32);
        w.u32(cols as u32);
        for ct in self.0.iter().flatten() {
            ct.write_payload(w);
        }
    }
    fn read_payload(ctx: &Context, r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let layout = r.u8("ciphertext grid layout")?;
        if layout != GRID_LAYOUT {
            return Err(FormatError::Malformed {
                field: "ciphertext grid layout",
                reason: format!(
                    "layout {layout} is not supported (this build reads {GRID_LAYOUT})"
                ),
            });
        }
        let rows = r.u32("grid row blocks")? as usize;
        let cols = r.u32("grid column blocks")? as usize;
        if rows == 0 || cols == 0 {
            return Err(FormatError::Malformed {
                field: "grid dimensions",
                reason: format!("{rows}×{cols} blocks (both must be at least 1)"),
            });
        }
        // No allocation sized by the header: a forged count runs out of bytes instead.
        let mut grid: Vec<Vec<Ciphertext>> = Vec::new();
        let mut first: Option<(usize, usize)> = None;
        for _ in 0..rows {
            let mut row = Vec::new();
            for _ in 0..cols {
                let ct = Ciphertext::read_payload(ctx, r)?;
                match first {
                    None => first = Some((ct.level, ct.slots)),
                    Some((l, s)) if (l, s) != (ct.level, ct.slots) => {
                        return Err(FormatError::Malformed {
                            field: "grid block",
                            reason: format!(
                                "block at level {} with {} slots where the first is at level {l} with {s}",
                                ct.level, ct.slots
                            ),
                        })
                    }
                    _ => {}
                }
                row.push(ct);
            }
            grid.push(row);
        }
        Ok(CiphertextGrid(grid))
    }
}

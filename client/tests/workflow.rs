//! The data owner / cloud workflow on a hand-built plan (insecure N = 2^12 set): keygen →
//! encrypt → the cloud reads every input through `EncryptedDirSource` and writes it back
//! through `ModelDirSink` → decrypt, and the result equals the data within 2^-20 (fresh
//! public-key encryptions at scale 2^40 of values in [-1, 1] carry about 2^-28 of error).
//! Streams come in numpy's permutation order; the secret key is private and refused by the
//! cloud's loader; damaged files are refused by name.

mod common;

use std::path::{Path, PathBuf};

use blindtune_client::cipher::SimEncryptor;
use blindtune_client::cloud::{cpu_backend, load_eval_bundle, EncryptedDirSource, ModelDirSink};
use blindtune_client::dataset::BatchCursor;
use blindtune_client::encrypt::{encrypt, EncryptOptions};
use blindtune_client::keyfiles::{EVAL_BUNDLE_FILE, PUBLIC_KEY_FILE, SECRET_KEY_FILE};
use blindtune_client::memory::{MemorySink, MemorySource};
use blindtune_client::owner::{decrypt, keygen, keygen_with, KeygenOptions};
use blindtune_client::tensors::Decrypted;
use blindtune_compiler::interp::data::DataSet;
use blindtune_runtime::backend::SimBackend;
use blindtune_runtime::ckks::testing::next_seed;
use blindtune_runtime::executor::io::InputSource;
use common::*;

/// Precision bound of a fresh encryption round trip, in bits.
const BITS: i32 = 20;

fn col(ds: &DataSet, name: &str) -> Vec<f64> {
    ds[name].data.iter().copied().collect()
}

/// Checks decrypted echo outputs against the data: `test_back` is `test_x`; batch `(e, k)` of
/// `xb`/`yb` holds the rows numpy's permutation puts there (the one-hot labels of the same
/// rows), zero below a short last batch.
fn check(out: &Decrypted, data: &DataSet, seed: u64) {
    let tol = 2f64.powi(-BITS);
    let close = |got: &[f64], want: &[f64], what: &str| {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() < tol,
                "{what}[{i}]: {g} vs {w} (bound 2^-{BITS}; seed {seed})"
            );
        }
    };
    let t = out.get("test_back").expect("test_back");
    assert_eq!(t.shape, vec![T, D]);
    close(&t.data, &col(data, "test_x"), "test_back");
    let x = col(data, "train_x");
    let labels = col(data, "train_y");
    let batches = numpy_batches();
    let xb = out.trips("xb");
    let yb = out.trips("yb");
    assert_eq!(xb.len(), batches.len());
    assert_eq!(yb.len(), batches.len());
    for (k, rows) in batches.iter().enumerate() {
        let per = N.div_ceil(BATCH);
        assert_eq!(xb[k].trips, vec![(k / per) as u64, (k % per) as u64]);
        let mut want_x = vec![0.0; BATCH * D];
        let mut want_y = vec![0.0; BATCH * C];
        for (r, &i) in rows.iter().enumerate() {
            want_x[r * D..(r + 1) * D].copy_from_slice(&x[i * D..(i + 1) * D]);
            want_y[r * C + labels[i] as usize] = 1.0;
        }
        close(&xb[k].data, &want_x, &format!("xb{:?}", xb[k].trips));
        close(&yb[k].data, &want_y, &format!("yb{:?}", yb[k].trips));
    }
}

struct Setup {
    dir: tempfile::TempDir,
    plan: blindtune_runtime::plan::Plan,
    data: DataSet,
    seed: u64,
}

impl Setup {
    fn new() -> Setup {
        let seed = next_seed();
        Setup {
            dir: tempfile::tempdir().unwrap(),
            plan: plan(),
            data: data(seed),
            seed,
        }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn keys(&self) -> PathBuf {
        let k = self.path("keys");
        if !k.join(SECRET_KEY_FILE).exists() {
            keygen(&self.plan, &k).unwrap();
        }
        k
    }
    fn enc(&self) -> PathBuf {
        let e = self.path("enc");
        if !e.exists() {
            encrypt(
                &self.plan,
                &self.keys(),
                &self.data,
                &e,
                &EncryptOptions::default(),
            )
            .unwrap();
        }
        e
    }
    fn source(&self) -> (blindtune_runtime::backend::CpuBackend, EncryptedDirSource) {
        let (ctx, bundle) =
            load_eval_bundle(&self.plan, &self.keys().join(EVAL_BUNDLE_FILE)).unwrap();
        let backend = cpu_backend(&ctx, &bundle).unwrap();
        (
            backend,
            EncryptedDirSource::open(&self.plan, &self.enc()).unwrap(),
        )
    }
}

#[test]
fn keygen_encrypt_echo_decrypt_round_trip() {
    let s = Setup::new();
    let (backend, mut src) = s.source();
    let model = s.path("model");
    let mut sink = ModelDirSink::create(&s.plan, &model, src.dims().clone(), false).unwrap();
    echo(&backend, &mut src, &mut sink);
    let head = s.path("head.safetensors");
    let out = decrypt(&s.plan, &s.keys(), &model, &head).unwrap();
    check(&out.outputs, &s.data, s.seed);
    // The files hold the same tensors, named like the outputs (per trip: NAME.E.K).
    let h = blindtune_compiler::interp::data::load_safetensors(&head).unwrap();
    assert_eq!(h.keys().cloned().collect::<Vec<_>>(), vec!["test_back"]);
    let trips =
        blindtune_compiler::interp::data::load_safetensors(out.trips_file.as_ref().unwrap())
            .unwrap();
    assert_eq!(trips.len(), 2 * 2 * N.div_ceil(BATCH));
    assert_eq!(trips["xb.1.3"].data.shape(), &[BATCH, D]);
    // `test_y` is not read by the plan: it never left the owner.
    let manifest = std::fs::read_to_string(s.enc().join("manifest.json")).unwrap();
    assert!(!manifest.contains("test_y"));
    // One file per batch per streamed input, in consumption order.
    let m = blindtune_client::format::DatasetManifest::load(&s.enc()).unwrap();
    let st = m.input("train_x").unwrap().stream.as_ref().unwrap();
    assert_eq!(st.batches.len(), numpy_batches().len());
    assert_eq!(
        st.batches.iter().map(|b| b.rows).collect::<Vec<_>>(),
        numpy_batches().iter().map(Vec::len).collect::<Vec<_>>()
    );
}

#[test]
fn simulator_memory_source_sees_the_same_values() {
    let s = Setup::new();
    let backend = SimBackend::exact(params());
    let mut src = MemorySource::new(&s.plan, &s.data, SimEncryptor).unwrap();
    let mut sink = MemorySink::default();
    echo(&backend, &mut src, &mut sink);
    let out = sink
        .decrypt_with(&s.plan, src.dims(), |ct| {
            backend.decrypt(ct).iter().map(|z| z.re).collect()
        })
        .unwrap();
    check(&out, &s.data, s.seed);
    // asking for more batches than the plan's entries is an error, not a wrap-around
    let err = src.next_batch(&backend, "train_x").unwrap_err().to_string();
    assert!(err.contains("train_x"), "{err}");
}

#[test]
fn stream_order_is_numpys_permutation() {
    let got: Vec<Vec<usize>> = BatchCursor::new(SEED, N, BATCH, true, ENTRIES)
        .map(|b| b.rows)
        .collect();
    assert_eq!(got, numpy_batches());
    // the two entries use different permutations, drawn from one generator
    assert_ne!(got[0], got[N.div_ceil(BATCH)]);
    // unshuffled: in order, every entry
    let plain: Vec<Vec<usize>> = BatchCursor::new(SEED, 7, 3, false, 2)
        .map(|b| b.rows)
        .collect();
    assert_eq!(
        plain,
        vec![
            vec![0, 1, 2],
            vec![3, 4, 5],
            vec![6],
            vec![0, 1, 2],
            vec![3, 4, 5],
            vec![6]
        ]
    );
}

#[cfg(unix)]
#[test]
fn secret_key_is_private_and_the_cloud_loader_refuses_it() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    let keys = s.keys();
    let mode = std::fs::metadata(keys.join(SECRET_KEY_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "secret.key mode {:o}", mode & 0o777);
    let dir_mode = std::fs::metadata(&keys).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o077, 0, "keys/ mode {:o}", dir_mode & 0o777);
    let err = load_eval_bundle(&s.plan, &keys.join(SECRET_KEY_FILE))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("secret.key") && err.contains("refusing to load a secret key"),
        "{err}"
    );
    let err = load_eval_bundle(&s.plan, &keys.join(PUBLIC_KEY_FILE))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("public.key") && err.contains("evaluation bundle"),
        "{err}"
    );
    // an existing secret key is never overwritten silently
    let err = keygen(&s.plan, &keys).unwrap_err().to_string();
    assert!(
        err.contains("secret.key") && err.contains("--force"),
        "{err}"
    );
    keygen_with(&s.plan, &keys, &KeygenOptions { force: true }).unwrap();
}

fn flip_byte(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    let i = at.min(b.len() - 1);
    b[i] ^= 0x40;
    std::fs::write(path, b).unwrap();
}

fn truncate(path: &Path, keep: usize) {
    let b = std::fs::read(path).unwrap();
    std::fs::write(path, &b[..keep.min(b.len())]).unwrap();
}

#[test]
fn damaged_files_are_refused_by_name() {
    let s = Setup::new();
    let enc = s.enc();
    let keys = s.keys();
    let (backend, _) = s.source();

    // a batch file with a flipped byte: its hash no longer matches the manifest
    let batch = enc.join("train_x/e000000-b000000.ct");
    flip_byte(&batch, 500);
    let mut src = EncryptedDirSource::open(&s.plan, &enc).unwrap();
    let err = src.next_batch(&backend, "train_x").unwrap_err().to_string();
    assert!(
        err.contains("e000000-b000000.ct") && err.contains("BLAKE3"),
        "{err}"
    );

    // a truncated whole input
    truncate(&enc.join("test_x.ct"), 100);
    let err = src.secret(&backend, "test_x").unwrap_err().to_string();
    assert!(
        err.contains("test_x.ct") && err.contains("truncated"),
        "{err}"
    );

    // a corrupted file whose manifest entry was updated to match: the envelope's own
    // checksum still refuses it
    let mut m = blindtune_client::format::DatasetManifest::load(&enc).unwrap();
    let bytes = std::fs::read(&batch).unwrap();
    let f = &mut m
        .inputs
        .iter_mut()
        .find(|i| i.name == "train_x")
        .unwrap()
        .stream
        .as_mut()
        .unwrap()
        .batches[0]
        .file;
    *f = blindtune_client::format::FileRef::new(f.path.clone(), &bytes);
    m.save(&enc).unwrap();
    let mut src = EncryptedDirSource::open(&s.plan, &enc).unwrap();
    let err = src.next_batch(&backend, "train_x").unwrap_err().to_string();
    assert!(
        err.contains("e000000-b000000.ct") && err.contains("checksum"),
        "{err}"
    );

    // a damaged manifest
    let manifest = enc.join("manifest.json");
    truncate(&manifest, 40);
    let err = EncryptedDirSource::open(&s.plan, &enc)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("manifest.json"), "{err}");

    // a truncated evaluation bundle
    let bundle = keys.join(EVAL_BUNDLE_FILE);
    truncate(&bundle, 1000);
    let err = load_eval_bundle(&s.plan, &bundle).unwrap_err().to_string();
    assert!(
        err.contains("eval.bin") && err.contains("truncated"),
        "{err}"
    );

    // a corrupted secret key
    let model = s.path("model");
    ModelDirSink::create(&s.plan, &model, Default::default(), false).unwrap();
    flip_byte(&keys.join(SECRET_KEY_FILE), 60);
    let err = decrypt(&s.plan, &keys, &model, &s.path("h.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("secret.key") && err.contains("checksum"),
        "{err}"
    );
}

#[test]
fn model_files_are_checked_on_decrypt() {
    let s = Setup::new();
    let (backend, mut src) = s.source();
    let model = s.path("model");
    let mut sink = ModelDirSink::create(&s.plan, &model, src.dims().clone(), false).unwrap();
    echo(&backend, &mut src, &mut sink);
    flip_byte(&model.join("xb/t00001-00002.ct"), 300);
    let err = decrypt(&s.plan, &s.keys(), &model, &s.path("h.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("t00001-00002.ct"), "{err}");
    // an existing model directory is not overwritten without force
    let err = ModelDirSink::create(&s.plan, &model, Default::default(), false)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("--force"), "{err}");
    assert!(ModelDirSink::create(&s.plan, &model, Default::default(), true).is_ok());
}

#[test]
fn data_that_does_not_fit_is_refused_by_input() {
    let s = Setup::new();
    let mut data = s.data.clone();
    let y: Vec<f64> = col(&data, "train_y")[..N - 1].to_vec();
    data.insert(
        "train_y".into(),
        blindtune_compiler::interp::data::Tensor {
            data: ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[N - 1]), y).unwrap(),
            integer: true,
        },
    );
    let out = s.path("enc");
    let err = encrypt(&s.plan, &s.keys(), &data, &out, &EncryptOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("train_y") && err.contains("`N` = 20"), "{err}");
    // nothing was left behind
    let left: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("keys")], "{left:?}");

    let mut data = s.data.clone();
    data.remove("test_x");
    let err = MemorySource::new(&s.plan, &data, SimEncryptor)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("test_x") && err.contains("not in the data"),
        "{err}"
    );
}

#[test]
fn an_existing_dataset_is_replaced_only_with_force() {
    let s = Setup::new();
    let enc = s.enc();
    let opts = EncryptOptions::default();
    let err = encrypt(&s.plan, &s.keys(), &s.data, &enc, &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--force"), "{err}");
    let force = EncryptOptions {
        force: true,
        ..opts
    };
    encrypt(&s.plan, &s.keys(), &s.data, &enc, &force).unwrap();
    // force never deletes a directory that is not an encrypted dataset
    let other = s.path("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("precious.txt"), "x").unwrap();
    let err = encrypt(&s.plan, &s.keys(), &s.data, &other, &force)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not replacing"), "{err}");
    assert!(other.join("precious.txt").exists());
}

#[test]
fn plans_with_other_parameters_are_refused() {
    let s = Setup::new();
    let mut plan = s.plan.clone();
    plan.params_fingerprint = "00".repeat(32);
    let err = keygen(&plan, &s.path("k1")).unwrap_err().to_string();
    assert!(err.contains("fingerprint"), "{err}");
    let mut plan = s.plan.clone();
    plan.insecure = false;
    let err = keygen(&plan, &s.path("k2")).unwrap_err().to_string();
    assert!(err.contains("not marked insecure"), "{err}");
    // an encrypted dataset of another program is refused by the cloud
    let enc = s.enc();
    let mut plan = s.plan.clone();
    plan.source.blake3 = "cd".repeat(32);
    let err = EncryptedDirSource::open(&plan, &enc)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("another plan"), "{err}");
}

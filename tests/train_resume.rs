//! `blindtune train --checkpoint-every 1` killed with SIGKILL mid-run, resumed with `--resume`,
//! killed again and resumed to the end: the model directory is byte for byte the one an
//! uninterrupted run writes, and no checkpoint or temporary file is left. Damaged checkpoints
//! (truncated, corrupted, another version, layout, plan or dataset, a register or stream
//! position that does not fit) are refused with an error naming the file (and the field), a
//! non-zero exit, no panic, and the model directory untouched.
//!
//! Small ring and fast: the insecure N = 2^12 set without bootstrapping, and a program whose
//! every operation keeps its level, so that it needs none: it carries a ciphertext (from a
//! whole secret input) through 4 epochs × 32 shuffled batches, reads a public input in every
//! trip and writes an output per trip; a trip costs a few file writes. The kill points
//! (which checkpoint, how long after it) are drawn from the test's seed; replay with the
//! `BLINDTUNE_TEST_SEED` line the test prints.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use blindtune_client::cloud::{checkpoint_path, EncryptedDirSource, TrainCheckpoint};
use blindtune_client::params::plan_context;
use blindtune_runtime::ckks::serialization::{envelope, ObjectKind, Serializable};
use blindtune_runtime::executor::{plan_id, RegValue};
use blindtune_runtime::plan::Plan;

const PROGRAM: &str = "param B: int = 2;
param EPOCHS: int = 4;
input train_x: secret f64[N, 4];
input w0: secret f64[1, 4];
input train_mean: public f64[4];
let s = for epoch in 0..EPOCHS carry (w = w0) {
    for (x) in batches(train_x) size B shuffle carry (a = w) {
        output xb = x - train_mean;
        a - train_mean
    }
};
output total = s;
";
const ROWS: usize = 64;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_blindtune"))
}

fn blindtune(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn ok(out: Output, what: &str, seed: u64) {
    assert!(
        out.status.success(),
        "seed {seed}: {what} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Fails unless the command failed cleanly with a message naming `file` and containing `also`.
fn refused(out: Output, file: &str, also: &str, seed: u64) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "seed {seed}: should fail; stderr: {stderr}"
    );
    assert_ne!(out.status.code(), None, "seed {seed}: killed by a signal");
    assert!(
        !stderr.contains("panicked"),
        "seed {seed}: panicked: {stderr}"
    );
    assert!(
        stderr.contains(file) && stderr.contains(also),
        "seed {seed}: the message should name {file} and say {also:?}: {stderr}"
    );
    stderr
}

/// A float64 .npy file (format 1.0, little-endian).
fn npy(path: &Path, shape: &[usize], v: &[f64]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let comma = if shape.len() == 1 { "," } else { "" };
    let mut header = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({}{comma}), }}",
        dims.join(", ")
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((header.len() as u16).to_le_bytes());
    b.extend(header.as_bytes());
    for x in v {
        b.extend(x.to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

/// xorshift64*: the test's draws from its seed.
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Every file under `dir` (relative path → contents).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// Waits until `child` has replaced the checkpoint at `path` `count` times (each atomic write
/// is a new file), then `delay` more, and kills it with SIGKILL while it is still running.
fn kill_after_checkpoints(mut child: Child, path: &Path, count: u32, delay: Duration, seed: u64) {
    let inode = || std::fs::metadata(path).ok().map(|m| m.ino());
    let mut last = inode();
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while seen < count {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("seed {seed}: train exited ({status}) before checkpoint {count}: {err}");
        }
        assert!(Instant::now() < deadline, "seed {seed}: no checkpoint");
        let now = inode();
        if now.is_some() && now != last {
            seen += 1;
            last = now;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(delay);
    assert!(
        child.try_wait().unwrap().is_none(),
        "seed {seed}: train finished before it could be killed mid-run"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn killed_training_resumes_to_a_bit_identical_model() {
    let seed = blindtune_runtime::ckks::testing::next_seed();
    let mut draws = Draws(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    std::fs::write(p("p.bt"), PROGRAM).unwrap();
    let x: Vec<f64> = (0..ROWS * 4).map(|_| draws.unit() * 2.0 - 1.0).collect();
    npy(Path::new(&p("x.npy")), &[ROWS, 4], &x);
    let mean: Vec<f64> = (0..4).map(|_| draws.unit() * 0.2).collect();
    npy(Path::new(&p("m.npy")), &[4], &mean);
    let w0: Vec<f64> = (0..4).map(|_| draws.unit()).collect();
    npy(Path::new(&p("w.npy")), &[1, 4], &w0);
    let order_seed = (seed % 1000).to_string();
    #[rustfmt::skip]
    ok(blindtune(&["compile", &p("p.bt"), "--params", "test-insecure", "--allow-insecure",
        "--seed", &order_seed, "-o", &p("plan.json")]), "compile", seed);
    ok(
        blindtune(&["keygen", "--plan", &p("plan.json"), "--out", &p("keys")]),
        "keygen",
        seed,
    );
    #[rustfmt::skip]
    ok(blindtune(&["encrypt", "--plan", &p("plan.json"), "--keys", &p("keys"), "--data",
        &format!("train_x={}", p("x.npy")), "--data", &format!("train_mean={}", p("m.npy")),
        "--data", &format!("w0={}", p("w.npy")), "--out", &p("enc"), "--quiet"]), "encrypt", seed);
    let train = |out: &str, extra: &[&str]| {
        let mut c = bin();
        c.args([
            "train",
            "--plan",
            &p("plan.json"),
            "--eval-keys",
            &p("keys/eval.bin"),
        ])
        .args(["--data", &p("enc"), "--out", &p(out), "--quiet"])
        .args(extra);
        c
    };

    // the uninterrupted run (no checkpoints)
    ok(train("ref", &[]).output().unwrap(), "train", seed);
    let want = snapshot(Path::new(&p("ref")));
    assert_eq!(want.len(), 2 + 128, "seed {seed}: {:?}", want.keys());

    // killed after a checkpoint (the 1st to 8th of 128), up to 10 ms later
    let run = PathBuf::from(p("run"));
    let ckpt = checkpoint_path(&run);
    let child = train("run", &["--checkpoint-every", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (count, delay) = (1 + draws.below(8) as u32, draws.below(10));
    eprintln!("seed {seed}: killing after checkpoint {count} + {delay} ms");
    kill_after_checkpoints(child, &ckpt, count, Duration::from_millis(delay), seed);
    let good = std::fs::read(&ckpt).unwrap();

    // the checkpoint loads for its plan and dataset, and nothing else
    let plan = Plan::load(Path::new(&p("plan.json"))).unwrap();
    let ctx = plan_context(&plan).unwrap();
    let source = EncryptedDirSource::open(&plan, Path::new(&p("enc"))).unwrap();
    let (id, data) = (plan_id(&plan), source.manifest_blake3().to_string());
    let c = TrainCheckpoint::load(&ctx, &ckpt, &plan, &id, &data)
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    assert!(
        (count as u64..128).contains(&c.trips) && c.every == 1,
        "seed {seed}: checkpoint after {} trips (every {})",
        c.trips,
        c.every
    );
    assert!(!c.state.carried.is_empty() && !c.state.regs.is_empty() && !c.cursors.is_empty());
    let named = |e: blindtune_client::ClientError, field: &str| {
        let m = e.to_string();
        assert!(
            m.contains("checkpoint.bin") && m.contains(field),
            "seed {seed}: should name the file and {field}: {m}"
        );
    };
    named(
        TrainCheckpoint::load(&ctx, &ckpt, &plan, &"0".repeat(64), &data).unwrap_err(),
        "`plan`",
    );
    named(
        TrainCheckpoint::load(&ctx, &ckpt, &plan, &id, &"0".repeat(64)).unwrap_err(),
        "`dataset`",
    );
    let bad = dir.path().join("bad").join("checkpoint.bin");
    std::fs::create_dir(bad.parent().unwrap()).unwrap();
    for k in 0..12 {
        let mut b = good.clone();
        let what = if k < 6 {
            let len = match k {
                0..4 => [0, 7, 60, good.len() - 1][k],
                _ => draws.below(good.len() as u64) as usize,
            };
            b.truncate(len);
            format!("truncated to {len} bytes")
        } else {
            let at = draws.below(good.len() as u64) as usize;
            b[at] ^= 1 << draws.below(8);
            format!("byte {at} flipped")
        };
        std::fs::write(&bad, &b).unwrap();
        let e = TrainCheckpoint::load(&ctx, &bad, &plan, &id, &data)
            .err()
            .unwrap_or_else(|| panic!("seed {seed}: a checkpoint {what} loads"));
        assert!(
            e.to_string().contains("checkpoint.bin"),
            "seed {seed}: {what}: {e}"
        );
    }

    // another envelope version or payload layout, a register or a stream position that does
    // not fit the plan
    let mut b = good.clone();
    b[8] = 2; // the envelope's format version, u16 LE at offset 8
    std::fs::write(&bad, &b).unwrap();
    named(
        TrainCheckpoint::load(&ctx, &bad, &plan, &id, &data).unwrap_err(),
        "version 2",
    );
    let opened = envelope::open(&good, ObjectKind::Checkpoint).unwrap();
    let mut payload = opened.payload.to_vec();
    payload[..4].copy_from_slice(&7u32.to_le_bytes());
    let resealed = envelope::seal(ObjectKind::Checkpoint, opened.fingerprint, &payload);
    std::fs::write(&bad, resealed).unwrap();
    named(
        TrainCheckpoint::load(&ctx, &bad, &plan, &id, &data).unwrap_err(),
        "checkpoint layout",
    );
    let mut forged = c;
    let reg = forged.state.regs[0].0;
    forged.state.regs[0].1 = RegValue::Scalar(1.0);
    std::fs::write(&bad, forged.to_bytes(&ctx)).unwrap();
    named(
        TrainCheckpoint::load(&ctx, &bad, &plan, &id, &data).unwrap_err(),
        &format!("`register r{reg}`"),
    );
    let mut cursors = forged.cursors.clone();
    cursors.insert("train_x".into(), 10_000);
    let mut source = source;
    named(
        source.seek(&cursors, &ckpt).unwrap_err(),
        "`cursors.train_x`",
    );

    // the command refuses damaged checkpoints and leaves the model directory as it was
    let before = snapshot(&run);
    let mut b = good.clone();
    b.truncate(good.len() / 2);
    std::fs::write(&ckpt, &b).unwrap();
    refused(
        train("run", &["--resume"]).output().unwrap(),
        "checkpoint.bin",
        "truncated",
        seed,
    );
    let mut b = good.clone();
    let at = good.len() / 2 + draws.below(good.len() as u64 / 4) as usize;
    b[at] ^= 0x10;
    std::fs::write(&ckpt, &b).unwrap();
    refused(
        train("run", &["--resume"]).output().unwrap(),
        "checkpoint.bin",
        "checksum",
        seed,
    );
    std::fs::write(&ckpt, &good).unwrap();
    refused(
        train("run", &["--checkpoint-every", "1"]).output().unwrap(),
        "checkpoint.bin",
        "--resume",
        seed,
    );
    assert_eq!(
        snapshot(&run),
        before,
        "seed {seed}: a refused resume wrote"
    );
    refused(
        train("ref", &["--resume"]).output().unwrap(),
        "checkpoint.bin",
        "no checkpoint",
        seed,
    );
    assert_eq!(snapshot(Path::new(&p("ref"))), want);

    // resumed (checkpointing at the recorded interval), killed again, resumed to the end
    let child = train("run", &["--resume"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let delay = draws.below(10);
    eprintln!("seed {seed}: killing the resumed run after its first checkpoint + {delay} ms");
    kill_after_checkpoints(child, &ckpt, 1, Duration::from_millis(delay), seed);
    ok(
        train("run", &["--resume"]).output().unwrap(),
        "resume",
        seed,
    );

    let got = snapshot(&run);
    assert!(!ckpt.exists(), "seed {seed}: the checkpoint is left");
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "seed {seed}: other files"
    );
    for (f, bytes) in &want {
        assert!(
            got[f] == *bytes,
            "seed {seed}: {} differs from the uninterrupted run's",
            f.display()
        );
    }
}

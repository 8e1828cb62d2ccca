#!/usr/bin/env python3
"""OpenFHE (openfhe-python wheel) CKKS bootstrapping benchmark, the peer of
blindtune's bootstrap bench.

Configuration (defaults: OpenFHE's simple-ckks-bootstrapping example moved
to full slots at N=2^16 under 128-bit classic security, see bench/README.md):
  FLEXIBLEAUTO scaling, 59-bit scaling primes, 60-bit first prime, HYBRID key
  switching with dnum 4, UNIFORM_TERNARY (dense) secret by default or SPARSE_ENCAPSULATED
  (--secret), levelBudget [3,3]
  ([4,4] leaves no room at 128 bits with dnum 4), full slots N/2,
  HEStd_128_classic.
The number of levels left after bootstrapping is the largest value
<= --levels-after for which OpenFHE accepts 128-bit security at this N
(OpenFHE's HE-standard table caps log2 QP; it is reported as levels_after).

For each input kind (uniform complex in [-1,1] + i[-1,1], and uniform real
in [-1,1]) it reports: key generation time (KeyGen + EvalMultKeyGen +
EvalBootstrapSetup + EvalBootstrapKeyGen), EvalBootstrap wall time (median of
--reps), precision bits (-log2 of max and of mean abs error over all slots
vs the float64 input), levels remaining after bootstrapping, log2 QP, and peak
RSS (ru_maxrss). The complex case uses a context with
CKKSDataType.COMPLEX, the real case one with the default REAL data type.

Usage:
  python openfhe_bootstrap.py [--logn 16] --threads 1 [--reps 3] [--json]
  python openfhe_bootstrap.py --set test      # N=2^12, HEStd_NotSet, smoke run
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="n16", choices=["n16", "test"],
                    help="n16: N=2^16 at 128-bit; test: N=2^12, no security (smoke run)")
    ap.add_argument("--logn", type=int, default=None, help="override log2 N")
    ap.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS")
    ap.add_argument("--reps", type=int, default=2, help="bootstrap repetitions (median)")
    ap.add_argument("--warmup", type=int, default=0,
                    help="untimed EvalBootstrap calls first (EvalBootstrapSetup already "
                         "precomputes, so the first call is not slower)")
    ap.add_argument("--max-seconds", type=float, default=540,
                    help="stop adding repetitions (keeping >= 1 per input) once the "
                         "projected run time would pass this")
    ap.add_argument("--level-budget", default="3,3", help="CoeffsToSlots,SlotsToCoeffs levels")
    ap.add_argument("--scaling", default="FLEXIBLEAUTO",
                    choices=["FLEXIBLEAUTO", "FLEXIBLEAUTOEXT", "FIXEDAUTO", "FIXEDMANUAL"])
    ap.add_argument("--scale-bits", type=int, default=59)
    ap.add_argument("--first-mod-bits", type=int, default=60)
    ap.add_argument("--dnum", type=int, default=4, help="NumLargeDigits (0 = OpenFHE default, 3 here)")
    ap.add_argument("--levels-after", type=int, default=10,
                    help="max levels wanted after bootstrapping (reduced until 128-bit fits)")
    ap.add_argument("--inputs", default="complex,real", help="comma list of complex,real")
    ap.add_argument("--iterations", type=int, default=1,
                    help="EvalBootstrap numIterations (2 = OpenFHE meta-BTS; needs --precision)")
    ap.add_argument("--precision", type=int, default=0, help="EvalBootstrap precision arg")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--secret", default="UNIFORM_TERNARY",
                    choices=["UNIFORM_TERNARY", "SPARSE_ENCAPSULATED"],
                    help="secret distribution: the dense default, or OpenFHE's fastest 128-bit "
                         "bootstrapping mode (sparse-secret encapsulation, our technique)")
    ap.add_argument("--json", action="store_true")
    return ap.parse_args()


ARGS = parse_args()
if ARGS.threads is not None:
    os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

import numpy as np  # noqa: E402
import openfhe  # noqa: E402
from openfhe_common import log2_modulus_q, openfhe_cpp_tag, openfhe_version  # noqa: E402
from openfhe import (CCParamsCKKSRNS, GenCryptoContext, PKESchemeFeature,  # noqa: E402
                     ScalingTechnique, SecurityLevel, SecretKeyDist, KeySwitchTechnique)

T0 = time.perf_counter()


def log(msg):
    print("[openfhe_bootstrap %7.1fs] %s" % (time.perf_counter() - T0, msg),
          file=sys.stderr, flush=True)


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build_context(logn, sec, budget, depth_bts, levels_after, data_type):
    p = CCParamsCKKSRNS()
    p.SetSecretKeyDist(getattr(SecretKeyDist, ARGS.secret))
    p.SetSecurityLevel(sec)
    p.SetRingDim(1 << logn)
    p.SetScalingTechnique(getattr(ScalingTechnique, ARGS.scaling))
    p.SetScalingModSize(ARGS.scale_bits)
    p.SetFirstModSize(ARGS.first_mod_bits)
    p.SetKeySwitchTechnique(KeySwitchTechnique.HYBRID)
    if ARGS.dnum:
        p.SetNumLargeDigits(ARGS.dnum)
    p.SetMultiplicativeDepth(levels_after + depth_bts)
    p.SetBatchSize(1 << (logn - 1))
    if data_type == "complex":
        p.SetCKKSDataType(openfhe.CKKSDataType.COMPLEX)
    cc = GenCryptoContext(p)
    if cc.GetRingDimension() != (1 << logn):
        raise RuntimeError("OpenFHE changed N to %d" % cc.GetRingDimension())
    return cc, p


def log_qp_of_keys(cc):
    """log2(QP) from the serialized EvalMult key (P is not exposed in Python).
    Only called for small rings: it serializes a key to JSON."""
    s = openfhe.SerializeEvalMultKeyString(openfhe.JSON, "")
    d = json.loads(s)

    def find(x):
        if isinstance(x, dict):
            if "ak" in x and isinstance(x["ak"], list) and x["ak"]:
                cm = x["ak"][0]["p"]["ptr_wrapper"]["data"]["value0"]["cm"]
                return sum(int(w) << (64 * i) for i, w in enumerate(cm["v"]))
            for v in x.values():
                r = find(v)
                if r:
                    return r
        elif isinstance(x, list):
            for v in x:
                r = find(v)
                if r:
                    return r
        return None
    q = find(d)
    sh = max(q.bit_length() - 60, 0)
    return math.log2(q >> sh) + sh


def p_bits_same_chain(params_args, logn_small=11):
    """log2 P for this chain, measured on the same chain at a tiny ring
    (P's size depends on digit sizes, not N; primes are ~60 bits regardless)."""
    budget, depth_bts, levels_after, data_type = params_args
    cc, _ = build_context(logn_small, SecurityLevel.HEStd_NotSet, budget, depth_bts,
                          levels_after, data_type)
    for f in (PKESchemeFeature.PKE, PKESchemeFeature.KEYSWITCH, PKESchemeFeature.LEVELEDSHE):
        cc.Enable(f)
    kp = cc.KeyGen()
    openfhe.ClearEvalMultKeys()
    cc.EvalMultKeyGen(kp.secretKey)
    lqp = log_qp_of_keys(cc)
    openfhe.ClearEvalMultKeys()
    return lqp - log2_modulus_q(cc)


def run_one(data_type, logn, sec, budget, rng, version, threads):
    N = 1 << logn
    slots = N // 2
    dist = getattr(SecretKeyDist, ARGS.secret)
    depth_bts = openfhe.CryptoContext.GetBootstrapDepth(budget, dist)
    # largest levels_after that OpenFHE accepts at this N / security
    cc, why = None, ""
    for la in range(ARGS.levels_after, 0, -1):
        try:
            cc, _ = build_context(logn, sec, budget, depth_bts, la, data_type)
            break
        except Exception as e:
            why = str(e).splitlines()[0][-120:]
    if cc is None:
        raise SystemExit("no bootstrappable context at N=2^%d: %s" % (logn, why))
    if la < ARGS.levels_after:
        log("levels after bootstrap reduced %d -> %d to fit %s (OpenFHE: %s)"
            % (ARGS.levels_after, la, str(sec).split(".")[-1], why))
    depth = la + depth_bts
    for f in (PKESchemeFeature.PKE, PKESchemeFeature.KEYSWITCH, PKESchemeFeature.LEVELEDSHE,
              PKESchemeFeature.ADVANCEDSHE, PKESchemeFeature.FHE):
        cc.Enable(f)
    log_q = log2_modulus_q(cc)
    try:
        log_p = p_bits_same_chain((budget, depth_bts, la, data_type))
    except Exception as e:
        log("could not determine P: %s" % e)
        log_p = float("nan")
    log("[%s] N=2^%d, security=%s, depth=%d (bootstrap %d + %d after), log2 Q=%.1f, "
        "log2 P=%.1f, log2 QP=%.1f, dnum=%s"
        % (data_type, logn, str(sec).split(".")[-1], depth, depth_bts, la, log_q, log_p,
           log_q + log_p, ARGS.dnum or "default"))

    t = time.perf_counter()
    cc.EvalBootstrapSetup(budget, [0, 0], slots)
    t_setup = time.perf_counter() - t
    t = time.perf_counter()
    kp = cc.KeyGen()
    cc.EvalMultKeyGen(kp.secretKey)
    cc.EvalBootstrapKeyGen(kp.secretKey, slots)
    t_keys = time.perf_counter() - t
    log("[%s] EvalBootstrapSetup %.1fs, KeyGen+EvalMultKeyGen+EvalBootstrapKeyGen %.1fs, "
        "RSS %.0f MiB" % (data_type, t_setup, t_keys, rss_mib()))

    if data_type == "complex":
        x = rng.uniform(-1, 1, slots) + 1j * rng.uniform(-1, 1, slots)
    else:
        x = rng.uniform(-1, 1, slots)
    # encrypt with all levels but one used up (as in OpenFHE's example)
    pt = cc.MakeCKKSPackedPlaintext(x, 1, depth - 1, None, slots)
    pt.SetLength(slots)
    ct = cc.Encrypt(kp.publicKey, pt)
    log("[%s] input level %d; bootstrapping (%d reps, %d warm-up)..." % (
        data_type, ct.GetLevel(), ARGS.reps, ARGS.warmup))

    def boot():
        return cc.EvalBootstrap(ct, ARGS.iterations, ARGS.precision)
    t_first = None
    for _ in range(ARGS.warmup):
        t = time.perf_counter()
        out = boot()
        t_first = t_first or time.perf_counter() - t
    ts = []
    errs_max, errs_mean = [], []
    for i in range(ARGS.reps):
        elapsed = time.perf_counter() - T0
        if ts and elapsed + ts[-1] * (1 + ARGS.remaining_inputs) + 60 > ARGS.max_seconds:
            log("[%s] stopping after %d reps to stay under --max-seconds %.0f"
                % (data_type, len(ts), ARGS.max_seconds))
            break
        t = time.perf_counter()
        out = boot()
        ts.append(time.perf_counter() - t)
        dec = cc.Decrypt(kp.secretKey, out)
        dec.SetLength(slots)
        if data_type == "complex":
            y = np.asarray(dec.GetCKKSPackedValueArray(), dtype=np.complex128)
        else:
            y = np.asarray(dec.GetRealPackedValueArray(), dtype=np.float64)
        e = np.abs(y - x)
        errs_max.append(float(e.max()))
        errs_mean.append(float(e.mean()))
        log("[%s]   rep %d: %.2fs, precision min %.2f / mean %.2f bits" % (
            data_type, i, ts[-1], -math.log2(errs_max[-1]), -math.log2(errs_mean[-1])))
    levels_after = depth - out.GetLevel() - (out.GetNoiseScaleDeg() - 1)
    ms = statistics.median(ts) * 1e3
    row = dict(library="openfhe", version=version, openfhe_cpp=openfhe_cpp_tag(),
               set=ARGS.set, n=N,
               limbs=depth + 1 - out.GetLevel(), threads=threads, op="bootstrap",
               input=data_type, ms=round(ms, 1), first_call_ms=None if t_first is None else round(t_first * 1e3, 1),
               precision_bits=round(-math.log2(max(errs_max)), 2),
               precision_min_bits=round(-math.log2(max(errs_max)), 2),
               precision_mean_bits=round(-math.log2(statistics.mean(errs_mean)), 2),
               levels_after=levels_after, log_q=round(log_q, 2), log_p=round(log_p, 2),
               log_qp=round(log_q + log_p, 2), depth=depth, depth_bootstrap=depth_bts,
               level_budget=list(budget), scaling=ARGS.scaling,
               scale_bits=ARGS.scale_bits, first_mod_bits=ARGS.first_mod_bits,
               dnum=ARGS.dnum or "default", secret=ARGS.secret,
               security=str(sec).split(".")[-1], slots=slots, iterations=ARGS.iterations,
               keygen_s=round(t_keys, 2), setup_s=round(t_setup, 2), reps=len(ts),
               peak_rss_mib=round(rss_mib()))
    log("[%s] bootstrap median %.0f ms, levels after %d, precision min %.2f mean %.2f bits"
        % (data_type, ms, levels_after, row["precision_min_bits"], row["precision_mean_bits"]))
    # free keys before the next context
    del ct, out, pt
    cc.ClearBootstrapPrecom() if hasattr(cc, "ClearBootstrapPrecom") else None
    openfhe.ClearEvalMultKeys()
    cc.ClearEvalAutomorphismKeys()
    try:
        openfhe.ReleaseAllContexts()
    except Exception:
        pass
    return row


def main():
    if ARGS.logn:
        logn = ARGS.logn
    else:
        logn = 16 if ARGS.set == "n16" else 12
    sec = SecurityLevel.HEStd_128_classic if ARGS.set == "n16" else SecurityLevel.HEStd_NotSet
    budget = [int(v) for v in ARGS.level_budget.split(",")]
    threads = ARGS.threads if ARGS.threads is not None else int(
        os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    version = openfhe_version()
    log("openfhe %s, N=2^%d, threads %d, levelBudget %s, %s, reps %d"
        % (version, logn, threads, budget, ARGS.scaling, ARGS.reps))
    rng = np.random.default_rng(ARGS.seed)
    kinds = [k.strip() for k in ARGS.inputs.split(",") if k.strip()]
    rows = []
    for i, kind in enumerate(kinds):
        ARGS.remaining_inputs = len(kinds) - 1 - i
        rows.append(run_one(kind, logn, sec, budget, rng, version, threads))
    log("done; peak RSS %.0f MiB" % rss_mib())
    if ARGS.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
        return
    r0 = rows[0]
    print("# openfhe %s  EvalBootstrap  N=2^%d slots=%d  %s  levelBudget=%s  scale=%d bits  "
          "secret=%s  security=%s  reps<=%d (median)"
          % (version, logn, r0["slots"], ARGS.scaling, budget, ARGS.scale_bits,
             ARGS.secret, r0["security"], ARGS.reps))
    print("%-5s %6s %7s %-8s %10s %9s %9s %7s %7s %8s %8s %9s" % (
        "set", "N", "threads", "input", "median ms", "min bits", "mean bits", "lvls", "depth",
        "log QP", "keygen s", "RSS MiB"))
    for r in rows:
        print("%-5s %6d %7d %-8s %10.0f %9.2f %9.2f %7d %7d %8.1f %8.1f %9d" % (
            r["set"], r["n"], r["threads"], r["input"], r["ms"], r["precision_min_bits"],
            r["precision_mean_bits"], r["levels_after"], r["depth"], r["log_qp"],
            r["keygen_s"], r["peak_rss_mib"]))


if __name__ == "__main__":
    main()

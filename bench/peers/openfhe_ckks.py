#!/usr/bin/env python3
"""OpenFHE (openfhe-python wheel) CKKS micro-benchmark, the peer of
`blindtune bench ckks --json`.

Times (wall clock, time.perf_counter, median of --reps repetitions after one
warm-up) the basic RNS-CKKS operations at the top level and at a middle level
of the modulus chain, and measures their precision in bits
(-log2 of the max abs error against a numpy float64/complex128 reference) on
fresh uniform random complex inputs in [-1,1] x i[-1,1] at full slots N/2.

Ops (names are the join key with the Rust bench):
  encode_encrypt    MakeCKKSPackedPlaintext(values, 1, level) + Encrypt(pk)
  add               EvalAdd(ct, ct)
  mul_plain         EvalMult(ct, pt)            (no rescale; FIXEDMANUAL)
  mul_relin         EvalMult(ct, ct) = tensor + relinearize (no rescale)
  rescale           Rescale(ct) on the product above (drops one limb)
  rotate            EvalRotate(ct, r), r random in [1, N/2), key pre-generated
  rotate_hoisted_8  EvalFastRotationPrecompute(ct) + 8x EvalFastRotation(1..8)
  decrypt           Decrypt(sk, ct) (OpenFHE decodes inside Decrypt)

Usage:
  python openfhe_ckks.py --set n16 --threads 1 [--reps 5] [--json]

--threads sets OMP_NUM_THREADS before openfhe is imported (OpenFHE's
parallelism is OpenMP only). Progress goes to stderr; the table (or the JSON
list with --json) goes to stdout.
"""
import argparse
import json
import math
import os
import random
import resource
import statistics
import sys
import time

SETS = {
    # name: (log2 N, limbs in Q, first mod bits, scaling mod bits, dnum)
    # n16/n14 mirror blindtune's parameter sets (see bench/README.md).
    "n16": (16, 25, 60, 40, 4),
    "n14": (14, 8, 55, 40, 4),
    "test": (12, 8, 60, 40, 4),
}

OPS = ["encode_encrypt", "add", "mul_plain", "mul_relin", "rescale",
       "rotate", "rotate_hoisted_8", "decrypt"]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="n16", choices=sorted(SETS))
    ap.add_argument("--threads", type=int, default=None,
                    help="OMP_NUM_THREADS (default: leave the environment alone; "
                         "reported as os.cpu_count() then)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions per op (median)")
    ap.add_argument("--limbs", default=None,
                    help="comma list of limb counts to measure at (default: "
                         "top and mid = ceil(L/2), e.g. 25,13 for n16)")
    ap.add_argument("--ops", default=",".join(OPS), help="comma list of ops")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--security", default="auto", choices=["auto", "128", "none"],
                    help="auto: try HEStd_128_classic, fall back to HEStd_NotSet if "
                         "OpenFHE rejects the set or would change N")
    ap.add_argument("--json", action="store_true", help="JSON list on stdout")
    return ap.parse_args()


ARGS = parse_args()
if ARGS.threads is not None:
    # must happen before libgomp is loaded (i.e. before `import openfhe`)
    os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

import numpy as np  # noqa: E402
import openfhe  # noqa: E402
from openfhe_common import log2_modulus_q, openfhe_cpp_tag, openfhe_version  # noqa: E402
from openfhe import (CCParamsCKKSRNS, GenCryptoContext, PKESchemeFeature,  # noqa: E402
                     ScalingTechnique, KeySwitchTechnique, SecurityLevel,
                     SecretKeyDist)

T0 = time.perf_counter()


def log(msg):
    print("[openfhe_ckks %7.1fs] %s" % (time.perf_counter() - T0, msg),
          file=sys.stderr, flush=True)


def make_params(logn, limbs, first, scale, dnum, sec):
    p = CCParamsCKKSRNS()
    p.SetRingDim(1 << logn)
    p.SetMultiplicativeDepth(limbs - 1)
    p.SetFirstModSize(first)
    p.SetScalingModSize(scale)
    p.SetScalingTechnique(ScalingTechnique.FIXEDMANUAL)
    p.SetKeySwitchTechnique(KeySwitchTechnique.HYBRID)
    p.SetNumLargeDigits(dnum)
    p.SetSecretKeyDist(SecretKeyDist.UNIFORM_TERNARY)
    p.SetBatchSize(1 << (logn - 1))
    p.SetSecurityLevel(sec)
    try:
        p.SetCKKSDataType(openfhe.CKKSDataType.COMPLEX)
    except Exception:
        pass
    return p


def gen_context(logn, limbs, first, scale, dnum, security):
    tries = []
    if security in ("auto", "128"):
        tries.append(SecurityLevel.HEStd_128_classic)
    if security in ("auto", "none"):
        tries.append(SecurityLevel.HEStd_NotSet)
    last = None
    for sec in tries:
        try:
            cc = GenCryptoContext(make_params(logn, limbs, first, scale, dnum, sec))
        except Exception as e:  # OpenFHE throws if 128-bit needs a bigger N
            last = e
            log("security %s rejected: %s" % (sec, str(e).splitlines()[0][-200:]))
            continue
        if cc.GetRingDimension() != (1 << logn):
            log("security %s changes N to %d; falling back" % (sec, cc.GetRingDimension()))
            last = RuntimeError("ring dimension changed")
            continue
        return cc, sec
    raise last


def log_qp_via_small_ring(limbs, first, scale, dnum):
    """log2(Q*P) and the P primes OpenFHE picks for this chain.

    P is not exposed by the Python API, so build the same chain at N=2^11
    (P's size depends on the digit sizes, not on N), serialize the EvalMult
    key (which lives mod Q*P) to JSON and read the QP composite modulus.
    Returns (log2 P, number of P primes, list of P prime bit sizes)."""
    p = make_params(11, limbs, first, scale, dnum, SecurityLevel.HEStd_NotSet)
    cc = GenCryptoContext(p)
    cc.Enable(PKESchemeFeature.PKE)
    cc.Enable(PKESchemeFeature.KEYSWITCH)
    cc.Enable(PKESchemeFeature.LEVELEDSHE)
    kp = cc.KeyGen()
    openfhe.ClearEvalMultKeys()
    cc.EvalMultKeyGen(kp.secretKey)
    s = openfhe.SerializeEvalMultKeyString(openfhe.JSON, "")
    openfhe.ClearEvalMultKeys()
    d = json.loads(s)
    towers = []

    def walk(x):
        if isinstance(x, dict):
            if "ak" in x and isinstance(x["ak"], list) and x["ak"]:
                poly = x["ak"][0]
                for t in poly.get("v", []):
                    # each tower's params: {"p": {ptr_wrapper: {data: {value0: {cm:{v:q}}}}}}
                    try:
                        q = t["p"]["ptr_wrapper"]["data"]["value0"]["cm"]["v"]
                    except Exception:
                        q = None
                    towers.append(q)
                raise StopIteration
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    try:
        walk(d)
    except StopIteration:
        pass
    # cereal de-duplicates shared pointers, so params of repeated towers may be
    # missing; fall back to the composite modulus in that case.
    qs = [q for q in towers if isinstance(q, int)]
    qmod_log2 = log2_modulus_q(cc)
    nq = limbs
    pprimes = qs[nq:] if len(qs) == len(towers) and len(qs) > nq else None
    if pprimes:
        logp = sum(math.log2(x) for x in pprimes)
        return logp, len(pprimes), [round(math.log2(x), 2) for x in pprimes]

    # composite: "ak"[0]["p"] -> cm {v: [64-bit words], m: bits}
    def find_comp(x):
        if isinstance(x, dict):
            if "ak" in x and isinstance(x["ak"], list) and x["ak"]:
                cm = x["ak"][0]["p"]["ptr_wrapper"]["data"]["value0"]["cm"]
                return sum(int(w) << (64 * i) for i, w in enumerate(cm["v"]))
            for v in x.values():
                r = find_comp(v)
                if r:
                    return r
        elif isinstance(x, list):
            for v in x:
                r = find_comp(v)
                if r:
                    return r
        return None
    qp = find_comp(d)
    sh = max(qp.bit_length() - 60, 0)
    logp = math.log2(qp >> sh) + sh - qmod_log2
    return logp, len(towers) - nq, []


def rand_complex(rng, n):
    return (rng.uniform(-1, 1, n) + 1j * rng.uniform(-1, 1, n)).astype(np.complex128)


def bits(err):
    return float("inf") if err == 0 else -math.log2(err)


def main():
    logn, L, first, scale, dnum = SETS[ARGS.set]
    N = 1 << logn
    slots = N // 2
    threads = ARGS.threads if ARGS.threads is not None else int(
        os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    ops = [o.strip() for o in ARGS.ops.split(",") if o.strip()]
    for o in ops:
        if o not in OPS:
            sys.exit("unknown op %r (known: %s)" % (o, ", ".join(OPS)))
    if ARGS.limbs:
        limb_list = [int(x) for x in ARGS.limbs.split(",")]
    else:
        limb_list = [L, (L + 1) // 2]
    version = openfhe_version()
    log("openfhe %s, set %s: N=2^%d, %d limbs (%d+%dx%d bits), dnum %d, threads %d, reps %d"
        % (version, ARGS.set, logn, L, first, L - 1, scale, dnum, threads, ARGS.reps))

    cc, sec = gen_context(logn, L, first, scale, dnum, ARGS.security)
    for f in (PKESchemeFeature.PKE, PKESchemeFeature.KEYSWITCH,
              PKESchemeFeature.LEVELEDSHE, PKESchemeFeature.ADVANCEDSHE):
        cc.Enable(f)
    logq = log2_modulus_q(cc)
    try:
        logp, np_primes, pbits = log_qp_via_small_ring(L, first, scale, dnum)
    except Exception as e:  # informational only
        log("could not determine P: %s" % e)
        logp, np_primes, pbits = float("nan"), -1, []
    log("context: N=%d, security=%s, log2 Q=%.2f, P: %d primes %s log2 P=%.2f, "
        "log2 QP=%.2f, scaling=FIXEDMANUAL, ks=HYBRID dnum=%d, secret=UNIFORM_TERNARY"
        % (cc.GetRingDimension(), sec, logq, np_primes, pbits, logp, logq + logp, dnum))

    rng = np.random.default_rng(ARGS.seed)
    random.seed(ARGS.seed)
    rot_r = random.randrange(1, slots)
    t = time.perf_counter()
    kp = cc.KeyGen()
    cc.EvalMultKeyGen(kp.secretKey)
    cc.EvalRotateKeyGen(kp.secretKey, [rot_r] + list(range(1, 9)))
    log("keygen (sk/pk + relin + 9 rotation keys): %.2fs, rotate index r=%d"
        % (time.perf_counter() - t, rot_r))
    M = cc.GetCyclotomicOrder()

    results = []

    def timeit(fn, reps=ARGS.reps):
        fn()  # warm-up (also fills OpenFHE's lazy precomputations)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts) * 1e3

    def dec(ct):
        pt = cc.Decrypt(kp.secretKey, ct)
        pt.SetLength(slots)
        try:
            v = pt.GetCKKSPackedValueArray()
        except Exception:
            v = pt.GetCKKSPackedValue()
        return np.asarray(v, dtype=np.complex128)

    def errs(ct, ref):
        e = np.abs(dec(ct) - ref)
        return float(np.max(e)), float(np.mean(e))

    for limbs in limb_list:
        if not (1 <= limbs <= L):
            sys.exit("bad limb count %d (1..%d)" % (limbs, L))
        level = L - limbs  # OpenFHE level = number of limbs dropped
        x = rand_complex(rng, slots)
        y = rand_complex(rng, slots)
        xl, yl = x, y  # numpy complex128: the wheel's buffer fast path
        ptx = cc.MakeCKKSPackedPlaintext(xl, 1, level)
        pty = cc.MakeCKKSPackedPlaintext(yl, 1, level)
        cx = cc.Encrypt(kp.publicKey, ptx)
        cy = cc.Encrypt(kp.publicKey, pty)
        assert cx.GetLevel() == level, (cx.GetLevel(), level)
        # the brief: LevelReduce top-level inputs to the middle level; encrypting
        # at `level` directly gives the same ciphertext shape, check both agree
        if level > 0:
            cx2 = cc.LevelReduce(cc.Encrypt(kp.publicKey, cc.MakeCKKSPackedPlaintext(xl)), None, level)
            assert cx2.GetLevel() == level
            cx = cx2
        row_common = dict(library="openfhe", version=version, openfhe_cpp=openfhe_cpp_tag(),
                          set=ARGS.set, n=N,
                          limbs=limbs, level=level, threads=threads)

        def record(op, ms, err, **extra):
            # err = (max abs error, mean abs error) over all slots
            prec = bits(err[0])
            r = dict(row_common, op=op, ms=round(ms, 4),
                     precision_bits=round(prec, 2),
                     precision_mean_bits=round(bits(err[1]), 2))
            r.update(extra)
            results.append(r)
            log("  %-17s limbs=%2d  %10.3f ms  %.2f bits (mean %.2f)" % (
                op, limbs, ms, prec, bits(err[1])))

        log("level %d (%d limbs)" % (level, limbs))
        for op in ops:
            if op == "encode_encrypt":
                ms = timeit(lambda: cc.Encrypt(kp.publicKey,
                                               cc.MakeCKKSPackedPlaintext(xl, 1, level)))
                z = rand_complex(rng, slots)
                ct = cc.Encrypt(kp.publicKey, cc.MakeCKKSPackedPlaintext(z, 1, level))
                record(op, ms, errs(ct, z))
            elif op == "add":
                ms = timeit(lambda: cc.EvalAdd(cx, cy))
                record(op, ms, errs(cc.EvalAdd(cx, cy), x + y))
            elif op == "mul_plain":
                ms = timeit(lambda: cc.EvalMult(cx, pty))
                record(op, ms, errs(cc.EvalMult(cx, pty), x * y))
            elif op == "mul_relin":
                if limbs < 2:
                    continue
                ms = timeit(lambda: cc.EvalMult(cx, cy))
                record(op, ms, errs(cc.EvalMult(cx, cy), x * y))
            elif op == "rescale":
                if limbs < 2:
                    continue
                prod = cc.EvalMult(cx, cy)
                ms = timeit(lambda: cc.Rescale(prod))
                record(op, ms, errs(cc.Rescale(prod), x * y))
            elif op == "rotate":
                ms = timeit(lambda: cc.EvalRotate(cx, rot_r))
                record(op, ms, errs(cc.EvalRotate(cx, rot_r), np.roll(x, -rot_r)),
                       rot_index=rot_r)
            elif op == "rotate_hoisted_8":
                def hoisted():
                    pre = cc.EvalFastRotationPrecompute(cx)
                    return [cc.EvalFastRotation(cx, i, M, pre) for i in range(1, 9)]
                ms = timeit(hoisted)
                outs = hoisted()
                es = [np.abs(dec(c) - np.roll(x, -i)) for i, c in zip(range(1, 9), outs)]
                record(op, ms, (max(float(e.max()) for e in es),
                                float(np.mean([e.mean() for e in es]))))
            elif op == "decrypt":
                ms = timeit(lambda: cc.Decrypt(kp.secretKey, cx))
                record(op, ms, errs(cx, x))

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    log("done; peak RSS %.0f MiB" % rss_mb)
    meta = dict(security=str(sec).split(".")[-1], log_q=round(logq, 2),
                log_p=round(logp, 2), log_qp=round(logq + logp, 2), p_primes=np_primes,
                dnum=dnum, first_mod_bits=first, scaling_mod_bits=scale,
                reps=ARGS.reps, peak_rss_mib=round(rss_mb))
    for r in results:
        r.update(meta)
    if ARGS.json:
        json.dump(results, sys.stdout, indent=1)
        print()
    else:
        print("# openfhe %s  set=%s  N=2^%d  log2 Q=%.1f  log2 QP=%.1f (P: %d primes)  "
              "security=%s  dnum=%d  reps=%d (median)  rotate r=%d"
              % (version, ARGS.set, logn, logq, logq + logp, np_primes,
                 meta["security"], dnum, ARGS.reps, rot_r))
        print("%-5s %6s %-13s %7s %-17s %11s %9s %9s" % (
            "set", "N", "level(limbs)", "threads", "op", "median ms", "prec bits", "mean bits"))
        for r in results:
            print("%-5s %6d %-13s %7d %-17s %11.3f %9.2f %9.2f" % (
                r["set"], r["n"], "%d(%d)" % (r["level"], r["limbs"]), r["threads"], r["op"],
                r["ms"], r["precision_bits"], r["precision_mean_bits"]))


if __name__ == "__main__":
    main()

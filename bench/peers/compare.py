#!/usr/bin/env python3
"""Join blindtune's and a peer's benchmark JSON and print time ratios.

  python bench/peers/compare.py ours.json openfhe.json [--json]

Both files hold a list of objects with at least n, limbs, threads, op, ms
(precision_bits optional). Also accepted: {"results": [...]}, or one JSON
object per line. Rows are joined on (n, limbs, threads, op); rows present on
one side only are listed at the end. ratio = peer_ms / ours_ms, so a ratio
> 1 means blindtune is faster. Precision columns are -log2(max abs error);
d_bits = ours - peer (positive: blindtune more precise).
Standard library only (runs with any python3).
"""
import argparse
import json
import math
import sys


def load(path):
    with open(path) as f:
        text = f.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(data, dict):
        for k in ("results", "rows", "benchmarks", "data"):
            if isinstance(data.get(k), list):
                data = data[k]
                break
        else:
            data = [data]
    rows = {}
    for r in data:
        try:
            key = (int(r["n"]), int(r["limbs"]), int(r["threads"]), str(r["op"]))
            ms = float(r["ms"])
        except (KeyError, TypeError, ValueError):
            continue
        # keep the first row per key (e.g. bootstrap complex before real)
        if key not in rows:
            rows[key] = dict(r, ms=ms)
    return rows


def fmt_bits(v):
    if v is None:
        return "-"
    try:
        return "%.1f" % float(v)
    except (TypeError, ValueError):
        return "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ours", help="blindtune bench ... --json output")
    ap.add_argument("peer", help="peer script --json output (e.g. openfhe.json)")
    ap.add_argument("--json", action="store_true", help="joined rows as JSON")
    a = ap.parse_args()
    ours, peer = load(a.ours), load(a.peer)
    keys = sorted(set(ours) & set(peer))
    out = []
    for k in keys:
        o, p = ours[k], peer[k]
        ratio = p["ms"] / o["ms"] if o["ms"] > 0 else float("inf")
        ob, pb = o.get("precision_bits"), p.get("precision_bits")
        d = None
        if ob is not None and pb is not None:
            try:
                d = float(ob) - float(pb)
            except (TypeError, ValueError):
                d = None
        out.append(dict(n=k[0], limbs=k[1], threads=k[2], op=k[3], ours_ms=o["ms"],
                        peer_ms=p["ms"], ratio=ratio, ours_bits=ob, peer_bits=pb, d_bits=d))
    if a.json:
        json.dump(out, sys.stdout, indent=1)
        print()
        return
    print("%6s %5s %7s %-17s %11s %11s %8s %9s %9s %6s" % (
        "N", "limbs", "threads", "op", "ours ms", "peer ms", "ratio", "ours bits",
        "peer bits", "d_bits"))
    for r in out:
        print("%6d %5d %7d %-17s %11.3f %11.3f %8.2f %9s %9s %6s" % (
            r["n"], r["limbs"], r["threads"], r["op"], r["ours_ms"], r["peer_ms"], r["ratio"],
            fmt_bits(r["ours_bits"]), fmt_bits(r["peer_bits"]),
            "-" if r["d_bits"] is None else "%+.1f" % r["d_bits"]))
    ratios = [r["ratio"] for r in out if r["ratio"] > 0 and math.isfinite(r["ratio"])]
    if ratios:
        g = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        print("# %d joined rows; geometric mean ratio (peer/ours) = %.2f" % (len(ratios), g))
    only_o = sorted(set(ours) - set(peer))
    only_p = sorted(set(peer) - set(ours))
    if only_o:
        print("# only in %s: %s" % (a.ours, ", ".join("%d/%d/%d/%s" % k for k in only_o)))
    if only_p:
        print("# only in %s: %s" % (a.peer, ", ".join("%d/%d/%d/%s" % k for k in only_p)))
    if not out:
        print("# nothing joined: check that n, limbs, threads and op match", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

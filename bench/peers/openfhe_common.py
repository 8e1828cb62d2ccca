"""Helpers shared by the OpenFHE peer scripts (version tags, exact log2 Q).

Import it only after OMP_NUM_THREADS is set: it imports openfhe, which loads libgomp.
"""
import json
import math
import os

import openfhe


def log2_modulus_q(cc):
    """Exact log2 Q of a context. cc.GetModulus() returns a double, which
    overflows to inf above 1024 bits, so read the composite modulus from the
    JSON serialization of the context (small: no keys inside)."""
    d = json.loads(openfhe.Serialize(cc, openfhe.JSON))

    def find(x):
        if isinstance(x, dict):
            if "elp" in x:
                cm = x["elp"]["ptr_wrapper"]["data"]["value0"]["cm"]
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
    if not q:
        return math.log2(cc.GetModulus())
    # log2 of a big int without float overflow
    sh = max(q.bit_length() - 60, 0)
    return math.log2(q >> sh) + sh


def openfhe_cpp_tag():
    """OPENFHE_TAG from the wheel's build-config.txt (the C++ library version)."""
    try:
        path = os.path.join(os.path.dirname(openfhe.__file__), "build-config.txt")
        for line in open(path):
            if line.startswith("OPENFHE_TAG="):
                return line.split("=", 1)[1].strip()
    except Exception:
        pass
    return "?"


def openfhe_version():
    try:
        from importlib.metadata import version
        return version("openfhe")
    except Exception:
        return getattr(openfhe, "__version__", "?")

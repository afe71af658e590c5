"""Writes every oracle tensor as a raw little-endian float32 file (<case>.<tensor>.f32; labels too)
plus <case>.meta listing "<tensor> <shape...>" per line, for the C++ checks in this folder.
usage: oracle_to_f32.py <oracle data dir> <output dir>"""
import json
import os
import sys

import numpy as np

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
manifest = json.load(open(os.path.join(src, "manifest.json")))
for case, info in manifest["cases"].items():
    raw = open(os.path.join(src, info["file"]), "rb").read()
    meta = []
    for name, t in info["tensors"].items():
        dtype = {"f64": "<f8", "f32": "<f4", "i32": "<i4"}[t["dtype"]]
        values = np.frombuffer(raw[t["offset"]:t["offset"] + t["nbytes"]], dtype=dtype)
        values.astype("<f4").tofile(os.path.join(out, f"{case}.{name}.f32"))
        meta.append(" ".join([name] + [str(d) for d in t["shape"]]))
    with open(os.path.join(out, f"{case}.meta"), "w") as f:
        f.write("\n".join(meta) + "\n")

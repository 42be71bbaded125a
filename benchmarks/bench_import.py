"""Model-file import: exactness on the whole zoo, onnx-tool's counts, speed and memory.

    .venv/bin/python benchmarks/bench_import.py [--out /tmp/roofsweep-bench-onnx] [--repeats 5]

1. Every zoo model exported with ``torch.onnx.export`` (dynamo=False, opset 17, random weights,
   eval) and imported: MACs and weight elements against the torch trace of the same model, and
   onnx-tool's MAC count of the same file with the difference explained per op type.
2. Speed: importing the ONNX export of MNv4-Conv-L vs tracing the torch model (build on meta +
   trace, no cache), interleaved, best and median of N.
3. Memory: MNv4-Conv-L's export is a 130 MB file (32.6 M fp32 weights). Each import runs in a
   fresh subprocess; ru_maxrss after ``import roofsweep.importers.onnx, onnx`` vs after the
   import, with the weights inside the file and with them in an external-data file.

Exports are kept in ``--out`` and reused. Prints one JSON document (figures for docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZOO = ("mnv1", "mnv2", "mnv3-large", "mnv3-small", "mnv4-conv-s", "mnv4-conv-m", "mnv4-conv-l",
       "mnv4-hybrid-m", "mnv4-hybrid-l")


def export_zoo(out: Path) -> dict[str, Path]:
    import torch

    from roofsweep import zoo

    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ZOO:
        p = out / f"{name}.onnx"
        if not p.exists():
            ref = zoo.resolve(name)
            torch.manual_seed(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(zoo.build(ref).eval(), (torch.randn(*ref.input_shape),), str(p),
                                  dynamo=False, opset_version=17, input_names=["input"])
        paths[name] = p
    return paths


def onnx_tool_macs(path: Path, shape) -> dict[str, float] | None:
    try:
        import numpy as np
        import onnx_tool
    except ImportError:
        return None
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        m = onnx_tool.Model(str(path))
        g = m.graph
        g.graph_reorder_nodes()
        g.shape_infer({"input": np.zeros(shape, dtype=np.float32)})
        g.profile()
    by_op: dict[str, float] = {"bias_adds": 0.0}
    for node in g.nodemap.values():
        macs = node.macs[0] if isinstance(node.macs, (list, tuple)) else node.macs
        by_op[node.op_type] = by_op.get(node.op_type, 0) + float(macs)
        if node.op_type in ("Conv", "Gemm") and len(node.input) == 3:  # one add per output element
            by_op["bias_adds"] += float(np.prod(g.tensormap[node.output[0]].get_shape()))
    return by_op


def exactness(paths: dict[str, Path]) -> list[dict]:
    from roofsweep import zoo
    from roofsweep.importers import load_model_file
    from roofsweep.trace import load_or_trace

    rows = []
    for name, p in paths.items():
        ref = zoo.resolve(name)
        t, o = load_or_trace(ref), load_model_file(p)
        tool = onnx_tool_macs(p, ref.input_shape)
        row = {
            "model": name, "torch_macs": t.macs, "onnx_macs": o.macs, "macs_equal": t.macs == o.macs,
            "torch_weight_elems": int(t.layers["weight_elems"].sum()),
            "onnx_weight_elems": int(o.layers["weight_elems"].sum()),
            "rows_torch": len(t.layers), "rows_onnx": len(o.layers), "unsupported": o.unsupported_ops,
            "file_mb": round(p.stat().st_size / 1e6, 1),
        }
        if tool is not None:
            compute = tool.get("Conv", 0) + tool.get("Gemm", 0) + tool.get("MatMul", 0)
            bias = tool.pop("bias_adds")
            row |= {
                "onnx_tool_total_macs": int(sum(tool.values())),
                "onnx_tool_conv_gemm_matmul_macs": int(compute),
                # onnx-tool adds one MAC per output element for the bias of a Conv/Gemm
                "onnx_tool_bias_adds": int(bias),
                "onnx_tool_conv_gemm_matmul_minus_bias_adds": int(compute - bias),
                "onnx_tool_other_ops_macs": int(sum(v for k, v in tool.items() if k not in ("Conv", "Gemm", "MatMul"))),
            }
        rows.append(row)
    return rows


def speed(path: Path, repeats: int) -> dict:
    from roofsweep import zoo
    from roofsweep.importers import load_model_file
    from roofsweep.trace.api import trace

    ref = zoo.resolve("mnv4-conv-l")
    load_model_file(path)  # warm-up: lazy imports on both sides
    trace(ref)
    imp, tr = [], []
    for _ in range(repeats):  # interleaved, so load changes hit both alike
        t = time.perf_counter()
        load_model_file(path)
        imp.append(time.perf_counter() - t)
        t = time.perf_counter()
        trace(ref)
        tr.append(time.perf_counter() - t)
    return {"import_best_s": min(imp), "import_median_s": statistics.median(imp),
            "trace_best_s": min(tr), "trace_median_s": statistics.median(tr),
            "ratio_median_import_over_trace": statistics.median(imp) / statistics.median(tr)}


# VmHWM (peak resident set) is reset through /proc/self/clear_refs, so the figure is the peak of
# the import itself, not of the imports before it.
_MEM = """
import sys, time
import onnx, onnx.reference, roofsweep.importers.onnx as ro
def kb(key):
    for line in open('/proc/self/status'):
        if line.startswith(key):
            return int(line.split()[1])
base = kb('VmRSS:')
open('/proc/self/clear_refs', 'w').write('5')
t = time.perf_counter()
r = ro.read_onnx(sys.argv[1])
dt = time.perf_counter() - t
print(base, kb('VmHWM:'), dt, r.macs)
"""


def memory(path: Path) -> dict:
    import onnx

    ext = path.with_name(path.stem + "-external.onnx")
    if not ext.exists():
        m = onnx.load(str(path))
        onnx.save(m, str(ext), save_as_external_data=True, all_tensors_to_one_file=True,
                  location=ext.stem + ".data")
        del m
    out = {}
    for label, p in (("embedded", path), ("external_data", ext)):
        res = subprocess.run([sys.executable, "-c", _MEM, str(p)], capture_output=True, text=True, check=True,
                             cwd=ROOT)
        base, peak, dt, macs = res.stdout.split()
        out[label] = {"file_mb": round(p.stat().st_size / 1e6, 1), "rss_before_mb": round(int(base) / 1e3, 1),
                      "rss_peak_mb": round(int(peak) / 1e3, 1),
                      "rss_growth_mb": round((int(peak) - int(base)) / 1e3, 1), "import_s": round(float(dt), 2),
                      "macs": int(macs)}
    out["external_data"]["weights_file_mb"] = round((ext.parent / (ext.stem + ".data")).stat().st_size / 1e6, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/roofsweep-bench-onnx"))
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    paths = export_zoo(args.out)
    result = {"exactness": exactness(paths), "speed_mnv4_conv_l": speed(paths["mnv4-conv-l"], args.repeats),
              "memory_mnv4_conv_l": memory(paths["mnv4-conv-l"])}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

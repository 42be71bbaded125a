"""Machine-readable output: the same rows a table shows, as JSON or CSV.

Column names are the DataFrame's own (docs/contracts.md), so ``--format json`` / ``--format csv``
document themselves. JSON is a list of records; NaN and +-inf become ``null`` (JSON has no
infinities: an infinite bandwidth - the RP 0 "MACs only" archetype - reads as null, and its
``ridge_point`` of 0 says the same); numpy scalars become Python numbers; tuples and lists
(shapes) become strings like ``1x3x224x224``. CSV keeps ``inf`` as written by pandas.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd


def _shape_str(v: Any) -> str:
    if isinstance(v, (tuple, list)) and all(isinstance(x, (int, np.integer)) for x in v):
        return "x".join(str(int(x)) for x in v)
    if isinstance(v, (tuple, list)):
        return ", ".join(_shape_str(x) for x in v)
    return str(v)


def _plain(v: Any) -> Any:
    """One cell as a JSON-ready Python value."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, (tuple, list, np.ndarray)):
        return _shape_str(list(v) if isinstance(v, np.ndarray) else v)
    if isinstance(v, (pd.Timestamp,)):
        return v.isoformat()
    if isinstance(v, str):
        return v
    return str(v)


def to_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain-Python dicts (the JSON form, before serialisation)."""
    cols = [str(c) for c in df.columns]
    return [{c: _plain(v) for c, v in zip(cols, row)} for row in df.itertuples(index=False, name=None)]


def to_json(df: pd.DataFrame, indent: int | None = 2) -> str:
    """``df`` as a JSON list of records (see the module docstring for value conversions)."""
    return json.dumps(to_records(df), indent=indent, allow_nan=False, ensure_ascii=False)


def to_csv(df: pd.DataFrame) -> str:
    """``df`` as CSV with a header row of its column names and no index column."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: _shape_str(v) if isinstance(v, (tuple, list)) else v)
    return out.to_csv(index=False, lineterminator="\n")


def profile_rows(profiles, origin: dict | None = None) -> pd.DataFrame:
    """One row per hardware profile (``hardware list --format json|csv``): name, display_name,
    kind, default_dtype, peak, bandwidth and ridge point at the default dtype, on-chip bytes,
    estimated fields, file path and where it was found (``origin``: name -> origin)."""
    rows = [{"name": p.name, "display_name": p.display_name, "kind": p.kind, "default_dtype": p.default_dtype,
             "peak_macs_per_s": float(p.peak()), "bandwidth_bytes_per_s": float(p.bandwidth_bytes_per_s),
             "ridge_point": float(p.ridge_point()), "onchip_bytes": p.onchip_bytes,
             "estimated": ", ".join(p.estimated), "path": str(p.path) if p.path else "",
             "origin": (origin or {}).get(p.name, "")} for p in profiles]
    return pd.DataFrame(rows)


def profile_dtype_rows(profile) -> pd.DataFrame:
    """One row per dtype of one profile (``hardware show --format json|csv``)."""
    p = profile
    return pd.DataFrame([{"name": p.name, "dtype": d, "peak_macs_per_s": float(v),
                          "bandwidth_bytes_per_s": float(p.bandwidth_bytes_per_s),
                          "ridge_point": float(p.ridge_point(d)), "default": d == p.default_dtype}
                         for d, v in p.peak_macs_per_s.items()])


__all__ = ["to_json", "to_csv", "to_records", "profile_rows", "profile_dtype_rows"]

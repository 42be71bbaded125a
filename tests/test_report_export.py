"""JSON / CSV export: documented column names are the DataFrame's, values are plain."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd

import report_fixtures as F
from roofsweep.report.export import to_csv, to_json


def test_to_json_records_plain_values():
    df = pd.DataFrame({
        "model": ["a", "b"], "macs": np.array([1, 2], dtype=np.int64), "latency_s": [0.5, np.nan],
        "bandwidth_bytes_per_s": [40e9, math.inf], "on_frontier": np.array([True, False]),
        "input_shape": [(1, 3, 224, 224), "1x8"],
    })
    rows = json.loads(to_json(df))
    assert rows == [
        {"model": "a", "macs": 1, "latency_s": 0.5, "bandwidth_bytes_per_s": 40e9, "on_frontier": True,
         "input_shape": "1x3x224x224"},
        {"model": "b", "macs": 2, "latency_s": None, "bandwidth_bytes_per_s": None, "on_frontier": False,
         "input_shape": "1x8"},
    ]
    assert isinstance(rows[0]["macs"], int)


def test_to_json_sweep_columns_are_the_dataframes():
    sweep = F.sweep(models=["mnv1"])
    rows = json.loads(to_json(sweep))
    assert len(rows) == len(sweep)
    assert list(rows[0]) == list(sweep.columns)
    assert rows[0]["bandwidth_bytes_per_s"] is None  # RP 0: infinite bandwidth -> null


def test_to_csv_roundtrip():
    df = F.per_layer("mnv1", 50)
    text = to_csv(df)
    assert text.splitlines()[0] == ",".join(df.columns)
    back = pd.read_csv(io.StringIO(text))
    assert len(back) == len(df)
    assert np.allclose(back["time_s"], df["time_s"])
    assert list(back["input_shape"]) == list(df["input_shape"])

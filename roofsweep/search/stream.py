"""Streaming ``search`` rows to the output file with bounded memory for the rows.

``RowSpool`` is a ``search`` sink: each chunk's rows (every column but the frontier's) are
appended to a temporary spool file beside the output as the chunk comes back (in any order, as
Dask returns them); only each candidate's capacity and ridge-point latencies stay in memory
(8 x (1 + ridge points) bytes a candidate). ``finish`` marks the frontier over all candidates,
then reads the chunks back in candidate order, adds the frontier columns and writes the output
through a second temporary file renamed into place. The output is complete or absent: an error
or interruption at any point removes both temporary files.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from roofsweep.search import run as _run


class RowSpool:
    """A ``search(..., sink=spool)`` sink writing the rows to ``path``; use as a context manager."""

    def __init__(self, path: str | Path, fmt: str = "csv"):
        _run.check_output(path)
        if fmt not in ("csv", "json"):
            raise _run.ConfigError(f"format must be csv or json, got {fmt!r}")
        self.path, self.fmt = Path(path), fmt
        self._dir = self.path.parent if str(self.path.parent) else Path(".")
        fd, self._spool = tempfile.mkstemp(dir=self._dir, prefix=f".{self.path.name}.", suffix=".rows.tmp")
        self._f = os.fdopen(fd, "w+b")
        self._index: list[tuple[int, int]] = []  # (first candidate, byte offset) per chunk
        self.frontier_counts: dict[str, int] = {}

    def start(self, space, digits: np.ndarray, points: pd.DataFrame, capacity: str) -> None:
        self.space, self.digits, self.points, self.capacity = space, digits, points, capacity
        self._rp_cols = np.flatnonzero((points["hardware"] == "").to_numpy())
        self._cap = np.full(len(digits), np.nan)
        self._lat = np.full((len(digits), len(self._rp_cols)), np.nan)

    def __call__(self, start: int, res: dict) -> None:
        n = len(res["macs"])
        df = pd.DataFrame(_run.candidate_columns(self.space, self.digits[start:start + n], res, self.points))
        self._cap[start:start + n] = np.asarray(res[self.capacity], dtype=np.float64)
        self._lat[start:start + n] = res["latency_s"][:, self._rp_cols]
        self._f.seek(0, os.SEEK_END)
        self._index.append((start, self._f.tell()))
        pickle.dump(df, self._f, protocol=pickle.HIGHEST_PROTOCOL)

    def finish(self) -> Path:
        """Add the frontier columns and write the output file (renamed into place at the end)."""
        front = _run.frontier_columns(self._cap, self._lat, self.points)
        self.frontier_counts = {k[len("on_frontier["):-1]: int(v.sum()) for k, v in front.items()
                                if k.startswith("on_frontier[")}
        fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", newline="") as f:
                chunks = sorted(self._index)
                if not chunks:
                    _run.write_stream(pd.DataFrame(), f, self.fmt)
                for k, (start, offset) in enumerate(chunks):
                    self._f.seek(offset)
                    df = pickle.load(self._f)
                    n = len(df)
                    for col, values in front.items():
                        df[col] = values[start:start + n]
                    _run.write_stream(df, f, self.fmt, first=k == 0, last=k == len(chunks) - 1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.path

    def close(self) -> None:
        self._f.close()
        Path(self._spool).unlink(missing_ok=True)

    def __enter__(self) -> RowSpool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

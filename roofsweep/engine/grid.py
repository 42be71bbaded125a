"""Ridge-point grids, their labels and the rates that realise them (no torch).

``ridge_point_grid`` parses the user's spec (a list, a linear or a log range) into a sorted
array of unique RPs, bounded by ``MAX_GRID_POINTS`` (library) and ``MAX_COMMAND_GRID_POINTS``
(commands and configs, which print every point); ``point_rates`` turns RPs into the peak and
bandwidth a sweep evaluates at. ``roofsweep.engine.sweep`` re-exports every name here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from roofsweep.engine.costmodel import CostModel
from roofsweep.errors import ConfigError, quote
from roofsweep.schema import RANGES

MAX_GRID_POINTS = 100_000  # library calls: 100,000 points x MNv2 cost 0.8 s (one loaded core)
# Commands and configs print and report every point: a terminal table of 10,000 rows took 47 s
# and 1,000 rows 4.7 s on a loaded 2-core machine, so the CLI and experiment configs stop here.
MAX_COMMAND_GRID_POINTS = 2_000
MAX_RIDGE_POINT = RANGES["ridge_point"].hi  # 1e6 MAC/byte (docs/hardware-profiles.md, ranges)
# Elements of one (layers x points) block: ~0.5 MB of float64, cache-sized (fastest measured).

HOLD_CHOICES = ("bandwidth", "compute")

# Ridge points of the terminal sweep table: RP 0 ("MACs only": memory free), then the paper's
# points (5, 50, 500) and the decades between them. RP 2 is left out: below the paper's lowest
# point it only shows the jump from RP 0's free memory to RP > 0's 40 GB/s.
DEFAULT_RIDGE_POINTS = (0.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0)
# Dense grid for curves and the Pareto frontier share: 1..500 log-spaced.
DEFAULT_CURVE_RIDGE_POINTS = "1:500:241:log"


def points_by_ridge_point(sweep_df: pd.DataFrame) -> list[str]:
    """The distinct ``point`` labels of a sweep frame, by ridge point (ties: order of appearance;
    a frame without ``ridge_point``: order of appearance)."""
    pts = sweep_df.drop_duplicates("point")
    if "ridge_point" in pts:
        pts = pts.sort_values("ridge_point", kind="stable")
    return [str(p) for p in pts["point"]]



def _num(text: str, spec: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise ConfigError(
            f"cannot read {quote(text)} in ridge-point spec {quote(spec)}; write a list '0,5,50,500', "
            f"a range 'START:STOP:N' or a log range 'START:STOP:N:log'"
        ) from None
    if not math.isfinite(x):
        raise ConfigError(f"ridge points must be finite numbers, got {quote(text)} in {quote(spec)}")
    if x < 0:
        raise ConfigError(f"ridge points must be >= 0 MAC/byte, got {quote(text)} in {quote(spec)}")
    if x > MAX_RIDGE_POINT:  # beyond it latencies underflow and overflow (numpy RuntimeWarnings)
        raise ConfigError(f"ridge point {quote(text)} in {quote(spec)} is outside the plausible range "
                          f"(0 to {MAX_RIDGE_POINT:g} MAC/byte)")
    return x + 0.0  # -0.0 -> 0.0


def ridge_point_grid(spec: str | float | Sequence[float]) -> np.ndarray:
    """Parse a ridge-point spec into a sorted array of unique RPs (MAC/byte, float64).

    * ``"0,5,50,500"`` - a list (also a Python sequence of numbers, or one number);
    * ``"0:500:5001"`` - N linearly spaced points including both ends;
    * ``"1:500:100:log"`` - N log-spaced points including both ends (START must be > 0).

    ``ConfigError`` for negative, NaN or infinite values, an inverted range, N < 2 (N = 1 is
    allowed when START == STOP) and more than ``MAX_GRID_POINTS`` points.
    """
    if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool):
        return np.array([_num(str(float(spec)), str(spec))])
    if not isinstance(spec, str):
        return _sequence_grid(spec)
    text = spec.strip()
    if not text:
        raise ConfigError("ridge-point spec is empty; e.g. '0,5,50,500' or '0:500:5001'")
    if ":" in text:
        return _range_grid(text, spec)
    values = [_num(p.strip(), spec) for p in text.split(",") if p.strip()]
    if not values:
        raise ConfigError(f"ridge-point list {quote(spec)} holds no numbers")
    if len(values) > MAX_GRID_POINTS:
        raise ConfigError(f"too many ridge points ({len(values)}); at most {MAX_GRID_POINTS}")
    return np.unique(np.asarray(values, dtype=np.float64))


def _sequence_grid(spec) -> np.ndarray:
    """``ridge_point_grid`` of a Python sequence or 1-D array of numbers."""
    if isinstance(spec, np.ndarray) or isinstance(spec, Sequence):
        if len(spec) == 0:
            raise ConfigError("ridge-point list is empty")
        if len(spec) > MAX_GRID_POINTS:
            raise ConfigError(f"too many ridge points ({len(spec)}); at most {MAX_GRID_POINTS}")
        if isinstance(spec, np.ndarray) and spec.ndim != 1:
            raise ConfigError(f"ridge points must be a flat list, got a {spec.ndim}-D array")
        if not isinstance(spec, np.ndarray):
            for i, v in enumerate(spec):  # nested lists, mappings...: name the item, not its text
                if isinstance(v, bool) or not isinstance(v, (int, float, str, np.integer, np.floating)):
                    raise ConfigError(f"ridge-point list item {i} must be a number, got {type(v).__name__}")
        try:
            values = np.asarray(spec, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError, OverflowError):
            values = np.array([_num(str(v), "the ridge-point list") for v in spec])
        bad = ~np.isfinite(values) | (values < 0) | (values > MAX_RIDGE_POINT)
        if bad.any():
            v = values[bad][0]
            _num(str(v), "the ridge-point list")  # raises the matching message
        return np.unique(values + 0.0)  # -0.0 -> 0.0
    raise ConfigError(f"ridge points must be a string, number or list, got {type(spec).__name__}")


def _range_grid(text: str, spec: str) -> np.ndarray:
    """``ridge_point_grid`` of ``START:STOP:N`` or ``START:STOP:N:log`` (``text`` stripped)."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) not in (3, 4):
        raise ConfigError(f"ridge-point range {quote(spec)} must be START:STOP:N or START:STOP:N:log")
    start, stop = _num(parts[0], spec), _num(parts[1], spec)
    try:
        n = int(parts[2])
    except ValueError:
        raise ConfigError(f"N in ridge-point range {quote(spec)} must be an integer, got {quote(parts[2])}") from None
    scale = parts[3].lower() if len(parts) == 4 else "linear"
    if scale not in ("log", "lin", "linear"):
        raise ConfigError(f"ridge-point range scale must be 'log' or 'linear', got {quote(parts[3])}")
    if stop < start:
        raise ConfigError(f"ridge-point range {quote(spec)} is inverted: START {start:g} > STOP {stop:g}")
    if n > MAX_GRID_POINTS:
        raise ConfigError(f"too many ridge points ({n}) in {quote(spec)}; at most {MAX_GRID_POINTS}")
    if n < 1 or (n == 1 and start != stop):
        raise ConfigError(f"ridge-point range {quote(spec)} needs N >= 2 points, got {n}")
    if scale == "log":
        if start <= 0:
            raise ConfigError(f"log ridge-point range {quote(spec)} needs START > 0 (log of 0)")
        grid = np.geomspace(start, stop, n)
        grid[0], grid[-1] = start, stop
    else:
        grid = np.linspace(start, stop, n)
    return np.unique(grid)


def command_grid(spec: str | float | Sequence[float]) -> np.ndarray:
    """``ridge_point_grid`` for a command or a config: at most ``MAX_COMMAND_GRID_POINTS``."""
    grid = ridge_point_grid(spec)
    if len(grid) > MAX_COMMAND_GRID_POINTS:
        raise ConfigError(f"too many ridge points ({len(grid):,}); a command or config reports every "
                          f"point, at most {MAX_COMMAND_GRID_POINTS:,} (use the Python API for denser grids)")
    return grid


def rp_label(rp: float, digits: int = 6) -> str:
    """``50.0 -> 'RP 50'``, ``31.2 -> 'RP 31.2'``."""
    return f"RP {rp:.{digits}g}"


def rp_labels(rps) -> list[str]:
    """``rp_label`` of each ridge point, with more digits where a dense grid needs them to stay
    distinct (``'RP 123.457'`` vs ``'RP 123.4575'``)."""
    for digits in (6, 9, 12, 17):
        labels = [rp_label(float(r), digits) for r in rps]
        if len(set(labels)) == len(labels):
            break
    return labels


def point_rates(ridge_points, cost_model: CostModel, hold: str = "bandwidth") -> tuple[np.ndarray, np.ndarray]:
    """(peak MAC/s, bandwidth bytes/s) arrays realising each ridge point.

    ``hold="bandwidth"`` (the paper's way): bandwidth = ``cost_model.sweep_bandwidth_bytes_per_s``,
    peak = RP x bandwidth. ``hold="compute"``: peak = ``cost_model.rp0_peak_macs_per_s``,
    bandwidth = peak / RP. Either way RP 0 means free memory (bandwidth = inf) at peak
    ``rp0_peak_macs_per_s``. Latencies at one RP differ between the two only by a constant factor,
    so rankings do not.
    """
    if hold not in HOLD_CHOICES:
        raise ConfigError(f"hold must be one of {', '.join(HOLD_CHOICES)}; got {hold!r}")
    rp = np.asarray(ridge_points, dtype=np.float64)
    if rp.ndim != 1 or not np.all(np.isfinite(rp)) or np.any(rp < 0):
        raise ConfigError("ridge points must be a 1-D list of finite numbers >= 0")
    zero = rp == 0
    if hold == "bandwidth":
        bw0 = cost_model.sweep_bandwidth_bytes_per_s
        peak = np.where(zero, cost_model.rp0_peak_macs_per_s, rp * bw0)
        bw = np.where(zero, np.inf, bw0)
    else:
        peak = np.full(rp.shape, cost_model.rp0_peak_macs_per_s)
        with np.errstate(divide="ignore"):
            bw = np.where(zero, np.inf, peak / np.where(zero, 1.0, rp))
    return peak.astype(np.float64), bw.astype(np.float64)


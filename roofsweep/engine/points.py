"""What a sweep reads: layer tables costed once (``CostCache``) and hardware profiles read once
into plain numbers (``ProfilePoint``), with the dtype fallback decided in one place
(``profile_dtype``). No torch. ``roofsweep.engine.sweep`` re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from roofsweep.engine.costmodel import CostModel, apply_cost_model, get_preset
from roofsweep.engine.roofline import check_rates
from roofsweep.errors import ConfigError, RoofsweepError


def _collect(tables) -> tuple[pd.DataFrame, list[str]]:
    """One LayerTable with a ``model`` column, and the model labels in order of appearance.

    ``tables``: mapping label -> LayerTable (or anything with a ``.layers`` LayerTable, such as
    a TraceResult; the mapping key becomes the ``model`` label), or one DataFrame with ``model``,
    or a ``CostCache``.
    """
    if isinstance(tables, CostCache):
        return tables.layers, tables.labels
    if isinstance(tables, pd.DataFrame):
        if "model" not in tables.columns:
            raise ConfigError("a layer table passed as one DataFrame needs a 'model' column")
        labels = [str(m) for m in pd.unique(tables["model"])]
        return tables, labels
    if isinstance(tables, Mapping):
        parts = []
        for label, t in tables.items():
            t = getattr(t, "layers", t)
            if not isinstance(t, pd.DataFrame):
                raise ConfigError(f"tables[{label!r}] is not a LayerTable (got {type(t).__name__})")
            parts.append(t.assign(model=str(label)))
        if not parts:
            raise ConfigError("no models to sweep")
        return pd.concat(parts, ignore_index=True), [str(k) for k in tables]
    raise ConfigError(f"tables must be a mapping label -> LayerTable or one DataFrame, got {type(tables).__name__}")


class CostCache:
    """The layer tables of several models, each costed (``apply_cost_model``) once per
    (cost model, dtype, on-chip capacity) however many sweeps read them.

    Pass one as ``tables`` to ``sweep_ridge_points``, ``sweep_profiles`` and ``per_layer_at``
    (``roofsweep.analysis.analyze`` does): one costing per dtype instead of one per call.
    ``calls`` counts the ``apply_cost_model`` calls made.
    """

    def __init__(self, tables):
        self.layers, self.labels = _collect(tables)
        self._costed: dict[tuple, pd.DataFrame] = {}
        self.calls = 0

    def costed(self, cm: CostModel, dtype: str, onchip_bytes: float = 0.0) -> pd.DataFrame:
        """``apply_cost_model(layers, cm, dtype, onchip_bytes)``, computed on first use.
        The result is shared: callers copy before changing it."""
        key = (cm, str(dtype), float(onchip_bytes))
        if key not in self._costed:
            self.calls += 1
            self._costed[key] = apply_cost_model(self.layers, cm, dtype, onchip_bytes=onchip_bytes)
        return self._costed[key]


def _costs(tables) -> CostCache:
    return tables if isinstance(tables, CostCache) else CostCache(tables)


def _resolve_cost_model(cost_model) -> CostModel:
    if isinstance(cost_model, CostModel):
        return cost_model
    if isinstance(cost_model, str):
        return get_preset(cost_model)
    raise ConfigError(f"cost_model must be a CostModel or a preset name, got {type(cost_model).__name__}")


def _profile_rates(profile, dtype: str) -> tuple[float, float, float]:
    """(peak, bandwidth, ridge point) of ``profile`` at ``dtype``; ``ConfigError`` if it has no
    peak for that dtype."""
    try:
        peak = float(profile.peak(dtype))
        rp = float(profile.ridge_point(dtype))
    except RoofsweepError:
        raise
    except (KeyError, ValueError, TypeError) as e:
        have = ", ".join(sorted(getattr(profile, "peak_macs_per_s", {}) or {}))
        raise ConfigError(
            f"hardware profile '{profile.name}' has no peak MAC/s for dtype {dtype} (has: {have}); "
            f"choose a dtype it lists ({e})"
        ) from None
    bw = float(profile.bandwidth_bytes_per_s)
    check_rates(peak, bw)
    return peak, bw, rp


MISSING_DTYPE_CHOICES = ("fallback", "error")


def profile_dtype(cm: CostModel, profile, missing_dtype: str = "fallback") -> str:
    """The dtype ``cm`` uses on ``profile``: ``cm.dtype``, else the profile's default dtype.

    When ``cm.dtype`` names a dtype the profile lists no peak for (the paper preset's int8 on
    an fp16-only GPU), ``missing_dtype="fallback"`` uses the profile's default dtype instead
    (bytes and peak both at that dtype; the sweep's ``dtype`` column shows it) and ``"error"``
    raises ``ConfigError``.
    """
    if missing_dtype not in MISSING_DTYPE_CHOICES:
        raise ConfigError(f"missing_dtype must be one of {', '.join(MISSING_DTYPE_CHOICES)}; got {missing_dtype!r}")
    dtype = cm.dtype if cm.dtype is not None else str(profile.default_dtype)
    listed = getattr(profile, "peak_macs_per_s", None) or {}
    if cm.dtype is not None and listed and dtype not in listed:
        if missing_dtype == "fallback":
            return str(profile.default_dtype)
        raise ConfigError(
            f"hardware profile '{profile.name}' has no peak MAC/s for dtype {dtype} "
            f"(has: {', '.join(listed)}); choose a dtype it lists"
        )
    return dtype


@dataclass(frozen=True)
class ProfilePoint:
    """A hardware profile as the plain numbers a sweep needs under one cost model: the dtype
    (``profile_dtype``), peak and bandwidth at it, its ridge point and the on-chip capacity in
    effect (0 unless the cost model uses on-chip memory; the cost model's override wins)."""

    name: str
    dtype: str
    peak_macs_per_s: float
    bandwidth_bytes_per_s: float
    ridge_point: float
    onchip_bytes: float


def profile_point(cm: CostModel, profile, missing_dtype: str = "fallback") -> ProfilePoint:
    """Read ``profile`` once into a ``ProfilePoint`` for ``cm`` (``ConfigError`` if it lacks the
    dtype and ``missing_dtype="error"``, or has no peak for it)."""
    dtype = profile_dtype(cm, profile, missing_dtype)
    peak, bw, rp = _profile_rates(profile, dtype)
    onchip = 0.0
    if cm.use_onchip:
        own = getattr(profile, "onchip_bytes", None)
        onchip = float(cm.onchip_bytes if cm.onchip_bytes is not None else (own or 0.0))
    return ProfilePoint(str(profile.name), dtype, peak, bw, rp, onchip)


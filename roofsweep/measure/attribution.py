"""Attribute measured per-module self times to LayerTable rows (torch-free).

A hooked forward pass gives every module's *self* time: its inclusive time minus the inclusive
times of the child modules it called. Each LayerTable row names, in its ``modules`` column, every
module whose ops were fused into it (``blocks.3.expand.conv,blocks.3.expand.bn,blocks.3.expand.act``);
a row's measured time is the sum of the self times of those modules.

One module's self time may belong to several rows. A residual block's ``forward`` runs the add
itself, so the block's self time is named by the add row; an attention module's self time covers
its reshapes, softmax and ``scaled_dot_product_attention``, named by several rows. Such a shared
self time is split among the rows that name the module in proportion to ``weights`` (the
predicted time of each row, when a prediction is available) or equally when there are no weights
or they sum to zero.

Nothing is dropped silently: self time of modules named by no row (a ``Sequential``'s own loop,
``Dropout``, ``Flatten``, hook overhead inside containers) is returned as *unattributed*, and rows
whose modules never ran are listed as *unmatched*.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

ROOT = "<root>"  # the LayerTable's name for ops called directly in the top module's forward


def row_modules(layers: pd.DataFrame) -> list[list[str]]:
    """Module paths named by each row: the ``modules`` column split on ``,``, else ``[name]``."""
    out: list[list[str]] = []
    has_modules = "modules" in layers.columns
    for _, row in layers.iterrows():
        mods: list[str] = []
        if has_modules and isinstance(row["modules"], str) and row["modules"].strip():
            mods = [m.strip() or ROOT for m in row["modules"].split(",")]
        if not mods:
            mods = [str(row["name"]) or ROOT]
        # a module listed twice in one row counts once
        out.append(list(dict.fromkeys(mods)))
    return out


@dataclass
class Attribution:
    measured_s: pd.Series                   # per row, index aligned with the LayerTable
    unattributed_s: dict[str, float] = field(default_factory=dict)  # module -> self time no row names
    unmatched_rows: list[int] = field(default_factory=list)  # positions of rows whose modules never ran
    shared_modules: dict[str, int] = field(default_factory=dict)  # module -> number of rows sharing it


def attribute(
    layers: pd.DataFrame,
    module_self_s: Mapping[str, float],
    weights: pd.Series | list[float] | None = None,
) -> Attribution:
    """Split per-module self times over the LayerTable rows (see the module docstring).

    ``weights`` (same length as ``layers``) sets the share of a shared module each row receives;
    ``None`` or an all-zero group splits equally.
    """
    mods_per_row = row_modules(layers)
    n = len(mods_per_row)
    w = [1.0] * n if weights is None else [float(v) for v in list(weights)]
    assert len(w) == n, (len(w), n)

    claims: dict[str, list[int]] = {}
    for i, mods in enumerate(mods_per_row):
        for m in mods:
            claims.setdefault(m, []).append(i)

    measured = [0.0] * n
    unattributed: dict[str, float] = {}
    for module, t in module_self_s.items():
        rows = claims.get(module)
        if not rows:
            if t:
                unattributed[module] = float(t)
            continue
        group = [max(w[i], 0.0) for i in rows]
        total = sum(group)
        for i, wi in zip(rows, group):
            share = wi / total if total > 0 else 1.0 / len(rows)
            measured[i] += float(t) * share

    ran = set(module_self_s)
    unmatched = [i for i, mods in enumerate(mods_per_row) if not any(m in ran for m in mods)]
    shared = {m: len(r) for m, r in claims.items() if len(r) > 1}
    return Attribution(
        measured_s=pd.Series(measured, index=layers.index, dtype=float, name="measured_s"),
        unattributed_s=unattributed,
        unmatched_rows=unmatched,
        shared_modules=shared,
    )


def measured_rows(layers: pd.DataFrame, module_self_s: Mapping[str, float]
                  ) -> tuple[pd.DataFrame, dict[str, float], list[int]]:
    """``layers`` with a ``measured_s`` column from ``attribute`` (a copy), the unattributed self
    times and the unmatched rows: what every runtime's result carries per layer."""
    att = attribute(layers, module_self_s)
    rows = layers.copy()
    rows["measured_s"] = att.measured_s.to_numpy()
    return rows, att.unattributed_s, att.unmatched_rows

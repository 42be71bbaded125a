"""Option texts and parsers shared by the analysis commands (sweep, compare, run).

Parsers turn option strings into library arguments and raise ``ConfigError`` (one line) on bad
input; they never compute results.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Optional

from roofsweep.errors import ConfigError

HARDWARE_HELP = "Hardware profile name or YAML path; repeat for several. Default: every profile found."
RP_HELP = "Ridge points in MAC/byte, e.g. 0,5,50,500."
RANGE_HELP = "Ridge-point range START:STOP:N (linear) or START:STOP:N:log."
SET_HELP = "Override a cost-model setting, e.g. --set dtype=fp16 --set use_onchip=true."
TOP1_HELP = "Top-1 accuracy (%) of a model, as NAME=ACC; repeat for several (overrides the zoo's)."
ACCURACIES_HELP = "CSV file with columns model,top1: accuracies of your own models."
FORMAT_HELP = "table, or json/csv rows on stdout (these write a report only with --out)."
MAX_ACCURACY_FILE = 1_000_000  # bytes: a CSV of model accuracies is a few lines


def ridge_points(ridge_points: Optional[str], rp_range: Optional[str]):
    """The ridge-point spec from ``--ridge-points`` or ``--rp-range`` (not both), else the default."""
    from roofsweep.engine.sweep import DEFAULT_RIDGE_POINTS

    if ridge_points is not None and rp_range is not None:
        raise ConfigError("give --ridge-points or --rp-range, not both")
    spec = ridge_points if ridge_points is not None else rp_range
    if spec is None:
        return DEFAULT_RIDGE_POINTS
    from roofsweep.engine.sweep import command_grid

    command_grid(spec)  # bounded before any work; an empty spec is an error, not the default
    return spec


def _top1_value(text: str, where: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ConfigError(f"{where}: top-1 must be a number in (0, 100], got {text!r}") from None
    if not (math.isfinite(v) and 0 < v <= 100):
        raise ConfigError(f"{where}: top-1 must be a percentage in (0, 100], got {text!r}")
    return v


def parse_top1(items: Optional[list[str]]) -> dict[str, float]:
    """``["mine=71.5", ...]`` -> ``{"mine": 71.5}`` (``--top1 NAME=ACC``, repeatable)."""
    out: dict[str, float] = {}
    for item in items or ():
        name, sep, value = item.rpartition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--top1 expects NAME=ACC, e.g. --top1 mnv2=72.0; got {item!r}")
        name = name.strip()
        if name in out:
            raise ConfigError(f"--top1: model {name!r} is given twice")
        out[name] = _top1_value(value.strip(), f"--top1 {name}")
    return out


def read_accuracies(path: Optional[Path]) -> dict[str, float]:
    """``model,top1`` rows of a CSV file (a header row naming both columns; other columns
    ignored) -> ``{model: top1}``. One-line ``ConfigError`` naming the file and line."""
    if path is None:
        return {}
    shown = os.fspath(path)
    try:
        if not Path(path).is_file():
            raise ConfigError(f"{shown}: not a regular file")
        if Path(path).stat().st_size > MAX_ACCURACY_FILE:
            raise ConfigError(f"{shown}: larger than {MAX_ACCURACY_FILE} bytes; expected a few lines of model,top1")
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{shown}: not UTF-8 text") from None
    except OSError as e:
        raise ConfigError(f"{shown}: cannot read ({e.strerror or e})") from None
    reader = csv.DictReader(io.StringIO(text))
    cols = [c.strip() for c in reader.fieldnames or []]
    if "model" not in cols or "top1" not in cols:
        raise ConfigError(f"{shown}: line 1: needs a header row with columns model,top1")
    reader.fieldnames = cols
    out: dict[str, float] = {}
    for row in reader:
        line = reader.line_num
        name = (row.get("model") or "").strip()
        if not name:
            raise ConfigError(f"{shown}: line {line}: empty model name")
        if name in out:
            raise ConfigError(f"{shown}: line {line}: model {name!r} is listed twice")
        out[name] = _top1_value((row.get("top1") or "").strip(), f"{shown}: line {line}")
    return out


def accuracies(specs: list[str], refs, top1: Optional[list[str]], csv_path: Optional[Path]) -> dict[str, float]:
    """The accuracies for ``analyze``, keyed by model label: the CSV's, then ``--top1``'s over
    them. A name may be the label or the spec as typed on the command line."""
    label_of = {str(s): r.label for s, r in zip(specs, refs)}
    merged = read_accuracies(csv_path) | parse_top1(top1)
    return {label_of.get(name, name): v for name, v in merged.items()}


__all__ = ["ridge_points", "parse_top1", "read_accuracies", "accuracies", "HARDWARE_HELP", "RP_HELP",
           "RANGE_HELP", "SET_HELP", "TOP1_HELP", "ACCURACIES_HELP", "FORMAT_HELP"]

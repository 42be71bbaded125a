"""``roofsweep models`` and ``roofsweep layers``."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from roofsweep.cli import Command, app
from roofsweep.cli.common import Format, console, emit, handle_errors, progress, warn

MODEL_HELP = (
    "Zoo name (see `roofsweep models`; paper names like mnv2-1.5x work), torchvision:NAME, "
    "timm:NAME, package.module:callable, a model file (net.onnx, net.tflite) or a search-space "
    "candidate space:FILE#ID."
)


INPUT_SHAPE_HELP = (
    "Input shape, e.g. 1x3x224x224; repeat it once per positional input (a model taking two "
    "images: --input-shape 1x3x224x224 --input-shape 1x3x224x224). Default: the model's native size."
)


def parse_shapes(texts: Optional[list[str]]):
    """``--input-shape`` given once: one shape; several times: a tuple of shapes, one per input."""
    shapes = [parse_shape(t) for t in (texts or []) if t]
    if not shapes:
        return None
    return shapes[0] if len(shapes) == 1 else tuple(shapes)


def parse_shape(text: Optional[str]) -> Optional[tuple[int, ...]]:
    if not text:
        return None
    from roofsweep.errors import ConfigError

    try:
        dims = tuple(int(x) for x in text.lower().replace(",", "x").split("x") if x.strip())
    except ValueError:
        raise ConfigError(f"--input-shape must look like 1x3x224x224, got {text!r}") from None
    if not dims or any(d <= 0 for d in dims):
        raise ConfigError(f"--input-shape needs positive sizes, got {text!r}")
    return dims


@app.command("models")
@handle_errors
def models_cmd(
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
) -> None:
    """List the zoo: default resolution, MACs, params and published ImageNet top-1.

    Example: roofsweep models --format json
    """
    from roofsweep.analysis import zoo_table
    from roofsweep.report.terminal import models_table
    from roofsweep.zoo.registry import ZOO

    with progress(len(ZOO), "tracing") as step:
        df = zoo_table(progress=lambda r: step(r.label))
    emit(df, fmt, [models_table(df.drop(columns=["top1_source"]))])


@app.command("layers", cls=Command)
@handle_errors
def layers_cmd(
    model: str = typer.Option(..., "--model", "-m", metavar="MODEL", help=MODEL_HELP),
    width: Optional[float] = typer.Option(None, "--width", "-w", metavar="X", help="Width multiplier (zoo models)."),
    resolution: Optional[int] = typer.Option(None, "--resolution", "-r", metavar="PX", help="Input resolution in pixels."),
    batch: int = typer.Option(1, "--batch", "-b", metavar="N", help="Batch size."),
    input_shape: Optional[list[str]] = typer.Option(None, "--input-shape", metavar="SHAPE", help=INPUT_SHAPE_HELP),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Trace again instead of using the trace cache."),
) -> None:
    """The model's LayerTable: one row per fused layer with MACs and element counts.

    Example: roofsweep layers --model mnv4-conv-m --resolution 320 --format csv
    """
    from roofsweep.analysis import load_models, resolve_models
    from roofsweep.report.terminal import layers_table

    shapes_given = parse_shapes(input_shape)
    (ref,) = resolve_models([model], width, resolution, batch, shapes_given)
    (res,) = load_models([ref], use_cache=not no_cache)
    t = res.trace
    shapes, source = traced_inputs(ref, t, shapes_given is not None, resolution is not None)
    if fmt == Format.json:
        from roofsweep.report.export import to_records

        doc = {
            "model": t.model,
            "input_shape": list(t.input_shape),
            "input_shapes": shapes,
            "input_source": source,
            "data_dependent": bool(t.meta.get("data_dependent", False)),
            "macs": int(t.macs),
            "params": int(t.params),
            "unsupported_ops": t.unsupported_ops,
            "zero_cost_ops": t.zero_cost_ops,
            "layers": to_records(t.layers),
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    if t.unsupported_ops:
        ops = ", ".join(f"{k} x{v}" for k, v in sorted(t.unsupported_ops.items()))
        warn(f"{t.model}: ops without a cost formula, not counted: {ops}")
    from roofsweep.report.terminal import inputs_text
    from roofsweep.units import fmt_count, fmt_macs

    inputs = inputs_text(shapes, source)
    emit(t.layers, fmt, [layers_table(t.layers, inputs=inputs)])
    if fmt == Format.table:
        console.print(f"{t.model}: {fmt_macs(t.macs)}, {fmt_count(t.params)} params, {len(t.layers)} layers, "
                      f"{inputs}")


def traced_inputs(ref, trace, shape_given: bool = False, resolution_given: bool = False
                  ) -> tuple[list[list[int]], str]:
    """The input shape(s) a model was traced at and where they came from: the trace's own
    record (``meta["input_shapes"]``/``["input_source"]`` of a torch model, ``meta["inputs"]`` of
    a model file), else the options: ``--input-shape``, ``--resolution``, ``file`` (the shape a
    model file declares) or ``zoo default resolution``."""
    meta = trace.meta or {}
    shapes = meta.get("input_shapes") or list((meta.get("inputs") or {}).values()) or [list(trace.input_shape)]
    source = meta.get("input_source") or ""
    if shape_given:
        source = "--input-shape"
    elif not source:
        if meta.get("source") in ("onnx", "tflite") or getattr(ref, "family", "") == "file":
            source = "file"
        elif resolution_given:
            source = "--resolution"
        elif getattr(ref, "family", "") not in ("external", ""):
            source = "zoo default resolution"
    return [[int(d) for d in s] for s in shapes], source

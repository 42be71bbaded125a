"""Experiment configs for ``roofsweep run`` (torch-free).

```yaml
title: MobileNetV4 paper, Fig. 2          # shown in the report
preset: paper                             # cost-model preset: default | paper
settings: {dtype: int8}                   # optional cost-model overrides (as --set key=value)
models:                                   # names, or mappings with options
  - mnv4-conv-m
  - {model: mnv2, width: 1.5, top1: 76.8} # top1 overrides the zoo's published figure
  - {model: mnv1, width: 0.5, resolution: 160, label: mnv1-0.5x@160}
ridge_points: [0, 5, 50, 500]             # list, or "0:500:101", or "1:500:50:log" (<= 2,000 points)
hardware: none                            # none | all | a profile name or path | [names or paths]
per_layer_points: [5, 500]                # ridge points of the per-layer figures and tables (<= 8)
output: roofsweep-reports/paper-fig2      # report folder (relative to the working directory)
```
The file is read by the shared safe YAML reader (``roofsweep.io``), validated by the pydantic
``ConfigSchema`` below (unknown fields rejected with did-you-mean, at most 100 models and 100
profiles), then resolved (models, profiles, cost-model settings). The first problem is reported
as ``FILE: FIELD: reason (line N)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainValidator, ValidationError

from roofsweep import schema as S
from roofsweep.errors import ConfigError, RoofsweepError, one_line
from roofsweep.io import YamlInputError, YamlLimits, read_yaml_file
from roofsweep.zoo.registry import ModelRef, resolve

LIMITS = YamlLimits("experiment config", max_bytes=1 << 20, max_depth=8, max_nodes=100_000,
                    empty_hint="expected a mapping of settings (models, hardware, ...)", noun="config file")
MAX_CONFIG_BYTES = LIMITS.max_bytes
MAX_CONFIG_NODES = LIMITS.max_nodes  # YAML nodes, counting each alias expansion again (alias bombs)
MAX_MODELS = 100
MAX_PROFILES = 100
MAX_SETTINGS = 32
# Each per-layer point adds a figure and a table per model to the report: about 7 s per point
# for two models on a loaded 2-core machine (20 points took 160 s), so a config stops at 8.
MAX_PER_LAYER_POINTS = 8
MAX_PATH_CHARS = 4096
FIGURE_FILES = ("none", "svg", "png")  # `figures:` - matplotlib figure files in the report folder
TOP_KEYS = ("title", "preset", "settings", "models", "ridge_points", "hardware", "per_layer_points", "output",
            "figures")
MODEL_KEYS = ("model", "width", "resolution", "batch", "top1", "label")


@dataclass
class Experiment:
    name: str
    title: str
    preset: str
    overrides: dict[str, Any]
    models: list[ModelRef]
    ridge_points: Any
    hardware: list[str] | None  # None = every profile found
    per_layer_points: tuple[float, ...]
    accuracy: dict[str, float] = field(default_factory=dict)
    out: Path | None = None
    figures: str = "none"  # figure files in the report folder: none | svg | png (the page draws its own charts)


# ------------------------------------------------------------------------------ the schema
def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise S.fail(f"must be a finite number, got {S.quote(v)}")
    try:
        x = float(v)
    except OverflowError:
        raise S.fail(f"must be a finite number, got {S.quote(v)}") from None
    if not S.finite(x):
        raise S.fail(f"must be a finite number, got {S.quote(v)}")
    return x


def _integer(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise S.fail(f"must be an integer, got {S.quote(v)}")
    return v


def _top1(v: Any) -> float:
    x = _number(v)
    if not 0 < x <= 100:
        raise S.fail(f"must be a percentage in (0, 100], got {x:g}")
    return x


def _label(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise S.fail(f"must be a non-empty string, got {S.type_name(v)}")
    return S.line(v, limit=S.MAX_NAME_CHARS)


def _model_name(v: Any) -> str:
    if not isinstance(v, str):
        raise S.fail(f"must be a model name, got {S.type_name(v)}")
    return S.line(v, limit=200)


def _opt(fn):
    return PlainValidator(lambda v: None if v is None else fn(v))


class ModelSchema(BaseModel):
    """One entry of ``models:`` (a bare name is ``{model: NAME}``)."""

    model_config = ConfigDict(extra="forbid")
    model: Annotated[str, PlainValidator(_model_name)]
    width: Annotated[float | None, _opt(_number)] = None
    resolution: Annotated[int | None, _opt(_integer)] = None
    batch: Annotated[int | None, _opt(_integer)] = None
    top1: Annotated[float | None, _opt(_top1)] = None
    label: Annotated[str | None, _opt(_label)] = None


def _model_item(v: Any) -> Any:
    if isinstance(v, str):
        return {"model": v}
    if not isinstance(v, dict) or "model" not in v:
        raise S.fail("must be a model name or a mapping with a 'model' key")
    return v


def _list(what: str, limit: int, empty_ok: bool = False):
    def check(v: Any) -> Any:
        if not isinstance(v, list) or (not v and not empty_ok):
            raise S.fail(f"must be a non-empty list of {what}")
        if len(v) > limit:
            raise S.fail(f"lists {len(v):,} {what}; at most {limit:,}")
        return v
    return check


def _settings(v: Any) -> dict:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise S.fail("must be a mapping of cost-model settings")
    if len(v) > MAX_SETTINGS:
        raise S.fail(f"has {len(v)} entries; at most {MAX_SETTINGS}")
    return {str(k): val for k, val in v.items()}


def _hardware(v: Any) -> list[str] | None:
    if isinstance(v, str) and v not in ("none", "all"):
        v = [v]  # one profile name or path
    if v in (None, "none", []):
        return []
    if v == "all":
        return None
    if not isinstance(v, list) or not all(isinstance(h, str) for h in v):
        raise S.fail("must be 'all', 'none' or a list of profile names/paths")
    if len(v) > MAX_PROFILES:
        raise S.fail(f"lists {len(v):,} profiles; at most {MAX_PROFILES}")
    return [S.line(h, limit=MAX_PATH_CHARS) for h in v]


def _ridge_point(v: Any) -> float:
    if v is None:
        raise S.fail("has no value; give a ridge point in MAC/byte")
    return S.quantity(_number(v), "ridge_point")


def _title(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise S.fail(f"must be text, got {S.type_name(v)}")
    return S.line(str(v), limit=200)


def _output(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise S.fail("must be a folder path")
    return S.line(v, limit=MAX_PATH_CHARS)


class ConfigSchema(BaseModel):
    """An experiment config, field by field; ``load_experiment`` resolves models and profiles."""

    model_config = ConfigDict(extra="forbid")
    title: Annotated[str | None, _opt(_title)] = None
    preset: Annotated[str, PlainValidator(lambda v: S.choice(v, ("default", "paper"), "preset"))] = "default"
    settings: Annotated[dict, PlainValidator(_settings)] = {}
    models: Annotated[list[Annotated[ModelSchema, BeforeValidator(_model_item)]],
                      BeforeValidator(_list("model names or mappings", MAX_MODELS))]
    ridge_points: Any = [0, 5, 50, 500]
    hardware: Annotated[list[str] | None, PlainValidator(_hardware)] = []
    per_layer_points: Annotated[list[Annotated[float, PlainValidator(_ridge_point)]],
                                BeforeValidator(_list("ridge points", MAX_PER_LAYER_POINTS))] = [5, 500]
    output: Annotated[str | None, _opt(_output)] = None
    figures: Annotated[str, PlainValidator(lambda v: S.choice(v, FIGURE_FILES, "figures"))] = "none"


# ------------------------------------------------------------------------------ loading
class _Fail(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason


def _read(path: Path) -> tuple[dict, dict[str, int]]:
    try:
        data, lines = read_yaml_file(path, LIMITS, label=str(path))
    except YamlInputError as e:
        raise ConfigError(str(e)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: file: expected a mapping of settings, got {S.type_name(data)}")
    return data, lines


def load_experiment(path: str | Path) -> Experiment:
    """Read, validate and resolve one experiment config; ``ConfigError("FILE: FIELD: reason
    (line N)")`` for the first problem."""
    path = Path(path)
    data, lines = _read(path)
    if ("stages" in data or "callable" in data) and "models" not in data:  # a search space (roofsweep.search.space)
        raise ConfigError(f"{path}: a search space, not an experiment config; "
                          f"cost its candidates with `roofsweep search {path}`")
    try:
        doc = ConfigSchema.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(S.problems(exc, str(path), lines, TOP_KEYS, nested={"models": MODEL_KEYS})[0]) from None
    try:
        return _resolve(path, doc)
    except _Fail as f:
        line = S.line_for(f.field, lines)
        where = one_line(f.field, 100)
        raise ConfigError(f"{path}: {where}: {f.reason}" + (f" (line {line})" if line else "")) from None


def _resolve(path: Path, doc: ConfigSchema) -> Experiment:
    from roofsweep.analysis import cost_model_from
    from roofsweep.engine.costschema import CostModelError
    from roofsweep.engine.sweep import command_grid

    try:  # validate the overrides now, so the error names the config file
        cost_model_from(doc.preset, doc.settings)
    except CostModelError as e:
        raise _Fail(f"settings.{e.field}" if e.field in doc.settings else "settings", e.reason) from None
    except RoofsweepError as e:
        raise _Fail("settings", str(e)) from None
    refs, accuracy = _models(path, doc)
    try:
        command_grid(doc.ridge_points)
    except RoofsweepError as e:
        raise _Fail("ridge_points", str(e)) from None
    return Experiment(
        name=path.stem,
        title=doc.title or path.stem,
        preset=doc.preset,
        overrides=dict(doc.settings),
        models=refs,
        ridge_points=doc.ridge_points,
        hardware=_profiles(path, doc.hardware),
        per_layer_points=tuple(doc.per_layer_points),
        accuracy=accuracy,
        out=Path(doc.output) if doc.output else None,
        figures=doc.figures,
    )


def _models(path: Path, doc: ConfigSchema) -> tuple[list[ModelRef], dict[str, float]]:
    refs: list[ModelRef] = []
    accuracy: dict[str, float] = {}
    for i, item in enumerate(doc.models):
        where = f"models[{i}]"
        try:
            ref = resolve(_relative_model(path, item.model), item.width, item.resolution,
                          1 if item.batch is None else item.batch)
        except RoofsweepError as e:
            raise _Fail(where, str(e)) from None
        if item.label is not None:
            ref = replace(ref, label=item.label)
        if item.top1 is not None:
            accuracy[ref.label] = item.top1
        if any(r.label == ref.label for r in refs):
            raise _Fail(where, f"model {ref.label} is listed twice (give one a 'label')")
        refs.append(ref)
    return refs, accuracy


def _profiles(path: Path, hardware: list[str] | None) -> list[str] | None:
    if not hardware:
        return hardware
    resolved = [_relative(path, h) for h in hardware]
    from roofsweep.hardware import get_profile

    names: dict[str, str] = {}
    for raw_h, h in zip(hardware, resolved):
        try:
            p = get_profile(h)
        except RoofsweepError as e:
            raise _Fail("hardware", str(e)) from None
        if p.name in names:
            raise _Fail("hardware", f"profile '{p.name}' is listed twice ({names[p.name]} and {raw_h})")
        names[p.name] = raw_h
    return resolved


def _relative(config: Path, spec: str) -> str:
    """Profile paths in a config are relative to the config file; names stay names."""
    if spec.endswith((".yaml", ".yml")) and not Path(spec).is_absolute():
        return str((config.parent / spec).resolve())
    return spec


def _relative_model(config: Path, spec: str) -> str:
    """A model file (``.onnx``/``.tflite``) in a config is relative to the config file."""
    from roofsweep.importers import is_model_file

    if is_model_file(spec) and not Path(spec).expanduser().is_absolute():
        return str((config.parent / spec).resolve())
    return spec

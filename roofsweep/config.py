"""Experiment configs for ``roofsweep run`` (torch-free).

```yaml
title: MobileNetV4 paper, Fig. 2          # shown in the report
preset: paper                             # cost-model preset: default | paper
settings: {dtype: int8}                   # optional cost-model overrides (as --set key=value)
models:                                   # names, or mappings with options
  - mnv4-conv-m
  - {model: mnv2, width: 1.5, top1: 76.8} # top1 overrides the zoo's published figure
  - {model: mnv1, width: 0.5, resolution: 160, label: mnv1-0.5x@160}
ridge_points: [0, 5, 50, 500]             # list, or "0:500:101", or "1:500:50:log"
hardware: none                            # none | all | a profile name or path | [names or paths]
per_layer_points: [5, 500]                # ridge points of the per-layer figures and tables
output: roofsweep-reports/paper-fig2      # report folder (relative to the working directory)
```
Every problem is reported as ``FILE: FIELD: reason``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from roofsweep.errors import ConfigError, RoofsweepError, did_you_mean
from roofsweep.zoo.registry import ModelRef, resolve

MAX_CONFIG_BYTES = 1 << 20
TOP_KEYS = ("title", "preset", "settings", "models", "ridge_points", "hardware", "per_layer_points", "output")
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


def _err(path: Path, fieldname: str, reason: str) -> ConfigError:
    return ConfigError(f"{path}: {fieldname}: {reason}")


MAX_CONFIG_NODES = 100_000  # YAML nodes, counting each alias expansion again (alias bombs)


def _check_nodes(path: Path, root: yaml.Node) -> None:
    """Refuse alias bombs and duplicate keys before any Python objects are built."""
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_CONFIG_NODES:
            raise _err(path, "file", f"more than {MAX_CONFIG_NODES:,} YAML nodes (counting alias expansions); refused")
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    line = key.start_mark.line + 1
                    if key.value in seen:
                        raise ConfigError(f"{path}: line {line}: duplicate key '{key.value}' "
                                          f"(first at line {seen[key.value]})")
                    seen[key.value] = line
                stack += [key, value]


def _read_config(path: Path) -> Any:
    try:
        st = path.stat()
        if path.is_dir():
            raise ConfigError(f"{path}: file: is a folder, not a config file")
        if not path.is_file():  # a FIFO or device would block or never end
            raise ConfigError(f"{path}: file: is not a regular file")
        if st.st_size > MAX_CONFIG_BYTES:
            raise _err(path, "file", f"{st.st_size} bytes is too large for a config (max {MAX_CONFIG_BYTES})")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file: not found") from None
    except OSError as e:
        raise ConfigError(f"{path}: file: cannot be read ({e.strerror or e})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise _err(path, "file", f"too large for a config (max {MAX_CONFIG_BYTES} bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: file: not UTF-8 text (bad byte at offset {e.start})") from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise _err(path, "file", "is empty; expected a mapping of settings (models, hardware, ...)")
        _check_nodes(path, root)
        return loader.construct_document(root)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "yaml"
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}: {where}: YAML syntax error: {problem}") from None
    except (TypeError, ValueError, RecursionError) as e:  # e.g. unhashable keys
        raise ConfigError(f"{path}: yaml: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    finally:
        loader.dispose()


def _kind(v: Any) -> str:
    names = {list: "a list", dict: "a mapping", str: "a string", int: "a number", float: "a number",
             bool: "a boolean", type(None): "nothing"}
    return names.get(type(v), type(v).__name__)


def load_experiment(path: str | Path) -> Experiment:
    path = Path(path)
    data = _read_config(path)
    if not isinstance(data, dict):
        raise _err(path, "file", f"expected a mapping of settings, got {_kind(data)}")
    for key in data:
        if key not in TOP_KEYS:
            raise _err(path, str(key), did_you_mean(str(key), TOP_KEYS, "field").replace("unknown field", "unknown field"))

    preset = data.get("preset", "default")
    if preset not in ("default", "paper"):
        raise _err(path, "preset", f"must be default or paper, got {_short(preset)}")
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise _err(path, "settings", "must be a mapping of cost-model settings")
    try:  # validate the overrides now, so the error names the config file
        from roofsweep.analysis import cost_model_from

        cost_model_from(preset, {str(k): v for k, v in settings.items()})
    except RoofsweepError as e:
        raise _err(path, "settings", str(e)) from None

    raw_models = data.get("models")
    if not isinstance(raw_models, list) or not raw_models:
        raise _err(path, "models", "must be a non-empty list of model names or mappings")
    refs: list[ModelRef] = []
    accuracy: dict[str, float] = {}
    for i, item in enumerate(raw_models):
        where = f"models[{i}]"
        if isinstance(item, str):
            item = {"model": item}
        if not isinstance(item, dict) or "model" not in item:
            raise _err(path, where, "must be a model name or a mapping with a 'model' key")
        for key in item:
            if key not in MODEL_KEYS:
                raise _err(path, f"{where}.{key}", did_you_mean(str(key), MODEL_KEYS, "field"))
        if not isinstance(item["model"], str):
            raise _err(path, f"{where}.model", f"must be a model name, got {_kind(item['model'])}")
        width = _num(path, f"{where}.width", item.get("width"))
        resolution = _int(path, f"{where}.resolution", item.get("resolution"))
        batch = _int(path, f"{where}.batch", item.get("batch"))
        try:
            ref = resolve(_relative_model(path, item["model"]), width, resolution, 1 if batch is None else batch)
        except RoofsweepError as e:
            raise _err(path, where, str(e)) from None
        if item.get("label") is not None:
            from dataclasses import replace

            if not isinstance(item["label"], str) or not item["label"].strip():
                raise _err(path, f"{where}.label", f"must be a non-empty string, got {_kind(item['label'])}")
            ref = replace(ref, label=item["label"])
        if item.get("top1") is not None:
            top1 = _num(path, f"{where}.top1", item["top1"])
            if not 0 < top1 <= 100:
                raise _err(path, f"{where}.top1", f"must be a percentage in (0, 100], got {top1}")
            accuracy[ref.label] = top1
        if any(r.label == ref.label for r in refs):
            raise _err(path, where, f"model {ref.label} is listed twice (give one a 'label')")
        refs.append(ref)

    rps = data.get("ridge_points", [0, 5, 50, 500])
    try:
        from roofsweep.engine.sweep import ridge_point_grid

        ridge_point_grid(rps)
    except RoofsweepError as e:
        raise _err(path, "ridge_points", str(e)) from None

    hw = data.get("hardware", "none")
    if isinstance(hw, str) and hw not in ("none", "all"):
        hw = [hw]  # one profile name or path
    if hw in (None, "none", []):
        hardware: list[str] | None = []
    elif hw == "all":
        hardware = None
    elif isinstance(hw, list) and all(isinstance(h, str) for h in hw):
        hardware = [_relative(path, h) for h in hw]
        try:
            from roofsweep.hardware import get_profile

            names: dict[str, str] = {}
            for raw_h, h in zip(hw, hardware):
                p = get_profile(h)
                if p.name in names:
                    raise ConfigError(f"profile '{p.name}' is listed twice ({names[p.name]} and {raw_h})")
                names[p.name] = raw_h
        except RoofsweepError as e:
            raise _err(path, "hardware", str(e)) from None
    else:
        raise _err(path, "hardware", "must be 'all', 'none' or a list of profile names/paths")

    plp = data.get("per_layer_points", [5, 500])
    if not isinstance(plp, list) or not plp:
        raise _err(path, "per_layer_points", "must be a non-empty list of ridge points")
    points = tuple(_num(path, "per_layer_points", p) for p in plp)
    if any(p < 0 for p in points):
        raise _err(path, "per_layer_points", "ridge points must be >= 0")

    out = data.get("output")
    if out is not None and not isinstance(out, str):
        raise _err(path, "output", "must be a folder path")
    title = data.get("title") or path.stem
    if not isinstance(title, (str, int, float)) or isinstance(title, bool):
        raise _err(path, "title", f"must be text, got {_kind(title)}")
    return Experiment(
        name=path.stem,
        title=str(title),
        preset=preset,
        overrides={str(k): v for k, v in settings.items()},
        models=refs,
        ridge_points=rps,
        hardware=hardware,
        per_layer_points=points,
        accuracy=accuracy,
        out=Path(out) if out else None,
    )


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


def _num(path: Path, fieldname: str, v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _err(path, fieldname, f"must be a finite number, got {_short(v)}")
    try:
        x = float(v)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        raise _err(path, fieldname, f"must be a finite number, got {_short(v)}")
    return x


def _int(path: Path, fieldname: str, v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise _err(path, fieldname, f"must be an integer, got {_short(v)}")
    return v


def _short(v: Any) -> str:
    """A value for a one-line message: its repr, or its kind when that would be long."""
    if isinstance(v, (int, float, str)) and not isinstance(v, bool):
        text = repr(v) if not isinstance(v, int) or v.bit_length() < 200 else "a huge integer"
        return text if len(text) <= 60 else _kind(v)
    return repr(v) if isinstance(v, bool) or v is None else _kind(v)

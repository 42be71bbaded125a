"""Models from outside the zoo: ``torchvision:NAME``, ``timm:NAME``, ``package.module:callable``.

A callable spec may also name a file: ``path/to/models.py:make_model``. Every failure is a
one-line ``ModelBuildError`` (or ``UnknownModelError`` for a bad torchvision / timm name listing
the closest names).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from roofsweep.errors import ModelBuildError, UnknownModelError

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

# Kept alive for the life of the process: dropping a torch.library.Library deregisters its ops.
_TORCHVISION_OP_STUBS = None


def ensure_torchvision_importable() -> ModuleType:
    """``import torchvision``, working around a torchvision wheel built for another torch.

    When torchvision's compiled extension does not match the installed torch, its C++ ops are
    never registered and ``import torchvision`` fails in ``torchvision/_meta_registrations.py``
    with ``RuntimeError: operator torchvision::nms does not exist`` - it registers fake (meta)
    kernels for ``nms`` / ``qnms`` at import time. The model builders are pure Python and never
    call the compiled ops, so only in that case we define the two op *schemas* (no kernels) and
    import again. Anything else (torchvision missing, other errors) propagates unchanged.
    """
    global _TORCHVISION_OP_STUBS
    try:
        import torchvision

        return torchvision
    except RuntimeError as e:
        if "torchvision::nms does not exist" not in str(e):
            raise
    # The failed import left partially initialised torchvision modules behind.
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]
    import torch

    if _TORCHVISION_OP_STUBS is None:
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        # Detection networks traced on real CPU tensors call nms: a reference kernel in torch.
        lib.impl("nms", _nms_reference, "CPU")
        _TORCHVISION_OP_STUBS = lib
    import torchvision
    import torchvision.ops.boxes

    torchvision.ops.boxes._assert_has_ops = lambda: None  # nms has the kernel above
    return torchvision


def _nms_reference(dets, scores, iou_threshold: float):
    """Greedy non-maximum suppression: keep the best box, drop those overlapping it more than
    ``iou_threshold``, repeat; the kept indices in decreasing score order (torchvision's nms)."""
    import torch

    order = torch.argsort(scores, descending=True)
    boxes = dets[order]
    area = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    lt = torch.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = torch.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=2)
    iou = inter / (area[:, None] + area[None, :] - inter)
    overlaps = iou > iou_threshold
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for i in range(len(order)):
        if not suppressed[i]:
            keep.append(i)
            suppressed |= overlaps[i]
    return order[torch.tensor(keep, dtype=torch.long)]


def _one_line(e: BaseException) -> str:
    """``Type: first line of the message`` - errors from user code may span lines."""
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__


def _close(name: str, choices: list[str], what: str) -> str:
    close = difflib.get_close_matches(name, choices, n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {what} '{name}'{hint} ({len(choices)} available)"


def _import_package(package: str, spec: str) -> ModuleType:
    try:
        if package == "torchvision":
            return ensure_torchvision_importable()
        if package == "timm":
            # timm imports torchvision (transforms); make that import work first if installed.
            try:
                ensure_torchvision_importable()
            except ImportError:
                pass
        return importlib.import_module(package)
    except ImportError:
        raise ModelBuildError(
            f"{package} is not installed; pip install \"roofsweep[models]\" to use '{spec}'"
        ) from None
    except Exception as e:  # noqa: BLE001 - e.g. a torchvision wheel built for another torch
        raise ModelBuildError(
            f"importing {package} failed ({_one_line(e)}); check that it matches "
            f"the installed torch to use '{spec}'"
        ) from e


def _checked(model: object, spec: str) -> nn.Module:
    from torch import nn

    if not isinstance(model, nn.Module):
        raise ModelBuildError(
            f"'{spec}' returned {type(model).__name__}, not a torch.nn.Module"
        )
    return model.eval()


def _no_weights(builder) -> dict:
    """``weights=None`` and, where the builder takes them, ``weights_backbone=None`` (a
    segmentation or detection network would otherwise download its ImageNet backbone) and
    ``pretrained``-style switches off: nothing is ever downloaded."""
    params = inspect.signature(builder).parameters
    off = {"weights": None}
    for name in ("weights_backbone", "pretrained", "pretrained_backbone"):
        if name in params:
            off[name] = None if name.startswith("weights") else False
    return off


def build_torchvision(name: str) -> nn.Module:
    spec = f"torchvision:{name}"
    tv = _import_package("torchvision", spec)
    names = tv.models.list_models()
    if name not in names:
        raise UnknownModelError(_close(name, names, "torchvision model"))
    try:
        model = tv.models.get_model(name, **_no_weights(tv.models.get_model_builder(name)))
    except Exception as e:  # noqa: BLE001 - any constructor failure is a build error
        raise ModelBuildError(f"building '{spec}' failed: {_one_line(e)}") from e
    return _checked(model, spec)


def build_timm(name: str) -> nn.Module:
    spec = f"timm:{name}"
    timm = _import_package("timm", spec)
    if not timm.is_model(name):
        raise UnknownModelError(_close(name, timm.list_models(), "timm model"))
    try:
        model = timm.create_model(name, pretrained=False)
    except Exception as e:  # noqa: BLE001
        raise ModelBuildError(f"building '{spec}' failed: {_one_line(e)}") from e
    return _checked(model, spec)


def _load_module(target: str, spec: str) -> ModuleType:
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target)
        if not path.is_file():
            raise ModelBuildError(f"'{spec}': no such file {target}")
        mod_name = f"_roofsweep_user_{path.stem}_{abs(hash(str(path.resolve())))}"
        file_spec = importlib.util.spec_from_file_location(mod_name, path)
        if file_spec is None or file_spec.loader is None:
            raise ModelBuildError(f"'{spec}': cannot import {target} as a Python module")
        module = importlib.util.module_from_spec(file_spec)
        try:
            file_spec.loader.exec_module(module)
        except (Exception, SystemExit) as e:  # noqa: BLE001 - user code may even call sys.exit()
            raise ModelBuildError(f"importing {target} failed: {_one_line(e)}") from e
        return module
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as e:
        raise ModelBuildError(f"cannot import module '{target}' for '{spec}': {_one_line(e)}") from None
    except (Exception, SystemExit) as e:  # noqa: BLE001 - user code may even call sys.exit()
        raise ModelBuildError(f"importing '{target}' failed: {_one_line(e)}") from e


def build_callable(spec: str) -> nn.Module:
    target, _, attr = spec.rpartition(":")
    if not target or not attr:
        raise ModelBuildError(
            f"cannot parse model spec '{spec}'; expected torchvision:NAME, timm:NAME or "
            "package.module:callable"
        )
    module = _load_module(target, spec)
    fn = getattr(module, attr, None)
    if fn is None:
        raise ModelBuildError(f"'{target}' has no attribute '{attr}' (from '{spec}')")
    if not callable(fn):
        raise ModelBuildError(f"'{spec}' is not callable ({type(fn).__name__})")
    try:
        model = fn()
    except (Exception, SystemExit) as e:  # noqa: BLE001 - user code may even call sys.exit()
        raise ModelBuildError(f"calling '{spec}' failed: {_one_line(e)}") from e
    return _checked(model, spec)


def build_external(spec: str) -> nn.Module:
    """Build the model an external spec names (see the module docstring)."""
    source, _, name = spec.partition(":")
    if source == "torchvision":
        return build_torchvision(name)
    if source == "timm":
        return build_timm(name)
    return build_callable(spec)


# ------------------------------------------------------------------------ native input size
DEFAULT_SIZE = 224
VIDEO_FRAMES = 16  # torchvision's video classifiers are trained on 16-frame clips


@dataclass(frozen=True)
class NativeInput:
    """The batch-1 input shapes a network was trained at, and where that figure comes from."""

    shapes: tuple[tuple[int, ...], ...]
    source: str


def native_input_cached(spec: str) -> NativeInput:
    """``native_input`` remembered on disk beside the trace cache (keyed by the package versions
    and model switches, like a trace), so a warm run of an external model imports no torch."""
    source = spec.partition(":")[0]
    if source not in ("timm", "torchvision"):
        return native_input(spec)
    from roofsweep.trace.cache import cache_dir, environment_key  # torch-free helpers

    folder = cache_dir()
    path = folder / NATIVE_MEMO if folder is not None else None
    key = f"{spec}|{environment_key()}"
    memo = _read_memo(path)
    hit = _memo_entry(memo.get(key))
    if hit is not None:
        return hit
    found = native_input(spec)
    memo[key] = {"shapes": [list(s) for s in found.shapes], "source": found.source}
    _write_memo(path, memo)
    return found


NATIVE_MEMO = "native-inputs.json"


def _read_memo(path: Path | None) -> dict:
    import json

    if path is None or not path.is_file():
        return {}
    try:
        memo = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _memo_entry(entry) -> NativeInput | None:
    """A remembered native input, or None for anything of the wrong shape."""
    if not isinstance(entry, dict) or not isinstance(entry.get("source"), str):
        return None
    shapes = entry.get("shapes")
    if not isinstance(shapes, list) or not shapes or not all(
        isinstance(s, list) and s and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in s)
        for s in shapes
    ):
        return None
    return NativeInput(tuple(tuple(s) for s in shapes), entry["source"])


def _write_memo(path: Path | None, memo: dict) -> None:
    import json
    import os
    import tempfile

    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(memo, f)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a read-only cache folder only costs speed


def native_input(spec: str) -> NativeInput:
    """What a ``torchvision:`` / ``timm:`` network was trained at (no weights downloaded).

    timm: the model's ``pretrained_cfg["input_size"]``. torchvision: its default weights'
    documented preprocessing (``crop_size`` of a classifier, ``resize_size`` of a segmenter, the
    clip of a video classifier; an optical-flow network takes two images). Otherwise 224 px.
    """
    source, _, name = spec.partition(":")
    if source == "timm":
        return _timm_native(name, spec)
    if source == "torchvision":
        return _torchvision_native(name, spec)
    return NativeInput(((1, 3, DEFAULT_SIZE, DEFAULT_SIZE),), "default")


def _timm_native(name: str, spec: str) -> NativeInput:
    timm = _import_package("timm", spec)
    if not timm.is_model(name):
        raise UnknownModelError(_close(name, timm.list_models(), "timm model"))
    cfg = timm.get_pretrained_cfg(name)
    size = tuple(getattr(cfg, "input_size", None) or ()) if cfg is not None else ()
    if len(size) != 3 or not all(isinstance(d, int) and d > 0 for d in size):
        return NativeInput(((1, 3, DEFAULT_SIZE, DEFAULT_SIZE),), "default")
    return NativeInput(((1, *size),), "timm pretrained_cfg input_size")


def _torchvision_native(name: str, spec: str) -> NativeInput:
    tv = _import_package("torchvision", spec)
    names = tv.models.list_models()
    if name not in names:
        raise UnknownModelError(_close(name, names, "torchvision model"))
    try:
        weights = tv.models.get_model_weights(name).DEFAULT
    except Exception:  # noqa: BLE001 - a model without a weights enum
        return NativeInput(((1, 3, DEFAULT_SIZE, DEFAULT_SIZE),), "default")
    preset = weights.transforms
    kind = getattr(getattr(preset, "func", preset), "__name__", "")
    shapes_of = _PRESET_SHAPES.get(kind)
    if shapes_of is None:  # detection presets resize inside the model: any size works
        return NativeInput(((1, 3, DEFAULT_SIZE, DEFAULT_SIZE),), "default")
    kw = getattr(preset, "keywords", {}) or {}
    return NativeInput(shapes_of(kw, weights.meta), f"torchvision {type(weights).__name__}.DEFAULT transforms")


def _video(kw: dict, meta: dict) -> tuple[tuple[int, ...], ...]:
    h, w = _pair(kw.get("crop_size"))
    return ((1, 3, max(VIDEO_FRAMES, int(meta.get("min_temporal_size", 0))), h, w),)


def _crop(kw: dict, meta: dict) -> tuple[tuple[int, ...], ...]:
    return ((1, 3, *_pair(kw.get("crop_size"))),)


def _resize(kw: dict, meta: dict) -> tuple[tuple[int, ...], ...]:
    return ((1, 3, *_pair(kw.get("resize_size"))),)


def _two_images(kw: dict, meta: dict) -> tuple[tuple[int, ...], ...]:
    image = (1, 3, DEFAULT_SIZE, DEFAULT_SIZE)
    return (image, image)  # optical flow: the flow between two frames


# torchvision's preprocessing preset of a weights enum -> the input shapes it produces.
_PRESET_SHAPES = {
    "ImageClassification": _crop,
    "SemanticSegmentation": _resize,
    "VideoClassification": _video,
    "OpticalFlow": _two_images,
}


def _pair(size) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return int(size[0]), int(size[1])
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return int(size[0]), int(size[0])
    return DEFAULT_SIZE, DEFAULT_SIZE

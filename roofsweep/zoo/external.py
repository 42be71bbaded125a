"""Models from outside the zoo: ``torchvision:NAME``, ``timm:NAME``, ``package.module:callable``.

A callable spec may also name a file: ``path/to/models.py:make_model``. Every failure is a
one-line ``ModelBuildError`` (or ``UnknownModelError`` for a bad torchvision / timm name listing
the closest names).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
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
        _TORCHVISION_OP_STUBS = lib
    import torchvision

    return torchvision


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
            f"{package} is not installed; pip install {package} to use '{spec}'"
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


def build_torchvision(name: str) -> nn.Module:
    spec = f"torchvision:{name}"
    tv = _import_package("torchvision", spec)
    names = tv.models.list_models()
    if name not in names:
        raise UnknownModelError(_close(name, names, "torchvision model"))
    try:
        model = tv.models.get_model(name, weights=None)
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
        except Exception as e:  # noqa: BLE001
            raise ModelBuildError(f"importing {target} failed: {_one_line(e)}") from e
        return module
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as e:
        raise ModelBuildError(f"cannot import module '{target}' for '{spec}': {_one_line(e)}") from None
    except Exception as e:  # noqa: BLE001
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

"""The model zoo: list, resolve and build models by name.

``list_models`` and ``resolve`` are torch-free (see ``registry``); ``build`` imports torch and the
builder module lazily, so ``import roofsweep.zoo`` never imports torch.
"""

from __future__ import annotations

import importlib
import math
from typing import TYPE_CHECKING

from roofsweep.errors import ModelBuildError
from roofsweep.zoo.registry import ZOO, ModelRef, ZooEntry, list_models, lookup, resolve

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

__all__ = ["ZOO", "ModelRef", "ZooEntry", "build", "list_models", "lookup", "resolve"]


def load_builder(entry: ZooEntry):
    """Import the ``"module:function"`` builder named by a registry entry."""
    module_name, _, fn_name = entry.builder.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, fn_name)


def build(ref: ModelRef | str, num_classes: int = 1000) -> nn.Module:
    """Build the ``nn.Module`` a ``ModelRef`` (or a spec string) names, in eval mode.

    Zoo models are built at ``ref.width``; external specs (``torchvision:NAME``, ``timm:NAME``,
    ``package.module:callable``) go to ``roofsweep.zoo.external``. Building under
    ``with torch.device("meta"):`` allocates no memory. The example input is ``ref.input_shape``.
    """
    if isinstance(ref, str):
        ref = resolve(ref)
    if ref.is_file:
        raise ModelBuildError(f"{ref.spec}: a model file is read and costed, not built or run; "
                              "measuring latency needs a zoo or torch model")
    if ref.spec.startswith("space:"):  # a search-space candidate
        from roofsweep.search.blocks import build_candidate_spec

        return build_candidate_spec(ref.spec, ref.batch)
    if not ref.is_zoo:
        from roofsweep.zoo.external import build_external

        return build_external(ref.spec)
    if not (math.isfinite(ref.width) and ref.width > 0):
        raise ModelBuildError(f"width multiplier must be a positive number, got {ref.width} for {ref.spec}")
    entry = ZOO[ref.spec]
    try:
        model = load_builder(entry)(width_multiplier=ref.width, num_classes=num_classes)
    except (RuntimeError, ValueError, OverflowError, MemoryError) as e:  # e.g. an absurd width
        lines = str(e).strip().splitlines()
        why = lines[0] if lines else type(e).__name__
        raise ModelBuildError(f"building {ref.spec} at width {ref.width:g} failed: {why}") from e
    return model.eval()

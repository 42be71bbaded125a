"""The model registry: names, aliases, defaults and published accuracy (torch-free).

Each entry names its builder as ``"module:function"`` and the builder module is imported only
when a model is built, so listing models, resolving names and reading a cached trace never import
torch. A builder is ``fn(width_multiplier: float = 1.0, num_classes: int = 1000) -> nn.Module``.

Published ImageNet-1k top-1 figures come from ``shared/reference/published_models.json``; each is
stored with its source. Where the MobileNetV4 paper retrained a baseline (its Table 6) that figure
is used, so all families share one training recipe; otherwise the original authors' release.
Three widths the paper plots without printing a value (MobileNetV1 0.5x / 1.5x, MobileNetV3-Large
1.5x) carry the value read from its Fig. 2, and their source says so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from roofsweep.errors import ModelBuildError, UnknownModelError, did_you_mean
from roofsweep.schema import check_model_size

MNV4_PAPER = "MobileNetV4 paper (Qin et al., arXiv:2404.10518, ECCV 2024), Table 6"
MNV4_PAPER_V3 = "MobileNetV4 paper (Qin et al., arXiv:2404.10518), section 7.1 (retrained MobileNetV3-Large)"
# Read off the plotted points of the paper's Fig. 2 (no printed value), about +-0.3 % top-1.
MNV4_PAPER_FIG2 = ("MobileNetV4 paper (Qin et al., arXiv:2404.10518), Fig. 2: read from the plotted points "
                   "(the paper prints no table value); reading error about +-0.3 % top-1")
TF_SLIM_V3 = "tensorflow/models research/slim/nets/mobilenet/README.md (MobileNetV3-Small 1.0 float)"


@dataclass(frozen=True)
class Top1:
    top1: float
    source: str


@dataclass(frozen=True)
class ZooEntry:
    name: str
    family: str
    display_name: str
    default_resolution: int
    builder: str
    # The network's total stride: the input must be at least this many pixels on a side.
    min_resolution: int = 32
    top1: dict[float, Top1] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    def top1_at(self, width: float) -> Top1 | None:
        for w, t in self.top1.items():
            if math.isclose(w, width, rel_tol=0, abs_tol=1e-9):
                return t
        return None


_V4 = "roofsweep.zoo.mobilenet_v4"

ZOO: dict[str, ZooEntry] = {
    e.name: e
    for e in [
        ZooEntry(
            "mnv1", "MobileNetV1", "MobileNetV1", 224, "roofsweep.zoo.mobilenet_v1:mnv1",
            top1={0.5: Top1(65.7, MNV4_PAPER_FIG2), 1.0: Top1(74.0, MNV4_PAPER),
                  1.5: Top1(76.8, MNV4_PAPER_FIG2)},
        ),
        ZooEntry(
            "mnv2", "MobileNetV2", "MobileNetV2", 224, "roofsweep.zoo.mobilenet_v2:mnv2",
            top1={
                0.5: Top1(66.0, MNV4_PAPER),
                1.0: Top1(73.4, MNV4_PAPER),
                1.5: Top1(76.8, MNV4_PAPER),
                2.0: Top1(78.4, MNV4_PAPER),
            },
        ),
        ZooEntry(
            "mnv3-large", "MobileNetV3", "MobileNetV3-Large", 224,
            "roofsweep.zoo.mobilenet_v3:mnv3_large",
            top1={0.5: Top1(69.2, MNV4_PAPER), 1.0: Top1(75.5, MNV4_PAPER_V3),
                  1.5: Top1(77.5, MNV4_PAPER_FIG2)},
            aliases=("mnv3l", "mnv3",),
        ),
        ZooEntry(
            "mnv3-small", "MobileNetV3", "MobileNetV3-Small", 224,
            "roofsweep.zoo.mobilenet_v3:mnv3_small",
            top1={1.0: Top1(67.5, TF_SLIM_V3)},
            aliases=("mnv3s",),
        ),
        ZooEntry(
            "mnv4-conv-s", "MobileNetV4", "MNv4-Conv-S", 224, f"{_V4}:mnv4_conv_s",
            top1={1.0: Top1(73.8, MNV4_PAPER)}, aliases=("mnv4-conv-small",),
        ),
        ZooEntry(
            "mnv4-conv-m", "MobileNetV4", "MNv4-Conv-M", 256, f"{_V4}:mnv4_conv_m",
            top1={1.0: Top1(79.9, MNV4_PAPER)}, aliases=("mnv4-conv-medium",),
        ),
        ZooEntry(
            "mnv4-conv-l", "MobileNetV4", "MNv4-Conv-L", 384, f"{_V4}:mnv4_conv_l",
            top1={1.0: Top1(82.9, MNV4_PAPER)}, aliases=("mnv4-conv-large",),
        ),
        ZooEntry(
            "mnv4-hybrid-m", "MobileNetV4", "MNv4-Hybrid-M", 256, f"{_V4}:mnv4_hybrid_m",
            top1={1.0: Top1(80.7, MNV4_PAPER)}, aliases=("mnv4-hybrid-medium",),
        ),
        ZooEntry(
            "mnv4-hybrid-l", "MobileNetV4", "MNv4-Hybrid-L", 384, f"{_V4}:mnv4_hybrid_l",
            top1={1.0: Top1(83.4, MNV4_PAPER)}, aliases=("mnv4-hybrid-large",),
        ),
    ]
}


def list_models() -> list[str]:
    return list(ZOO)


def _norm(s: str) -> str:
    """Fold the spellings people use: ``MobileNet-V2`` / ``mobilenet_v2`` / ``MNv2`` -> ``mnv2``."""
    s = s.lower().replace("mobilenet", "mn")
    return re.sub(r"[^a-z0-9]", "", s)


_LOOKUP: dict[str, str] = {}
for _e in ZOO.values():
    for _n in (_e.name, _e.display_name, *_e.aliases):
        _LOOKUP[_norm(_n)] = _e.name

_WIDTH_SUFFIX = re.compile(r"^(.*?)[\s_\-@(]*(\d+(?:\.\d+)?)x\)?\s*$", re.IGNORECASE)


def split_width(spec: str) -> tuple[str, float | None]:
    """``'mnv2-1.5x' -> ('mnv2', 1.5)``; ``'MobileNet-V2 (1.0x)' -> ('MobileNet-V2', 1.0)``."""
    m = _WIDTH_SUFFIX.match(spec)
    if m and m.group(1):
        return m.group(1), float(m.group(2))
    return spec, None


def lookup(spec: str) -> tuple[ZooEntry, float | None]:
    """Resolve a zoo name (or paper-style name with a width suffix) to its entry and width."""
    base, width = split_width(spec.strip())
    key = _LOOKUP.get(_norm(base))
    if key is None:
        key = _LOOKUP.get(_norm(spec))
        width = None if key else width
    if key is None:
        raise UnknownModelError(did_you_mean(spec, list_models(), "model"))
    return ZOO[key], width


@dataclass(frozen=True)
class ModelRef:
    """A fully resolved model request: what to build and at which size (torch-free).

    ``spec`` is a zoo name or an external spec (``torchvision:NAME``, ``timm:NAME``,
    ``package.module:callable``). ``input_shape`` is NCHW for the zoo.
    """

    spec: str
    width: float
    resolution: int
    batch: int
    input_shape: tuple[int, ...]
    label: str
    family: str
    display_name: str
    top1: float | None = None
    top1_source: str | None = None
    # Inputs after the first, for a forward() taking several tensors (an optical-flow network).
    more_inputs: tuple[tuple[int, ...], ...] = ()
    # Where the input size comes from when none was given ("timm pretrained_cfg input_size"...).
    input_source: str = ""
    # An nn.Module handed over directly (``analyze([("my-net", net)])``): traced as it is given,
    # through a meta-device copy, never cached.
    module: Any = field(default=None, compare=False, repr=False)

    @property
    def is_zoo(self) -> bool:
        return self.spec in ZOO

    @property
    def is_file(self) -> bool:
        """A model file (``.onnx``, ``.tflite``) read by ``roofsweep.importers``, not built."""
        return self.family == "file"

    @property
    def input_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Every positional input's shape, the first being ``input_shape``."""
        return (self.input_shape, *self.more_inputs)

    def cache_key(self) -> str:
        shapes = ",".join("x".join(map(str, s)) for s in self.input_shapes)
        return f"{self.spec}|w={self.width:g}|in={shapes}"


def _fmt_width(width: float) -> str:
    return f"{width:g}x"


def resolve(
    spec: str,
    width: float | None = None,
    resolution: int | None = None,
    batch: int = 1,
    input_shape: tuple[int, ...] | None = None,
) -> ModelRef:
    """Turn a user's model spec and options into a ``ModelRef``; validate the numbers.

    ``spec`` is a zoo name, an external spec string, an ``nn.Module`` or a ``(label, nn.Module)``
    pair. ``input_shape`` is one shape, or a tuple of shapes for a model whose ``forward`` takes
    several inputs; without one an external model gets its native size (``external.native_input``).
    A width given in the name (``mnv2-1.5x``) and by option must agree.
    """
    if batch is None or batch < 1:
        raise ModelBuildError(f"batch must be a positive integer, got {batch}")
    from roofsweep.importers import is_model_file

    if isinstance(spec, str) and is_model_file(spec):
        return _resolve_file(str(spec), width, resolution, batch, input_shape)
    if not isinstance(spec, str):
        return _resolve_module(spec, resolution, batch, input_shape)
    if spec.startswith("space:"):  # one candidate of a search space: space:FILE#ID
        return _resolve_candidate(spec, width, resolution, batch, input_shape)
    if ":" in spec:  # external: torchvision:NAME, timm:NAME, package.module:callable
        if width is not None and width != 1.0:
            raise ModelBuildError(f"--width applies to zoo models only, not '{spec}'")
        return _resolve_external(spec, resolution, batch, input_shape)
    if input_shape is not None and input_shape and not isinstance(input_shape[0], int):
        if len(input_shape) != 1:
            raise ModelBuildError(f"{spec} takes one input, not {len(input_shape)} input shapes")
        input_shape = tuple(input_shape[0])

    entry, name_width = lookup(spec)
    if name_width is not None and width is not None and not math.isclose(name_width, width):
        raise ModelBuildError(f"'{spec}' names width {name_width:g} but --width is {width:g}")
    w = width if width is not None else (name_width if name_width is not None else 1.0)
    if not (isinstance(w, (int, float)) and math.isfinite(w) and w > 0):
        raise ModelBuildError(f"width multiplier must be a positive number, got {w} for {entry.name}")
    if input_shape is not None:  # only a batch of square RGB images fits a zoo model
        batch, input_shape = _shape_and_batch(entry.name, input_shape, batch, resolution)
        if len(input_shape) != 4 or input_shape[1] != 3 or input_shape[2] != input_shape[3]:
            raise ModelBuildError(
                f"input shape {'x'.join(map(str, input_shape))} does not fit {entry.name}: it takes "
                "Nx3xRxR images (or give resolution and batch)"
            )
        resolution = input_shape[2]
    r = resolution if resolution is not None else entry.default_resolution
    _check_resolution(entry.name, r, entry.min_resolution)
    label = entry.name
    if not math.isclose(w, 1.0):
        label += f"-{_fmt_width(w)}"
    if r != entry.default_resolution:
        label += f"@{r}"
    check_model_size(entry.name, label, w, (batch, 3, r, r))
    top = entry.top1_at(w) if r == entry.default_resolution else None
    display = entry.display_name + ("" if math.isclose(w, 1.0) else f"-{_fmt_width(w)}")
    return ModelRef(
        spec=entry.name,
        width=float(w),
        resolution=r,
        batch=batch,
        input_shape=(batch, 3, r, r),
        label=label,
        family=entry.family,
        display_name=display,
        top1=top.top1 if top else None,
        top1_source=top.source if top else None,
    )


def _resolve_module(obj, resolution: int | None, batch: int, input_shape) -> ModelRef:
    """A model given as an ``nn.Module`` or a ``(label, nn.Module)`` pair (torch-free check)."""
    label, module = obj if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], str) \
        else (type(obj).__name__, obj)
    if not (callable(getattr(module, "forward", None)) and callable(getattr(module, "parameters", None))):
        raise ModelBuildError(
            f"a model must be a name, a spec string, an nn.Module or a (label, nn.Module) pair, "
            f"not {type(module).__name__}"
        )
    if not label.strip() or ":" in label:
        raise ModelBuildError(f"model label {label!r} must be non-empty and hold no ':'")
    ref = _resolve_external(f"module:{label}", resolution, batch, input_shape)
    return ModelRef(ref.spec, 1.0, ref.resolution, ref.batch, ref.input_shape, label, "external",
                    label, more_inputs=ref.more_inputs, input_source=ref.input_source, module=module)


def _is_shape_list(shape) -> bool:
    return bool(shape) and isinstance(shape, (tuple, list)) and isinstance(shape[0], (tuple, list))


def _resolve_external(spec: str, resolution: int | None, batch: int, input_shape) -> ModelRef:
    """An external model's inputs: the given shapes, else its native size (torchvision's and
    timm's documented input size, 224 px otherwise) at the batch and resolution asked for."""
    if input_shape is None:
        from roofsweep.zoo.external import native_input_cached

        native = native_input_cached(spec)
        shapes = native.shapes
        if resolution is not None:
            _check_resolution(spec, resolution, 1)
            shapes = tuple((*s[:-2], resolution, resolution) for s in shapes)
        shapes = tuple((batch, *s[1:]) for s in shapes)
        source = native.source if resolution is None else "--resolution"
        label = spec if shapes == tuple((batch, *s[1:]) for s in native.shapes) else f"{spec}@{resolution}"
    else:
        given = tuple(tuple(s) for s in input_shape) if _is_shape_list(input_shape) else (tuple(input_shape),)
        if not given:
            raise ModelBuildError(f"no input shape given for '{spec}'")
        checked = [_shape_and_batch(spec, s, batch, resolution) for s in given]
        batch = max(b for b, _ in checked)
        shapes = tuple((batch, *s[1:]) for _, s in checked)
        source = "--input-shape"
        first = shapes[0]
        label = spec if first[-1] == 224 or len(first) != 4 else f"{spec}@{first[-1]}"
    first = shapes[0]
    for s in shapes:
        check_model_size(spec, label, 1.0, s)
    return ModelRef(spec, 1.0, first[-1], batch, first, label, "external", spec,
                    more_inputs=shapes[1:], input_source=source)


def _shape_and_batch(
    name: str, input_shape: tuple[int, ...], batch: int, resolution: int | None
) -> tuple[int, tuple[int, ...]]:
    """Check an explicit input shape against the batch and resolution options; the batch is the
    shape's first size, unless a batch option replaces a batch of 1."""
    shown = "x".join(map(str, input_shape))
    if len(input_shape) < 2:
        raise ModelBuildError(
            f"input shape {shown} for '{name}' needs the batch first, e.g. 1x3x224x224 or 1x{shown}"
        )
    if any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in input_shape):
        raise ModelBuildError(f"input shape {shown} for '{name}' needs positive whole sizes")
    if batch != 1 and input_shape[0] not in (1, batch):
        raise ModelBuildError(f"input shape {shown} for '{name}' has batch {input_shape[0]} but batch is {batch}")
    if resolution is not None and resolution != input_shape[-1]:
        raise ModelBuildError(f"resolution {resolution} disagrees with input shape {shown} for '{name}'; give one of them")
    batch = max(batch, input_shape[0])
    return batch, (batch, *input_shape[1:])


def _check_resolution(name: str, r: int, minimum: int) -> None:
    if not isinstance(r, int) or r < minimum:
        why = f" (the network downsamples by {minimum})" if minimum > 1 else ""
        raise ModelBuildError(f"resolution {r} is too small for {name}: it needs at least {minimum} px{why}")


def _resolve_file(path: str, width, resolution, batch: int, input_shape) -> ModelRef:
    """A ``.onnx`` / ``.tflite`` path: the file is read when traced (``roofsweep.importers``);
    ``input_shape`` (one shape, or one per input) binds its dynamic dimensions."""
    from pathlib import Path

    if not Path(path).expanduser().is_file():
        raise ModelBuildError(f"{path}: no such model file")
    if width is not None and width != 1.0:
        raise ModelBuildError(f"--width applies to zoo models only, not the model file {path}")
    if input_shape is None and (resolution is not None or batch != 1):
        raise ModelBuildError(f"{path}: give the input shape of a model file with --input-shape, not resolution/batch")
    stem = Path(path).name  # "net.onnx": never the same label as a zoo model
    if input_shape is not None and input_shape and isinstance(input_shape[0], (tuple, list)):
        shape: tuple = tuple(tuple(int(d) for d in s) for s in input_shape)
        label = f"{stem}@" + ",".join("x".join(map(str, s)) for s in shape)
        r = 0
    elif input_shape is not None:
        batch, shape = _shape_and_batch(path, tuple(input_shape), batch, resolution)
        label = f"{stem}@{'x'.join(map(str, shape))}"
        r = _spatial(shape)
    else:  # the shape the file declares names the resolution in reports; dynamic: none (0)
        from roofsweep.importers import static_input_shape

        shape, label = static_input_shape(path) or (), stem
        r = _spatial(shape)
    return ModelRef(str(Path(path).expanduser()), 1.0, r, batch, shape, label, "file", Path(path).name)


def _resolve_candidate(spec: str, width, resolution, batch: int, input_shape) -> ModelRef:
    """``space:FILE#ID``: candidate ID of the search space in FILE (roofsweep.search.space)."""
    from roofsweep.search.space import load_space, parse_candidate_spec

    path, cid = parse_candidate_spec(spec)
    space = load_space(path)
    digits = space.digits_of(cid)
    if getattr(space, "kind", "blocks") == "callable":
        return _resolve_callable_candidate(spec, space, cid, width, resolution, batch, input_shape)
    r = int(space.spec.resolutions[int(digits[0])])
    if width is not None and width != 1.0:
        raise ModelBuildError(f"--width does not apply to '{spec}': the candidate fixes its widths")
    if input_shape is not None:
        batch, input_shape = _shape_and_batch(spec, tuple(input_shape), batch, resolution)
        if tuple(input_shape[1:]) != (3, r, r):
            raise ModelBuildError(f"'{spec}' takes Nx3x{r}x{r} images, not {'x'.join(map(str, input_shape))}")
    elif resolution is not None and resolution != r:
        raise ModelBuildError(f"'{spec}' fixes its resolution at {r} px; --resolution {resolution} disagrees")
    label = f"{space.spec.name}#{cid}"
    return ModelRef(spec, 1.0, r, batch, (batch, 3, r, r), label, "search space", label)


def _resolve_callable_candidate(spec: str, space, cid: int, width, resolution, batch: int, input_shape) -> ModelRef:
    """A candidate of a callable space: its input is the space's ``input_shape`` (batch may grow)."""
    if width is not None and width != 1.0:
        raise ModelBuildError(f"--width does not apply to '{spec}': the candidate fixes its parameters")
    shape = tuple(space.input_shape)
    if input_shape is not None:
        batch, given = _shape_and_batch(spec, tuple(input_shape), batch, resolution)
        if tuple(given[1:]) != shape[1:]:
            raise ModelBuildError(f"'{spec}' takes inputs of shape Nx{'x'.join(map(str, shape[1:]))}, "
                                  f"not {'x'.join(map(str, given))}")
    r = _spatial(shape)
    if resolution is not None and resolution != r:
        raise ModelBuildError(f"'{spec}' fixes its input at {'x'.join(map(str, shape))}; --resolution {resolution} disagrees")
    batch = max(batch, shape[0])
    label = space.label_of(cid)
    return ModelRef(spec, 1.0, r, batch, (batch, *shape[1:]), label, "search space", label)


def _spatial(shape: tuple) -> int:
    """The image side of an NCHW or NHWC 4-D shape (channels: the small one of dim 1 / dim 3)."""
    if len(shape) != 4:
        return 0
    return int(shape[-1]) if shape[1] <= shape[-1] else int(shape[1])

"""Callable search spaces: candidates are ``build(**params)`` over the product of parameter lists.

A space YAML with a ``callable`` key (``package.module:build`` or ``path/to/file.py:build``),
``params`` (name -> list of values) and optionally ``input_shape`` (``1x3x224x224``) names one
network per point of the product. Axes are the parameters in the order the file gives them and
a candidate's ID is the mixed-radix number of its digits, the first parameter most significant,
exactly as for block spaces; ``space:FILE#ID`` names one candidate everywhere a model spec goes.

Each candidate is traced in full (``roofsweep.trace``; cached per candidate, keyed on the space
file, the callable's source file and the parameters) and costed by ``engine.sweep``. A build,
import or trace failure is a one-line ``ModelBuildError`` naming the candidate; the run stops
(no candidate is skipped silently). Torch is imported only to trace a candidate not in the cache.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, ValidationError, field_validator

from roofsweep.errors import ConfigError, ModelBuildError
from roofsweep.search.space import Axis, Space, _digit_groups, _first_error, _Strict

RESERVED = ("id", "spec", "macs", "params", "weight_bytes", "bytes", "frontier_points", "frontier_share")
CHUNK = 4  # candidates per Dask task: each is a full trace (a fraction of a second to seconds)


class CallableSpaceSpec(_Strict):
    name: str = "space"
    description: str = ""
    callable: str = Field(min_length=3)
    params: dict[str, list[Any]] = Field(min_length=1)
    input_shape: str = "1x3x224x224"

    @field_validator("params", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: (x if isinstance(x, list) else [x]) for k, x in v.items()}
        return v

    @field_validator("callable")
    @classmethod
    def _target(cls, v: str) -> str:
        target, _, attr = v.rpartition(":")
        if not target or not attr:
            raise ValueError(f"{v!r} must read package.module:callable or path/file.py:callable")
        return v


class CallableSpace(Space):
    """A loaded callable space: one axis per parameter; the digit machinery of ``Space``."""

    kind = "callable"

    def __init__(self, spec: CallableSpaceSpec, source: str = "<space>", digest: str = ""):  # noqa: D107
        self.spec = spec
        self.source = source
        self.digest = digest or hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]
        self.slots = []
        self.axes = [Axis(k, tuple(v)) for k, v in spec.params.items()]
        self.radices = np.array([a.radix for a in self.axes], dtype=np.int64)
        self.size = math.prod(int(r) for r in self.radices)
        self._groups = _digit_groups([int(r) for r in self.radices])
        self.input_shape = _shape(spec.input_shape, source)

    def params_of(self, cid: int) -> dict[str, Any]:
        """The keyword arguments of candidate ``cid`` (``ConfigError`` if out of range)."""
        return self.describe(self.digits_of(cid))

    def label_of(self, cid: int) -> str:
        return f"{self.spec.name}#{cid}"

    def candidate_name(self, cid: int) -> str:
        """``space:FILE#ID (depth=2, width=0.5)``: how errors name a candidate."""
        kw = ", ".join(f"{k}={v!r}" for k, v in self.params_of(cid).items())
        return f"space:{self.source}#{cid} ({kw})"


def _shape(text: str, source: str) -> tuple[int, ...]:
    parts = str(text).lower().replace(",", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"{source}: input_shape {text!r} must read like 1x3x224x224") from None
    if not shape or any(d < 1 for d in shape):
        raise ConfigError(f"{source}: input_shape {text!r} needs positive sizes")
    return shape


def parse_callable_space(data: dict, source: str) -> CallableSpace:
    params = data.get("params")
    if isinstance(params, dict):
        if not params:
            raise ConfigError(f"{source}: params is empty; give at least one parameter with a list of values")
        for k, v in params.items():
            if isinstance(v, list) and not v:
                raise ConfigError(f"{source}: params.{k} is an empty choice list; give at least one value")
            if str(k) in RESERVED or "[" in str(k):
                raise ConfigError(f"{source}: params.{k} clashes with a result column; rename the parameter")
    try:
        spec = CallableSpaceSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_first_error(e, source)) from None
    return CallableSpace(spec, source, hashlib.sha256(repr(data).encode()).hexdigest()[:16])


# --------------------------------------------------------------------------- building, tracing
def load_builder(space: CallableSpace):
    """The callable the space names (``ModelBuildError`` naming the space if it cannot be imported)."""
    from roofsweep.zoo.external import _load_module

    target, _, attr = space.spec.callable.rpartition(":")
    try:
        module = _load_module(target, space.spec.callable)
    except ModelBuildError as e:
        raise ModelBuildError(f"{space.source}: callable {space.spec.callable}: {e}") from None
    fn = getattr(module, attr, None)
    if fn is None or not callable(fn):
        what = "has no attribute" if fn is None else "is not callable:"
        raise ModelBuildError(f"{space.source}: callable {space.spec.callable}: '{target}' {what} '{attr}'")
    return fn


def build_callable_candidate(space: CallableSpace, cid: int):
    """``build(**params)`` of candidate ``cid``, in eval mode; one-line error naming it."""
    from roofsweep.zoo.external import _checked, _one_line

    fn = load_builder(space)
    name = space.candidate_name(cid)
    try:
        model = fn(**space.params_of(cid))
    except (Exception, SystemExit) as e:  # noqa: BLE001 - user code may even call sys.exit()
        raise ModelBuildError(f"building {name} failed: {_one_line(e)}") from e
    try:
        return _checked(model, name).eval()
    except ModelBuildError as e:
        raise ModelBuildError(f"{name}: {e}") from None


def _source_digest(space: CallableSpace) -> str:
    """Digest of the callable's source file (so an edit to it invalidates cached traces)."""
    import importlib.util

    target = space.spec.callable.rpartition(":")[0]
    try:
        path = Path(target) if target.endswith(".py") or "/" in target else \
            Path(importlib.util.find_spec(target).origin)  # type: ignore[union-attr, arg-type]
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except (ImportError, AttributeError, TypeError, ValueError, OSError):
        return "unknown"


def _cache_file(space: CallableSpace, cid: int, batch: int) -> Path | None:
    from roofsweep import __version__
    from roofsweep.trace.cache import TRACE_FORMAT, cache_dir, code_fingerprint, environment_key

    d = cache_dir()
    if d is None:
        return None
    key = (f"{__version__}|{TRACE_FORMAT}|{code_fingerprint()}|{space.digest}|{_source_digest(space)}|"
           f"{space.spec.callable}|{sorted(space.params_of(cid).items())!r}|{batch}|{environment_key()}")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in space.label_of(cid))[:60]
    return d / "callable-space" / f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def candidate_trace(space: CallableSpace, cid: int, batch: int = 1, use_cache: bool = True):
    """The TraceResult of candidate ``cid``: from the cache, else traced in full and stored."""
    from roofsweep.layertable import TraceResult

    path = _cache_file(space, cid, batch) if use_cache else None
    if path is not None and path.is_file():
        try:
            return TraceResult.from_json(path.read_text())
        except Exception:  # noqa: BLE001 - a torn or stale entry is a miss
            path.unlink(missing_ok=True)
    from roofsweep.trace import trace
    from roofsweep.zoo import resolve

    result = trace(resolve(f"space:{space.source}#{cid}", batch=batch))
    if path is not None:
        from roofsweep.io import write_file_atomic

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_file_atomic(path, result.to_json())
        except OSError:
            pass
    return result

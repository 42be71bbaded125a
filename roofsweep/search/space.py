"""Block-structured search spaces: the YAML schema and candidate decoding by integer ID (torch-free).

A space is ``stem -> stages of blocks -> head``; every block field given as a list is a choice,
and so are the stage widths, the input resolution and a global width multiplier. One candidate
picks one value per choice axis. Axes are ordered (resolution, width multiplier, then per stage:
its width, then each block's fields in order) and a candidate's ID is the mixed-radix number of
its digits, the first axis most significant: ``ID = (...((d0 * r1 + d1) * r2 + d2)...)``. So the
ID order is the lexicographic order of the digits, and ``space:FILE#ID`` names one network.

The format is documented in ``docs/search-spaces.md``. Every error is a one-line ``ConfigError``
naming the file, stage and block.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from roofsweep.errors import ConfigError

MAX_ALL = 10_000_000  # candidates ``--all`` may enumerate
BLOCK_FIELDS = {"uib": ("start_dw", "mid_dw", "expand"), "fib": ("kernel", "expand"), "conv": ("kernel",)}
ACTIVATIONS = ("relu", "relu6", "hardswish", "gelu", "silu")


def _as_list(v: Any) -> Any:
    return v if isinstance(v, list) else [v]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BlockSpec(_Strict):
    """One block; list-valued fields are choices. ``repeat`` copies it (each copy chooses on its own)."""

    type: Literal["uib", "fib", "conv"]
    stride: int = Field(1, ge=1)
    start_dw: list[int] = [0]
    mid_dw: list[int] = [3]
    kernel: list[int] = [3]
    expand: list[float] = [4.0]
    groups: int = Field(1, ge=1)
    repeat: int = Field(1, ge=1)

    @field_validator("start_dw", "mid_dw", "kernel", "expand", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return _as_list(v)


class StageSpec(_Strict):
    name: str = ""
    widths: list[int]
    blocks: list[BlockSpec] = Field(min_length=1)

    @field_validator("widths", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return _as_list(v)


class StemSpec(_Strict):
    kernel: int = Field(3, ge=1)
    stride: int = Field(2, ge=1)
    channels: int = Field(32, ge=1)


class HeadSpec(_Strict):
    channels: int = Field(960, ge=1)
    hidden: int | None = Field(1280, ge=1)


class SpaceSpec(_Strict):
    name: str = "space"
    description: str = ""
    resolutions: list[int] = [224]
    width_multipliers: list[float] = [1.0]
    activation: Literal["relu", "relu6", "hardswish", "gelu", "silu"] = "relu"
    num_classes: int = Field(1000, ge=1)
    stem: StemSpec = StemSpec()
    stages: list[StageSpec] = Field(min_length=1)
    head: HeadSpec = HeadSpec()

    @field_validator("resolutions", "width_multipliers", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return _as_list(v)


@dataclass(frozen=True)
class Axis:
    """One choice axis: where it is (``stage``/``block`` index, -1 for global) and its values."""

    name: str
    values: tuple
    stage: int = -1
    block: int = -1  # index into Space.blocks (flattened, repeats expanded)

    @property
    def radix(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class BlockSlot:
    """One block position of the network (repeats expanded)."""

    stage: int
    index_in_stage: int
    spec: BlockSpec
    label: str


class Space:
    """A loaded, validated space: its axes, block slots, size and ID <-> digits conversion."""

    def __init__(self, spec: SpaceSpec, source: str = "<space>", digest: str = ""):
        self.spec = spec
        self.source = source
        self.digest = digest or hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]
        self.slots: list[BlockSlot] = []
        for si, st in enumerate(spec.stages):
            k = 0
            for b in st.blocks:
                for _ in range(b.repeat):
                    self.slots.append(BlockSlot(si, k, b, f"stage {st.name or si} block {k}"))
                    k += 1
        axes = [Axis("resolution", tuple(spec.resolutions)), Axis("width_multiplier", tuple(spec.width_multipliers))]
        self.width_axis: list[int] = []
        self.block_axes: list[dict[str, int]] = [dict() for _ in self.slots]
        for si, st in enumerate(spec.stages):
            self.width_axis.append(len(axes))
            axes.append(Axis(f"stage{si}.width", tuple(st.widths), stage=si))
            for bi, slot in enumerate(self.slots):
                if slot.stage != si:
                    continue
                for f in BLOCK_FIELDS[slot.spec.type]:
                    self.block_axes[bi][f] = len(axes)
                    axes.append(Axis(f"block{bi}.{f}", tuple(getattr(slot.spec, f)), stage=si, block=bi))
        self.axes = axes
        self.radices = np.array([a.radix for a in axes], dtype=np.int64)
        self.size = math.prod(int(r) for r in self.radices)
        self._groups = _digit_groups([int(r) for r in self.radices])

    # ------------------------------------------------------------------ ID <-> digits
    def digits_of(self, cid: int) -> np.ndarray:
        """The digit vector of candidate ``cid`` (``ConfigError`` if out of range)."""
        if isinstance(cid, bool) or not isinstance(cid, (int, np.integer)) or not 0 <= int(cid) < self.size:
            raise ConfigError(f"candidate ID {cid} is out of range for {self.source}: it has {self.size} candidates (0..{self.size - 1})")
        out = np.zeros(len(self.axes), dtype=np.int64)
        rest = int(cid)
        for i in range(len(self.axes) - 1, -1, -1):
            rest, out[i] = divmod(rest, int(self.radices[i]))
        return out

    def id_of(self, digits) -> int:
        cid = 0
        for d, r in zip(digits, self.radices):
            cid = cid * int(r) + int(d)
        return cid

    @property
    def digit_dtype(self):
        return np.uint8 if int(self.radices.max()) <= 256 else np.int32

    def group_codes(self, digits: np.ndarray) -> np.ndarray:
        """(N, G) int64: the digits folded into G mixed-radix groups that each fit an int64
        (most significant group first); the ID is these groups in base ``group radix``."""
        out = np.zeros((len(digits), len(self._groups)), dtype=np.int64)
        for g, (lo, hi, _) in enumerate(self._groups):
            acc = out[:, g]
            for i in range(lo, hi):
                acc *= self.radices[i]
                acc += digits[:, i]
        return out

    def ids_text(self, digits: np.ndarray) -> list[str]:
        """Decimal IDs of the rows of ``digits`` (exact, any space size)."""
        codes = self.group_codes(digits)
        cols = [codes[:, g].tolist() for g in range(codes.shape[1])]
        if len(cols) == 1:
            return [str(v) for v in cols[0]]
        mults = [g[2] for g in self._groups]
        if len(cols) == 2:
            m = mults[1]
            return [str(a * m + b) for a, b in zip(cols[0], cols[1])]
        out = []
        for row in zip(*cols):
            v = 0
            for x, m in zip(row, mults):
                v = v * m + x
            out.append(str(v))
        return out

    def decode_range(self, start: int, stop: int) -> np.ndarray:
        """Digits of IDs ``start..stop-1`` (only for spaces whose size fits an int64)."""
        return self._digits_of_ids(np.arange(start, stop, dtype=np.int64))

    # ------------------------------------------------------------------ choosing candidates
    def enumerate_all(self) -> np.ndarray:
        if self.size > MAX_ALL:
            raise ConfigError(f"{self.source} has {self.size:.3g} candidates; --all enumerates at most {MAX_ALL:,}; use --samples N")
        return self.decode_range(0, self.size)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """Digits of ``n`` distinct candidates drawn uniformly without replacement, in ID order.

        Each digit group's code is drawn uniformly (so the ID is uniform); repeats are dropped
        and redrawn, which keeps every set of ``n`` candidates equally likely."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"--samples must be a positive integer, got {n!r}")
        if n > self.size:
            raise ConfigError(f"--samples {n} exceeds the {self.size} candidates of {self.source} (--all would enumerate them)")
        rng = np.random.default_rng(seed)
        if self.size <= 4 * n:  # dense: draw IDs directly
            return self._digits_of_ids(np.sort(rng.choice(self.size, size=n, replace=False)))
        digits = np.zeros((0, len(self.axes)), dtype=self.digit_dtype, order="F")
        while len(digits) < n:
            k = n - len(digits)
            more = np.empty((k, len(self.axes)), dtype=self.digit_dtype, order="F")
            for i, r in enumerate(self.radices):
                more[:, i] = rng.integers(0, r, size=k, dtype=self.digit_dtype)
            digits = more if not len(digits) else np.asfortranarray(np.concatenate([digits, more]))
            digits = take_rows(digits, _unique_rows(self.group_codes(digits)))
        return digits

    def _digits_of_ids(self, ids: np.ndarray) -> np.ndarray:
        out = np.zeros((len(ids), len(self.axes)), dtype=self.digit_dtype, order="F")
        ids = ids.astype(np.int64)
        for i in range(len(self.axes) - 1, -1, -1):
            ids, out[:, i] = np.divmod(ids, self.radices[i])
        return out

    def describe(self, digits) -> dict[str, Any]:
        """Axis name -> chosen value for one candidate."""
        return {a.name: a.values[int(d)] for a, d in zip(self.axes, digits)}


def take_rows(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a[idx]`` for a column-major digit matrix, column by column (a row gather of a
    Fortran-ordered array would stride through memory)."""
    out = np.empty((len(idx), a.shape[1]), dtype=a.dtype, order="F")
    for i in range(a.shape[1]):
        np.take(a[:, i], idx, out=out[:, i])
    return out


def _unique_rows(codes: np.ndarray) -> np.ndarray:
    """Positions of the distinct rows of ``codes``, in lexicographic row order (first column
    most significant)."""
    order = np.argsort(codes[:, 0]) if codes.shape[1] == 1 else np.lexsort(codes.T[::-1])
    c = codes[order]
    keep = np.r_[True, (c[1:] != c[:-1]).any(axis=1)] if len(c) else np.zeros(0, dtype=bool)
    return order[keep]


def _digit_groups(radices: list[int]) -> list[tuple[int, int, int]]:
    """Split axes into consecutive groups whose radix product stays below 2**62:
    ``(first axis, end axis, product)``."""
    groups, lo, prod = [], 0, 1
    for i, r in enumerate(radices):
        if prod * r >= 2**62 and i > lo:
            groups.append((lo, i, prod))
            lo, prod = i, 1
        prod *= r
    groups.append((lo, len(radices), prod))
    return groups


# ------------------------------------------------------------------------ loading
def _first_error(e: ValidationError, where: str) -> str:
    err = e.errors()[0]
    loc = ".".join(str(x) for x in err.get("loc", ()))
    return f"{where}: {loc or 'space'}: {err.get('msg', 'invalid')}"


def parse_space(data: Any, source: str = "<space>") -> Space:
    """Validate a space mapping (a loaded YAML document); ``ConfigError`` naming what and where."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a search space must be a mapping with 'stages' or 'callable', got {type(data).__name__}")
    if "callable" in data:  # a callable space: build(**params) over a product of parameter lists
        from roofsweep.search.callables import parse_callable_space

        return parse_callable_space(data, source)
    _check_empty_lists(data, source)
    try:
        spec = SpaceSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_first_error(e, source)) from None
    space = Space(spec, source, hashlib.sha256(repr(data).encode()).hexdigest()[:16])
    from roofsweep.search.blocks import check_space

    check_space(space)
    return space


def _check_empty_lists(data: dict, source: str) -> None:
    """An empty choice list anywhere gets its own message (the space would have 0 candidates)."""
    def walk(obj: Any, path: str) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(obj, list):
            if not obj:
                raise ConfigError(f"{source}: {path} is an empty choice list; give at least one value")
            for i, v in enumerate(obj):
                walk(v, f"{path}[{i}]")

    walk(data, "")


_LOADED: dict[tuple[str, float, int], Space] = {}


def load_space(path: str | Path) -> Space:
    """Load and validate a space YAML file (memoised per path and modification time)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"search space file {path} not found")
    st = p.stat()
    key = (str(p.resolve()), st.st_mtime, st.st_size)
    if key in _LOADED:
        return _LOADED[key]
    text = p.read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} is not valid YAML ({getattr(e, 'problem', None) or e})") from None
    space = parse_space(data, str(path))
    space.digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    _LOADED[key] = space
    return space


def parse_candidate_spec(spec: str) -> tuple[str, int]:
    """``'space:FILE#ID' -> (FILE, ID)``."""
    body = spec[len("space:"):] if spec.startswith("space:") else spec
    path, sep, cid = body.rpartition("#")
    if not sep or not path or not cid.strip().isdigit():
        raise ConfigError(f"candidate spec {spec!r} must read space:FILE#ID, e.g. space:configs/space-mnv4-conv.yaml#48213")
    return path, int(cid)

"""On-disk cache of traced LayerTables (torch-free).

Key: roofsweep version, trace format, a fingerprint of the tracer's and the zoo's source code
(so editing an architecture or a formula invalidates old entries even within one version),
model spec, width and input shapes (batch and resolution), the installed versions of torch,
torchvision and timm (read from package metadata: no import), and the environment switches that
change what a model builds to (``TIMM_FUSED_ATTN``...). A hit needs no torch import; a change
of any key part is a miss. Entries are plain JSON written atomically (temporary file + rename),
so an interrupted run never leaves a torn entry; an unreadable entry - torn, not JSON, or JSON of
the wrong shape such as ``null`` - is deleted, treated as a miss and traced again.

Location: ``$ROOFSWEEP_CACHE_DIR`` or the per-user cache folder (``platformdirs``);
``ROOFSWEEP_CACHE_DIR=off`` disables caching. Only zoo, ``torchvision:`` and ``timm:`` models are
cached (their code is versioned); a ``package.module:callable`` is traced every time.
"""

from __future__ import annotations

import functools
import hashlib
import os
from importlib import metadata
from pathlib import Path

from roofsweep import __version__
from roofsweep.layertable import TraceResult

TRACE_FORMAT = 2
# Packages whose code builds or runs the models, and environment switches that change a model.
KEY_PACKAGES = ("torch", "torchvision", "timm")
KEY_ENV = ("TIMM_FUSED_ATTN", "TIMM_USE_SCIPY_INTERP")


def cache_dir() -> Path | None:
    env = os.environ.get("ROOFSWEEP_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "none") else Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("roofsweep")) / "traces"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the source files whose behaviour a cached trace depends on (about a millisecond)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for folder in ("trace", "zoo"):
        for f in sorted((root / folder).glob("*.py")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    h.update((root / "layertable.py").read_bytes())
    return h.hexdigest()[:16]


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def _versions() -> str:
    return ",".join(f"{p}={_package_version(p)}" for p in KEY_PACKAGES)


def environment_key() -> str:
    """The package versions and environment switches a trace depends on."""
    versions = _versions()
    switches = ",".join(f"{e}={os.environ.get(e)!r}" for e in KEY_ENV)
    return f"{versions}|{switches}"


def cache_path(ref) -> Path | None:
    d = cache_dir()
    if d is None:
        return None
    if ":" in ref.spec and ref.spec.split(":", 1)[0] not in ("torchvision", "timm"):
        return None
    key = f"{__version__}|{TRACE_FORMAT}|{code_fingerprint()}|{ref.cache_key()}|{environment_key()}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in ref.label)[:60]
    return d / f"{safe}-{digest}.json"


def load_cached(ref) -> TraceResult | None:
    path = cache_path(ref)
    if path is None or not path.is_file():
        return None
    try:
        return TraceResult.from_json(path.read_text())
    except Exception:  # noqa: BLE001 - any unreadable entry (torn, not JSON, wrong shape) is a miss
        try:
            path.unlink()
        except OSError:
            pass
        return None


def store(ref, result: TraceResult) -> None:
    path = cache_path(ref)
    if path is None:
        return
    from roofsweep.io import write_file_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(path, result.to_json())
    except OSError:
        pass  # a read-only cache folder only costs speed


def load_or_trace(ref, use_cache: bool = True) -> TraceResult:
    """The traced LayerTable of ``ref``: from the cache when present, else traced and stored.
    A model file (``ref.is_file``) is read by its importer every time (no torch, no cache)."""
    if getattr(ref, "is_file", False):
        from roofsweep.importers import load_model_file

        return load_model_file(ref.spec, ref.input_shape or None, ref.label)
    if getattr(ref, "module", None) is not None:
        use_cache = False  # a module object: nothing to key a cache entry on
    if use_cache:
        hit = load_cached(ref)
        if hit is not None:
            return hit
    from roofsweep.trace.api import trace

    result = trace(ref)
    if use_cache:
        store(ref, result)
    return result

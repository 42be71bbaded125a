"""Test-wide settings: a trace cache private to this test session, plain fixed-width output."""

from __future__ import annotations

import os
import tempfile

import pytest

_CACHE = tempfile.mkdtemp(prefix="roofsweep-test-cache-")
os.environ["ROOFSWEEP_CACHE_DIR"] = _CACHE
os.environ.setdefault("COLUMNS", "120")
os.environ["NO_COLOR"] = "1"


@pytest.fixture(scope="session")
def trace_cache_dir() -> str:
    return _CACHE

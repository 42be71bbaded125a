"""Host probe: logic on tiny sizes (fast; no timed assertions)."""

from __future__ import annotations

import pytest

from roofsweep.errors import MeasurementError
from roofsweep.hardware.loader import load_profile
from roofsweep.measure import probe
from roofsweep.measure.probe import (
    default_stream_bytes,
    hostname_slug,
    last_level_cache_bytes,
    probe_host,
    write_probe_profile,
)

MiB = 2**20
TINY = dict(gemm_sizes=(32, 64), stream_bytes=64 * 1024, repeats=1, warmup=0)


def test_hostname_slug():
    assert hostname_slug("My_Box.local") == "my-box-local"
    assert hostname_slug("---") == "unknown"


def test_last_level_cache_from_sysfs(tmp_path):
    # index0 L1d 48K, index1 L1i 32K, index2 L2 2048K, index3 L3 266240K -> L3 = 260 MiB
    for i, (level, typ, size) in enumerate([(1, "Data", "48K"), (1, "Instruction", "32K"),
                                            (2, "Unified", "2048K"), (3, "Unified", "266240K")]):
        d = tmp_path / f"index{i}"
        d.mkdir()
        (d / "level").write_text(f"{level}\n")
        (d / "type").write_text(f"{typ}\n")
        (d / "size").write_text(f"{size}\n")
    assert last_level_cache_bytes(tmp_path) == 266240 * 1024
    assert last_level_cache_bytes(tmp_path / "missing") is None


def test_default_stream_bytes():
    # 8 x 8 MiB = 64 MiB < 256 MiB floor -> 256 MiB
    assert default_stream_bytes(8 * MiB)[0] == 256 * MiB
    # 8 x 64 MiB = 512 MiB
    assert default_stream_bytes(64 * MiB)[0] == 512 * MiB
    # 8 x 260 MiB = 2080 MiB > 1 GiB cap -> 1 GiB, and the note says so
    size, note = default_stream_bytes(260 * MiB)
    assert size == 1024 * MiB and "capped" in note
    # 2 GiB available -> at most 2 GiB / 8 = 256 MiB per array
    assert default_stream_bytes(64 * MiB, available_bytes=2048 * MiB)[0] == 256 * MiB
    assert default_stream_bytes(None)[0] == 256 * MiB


def test_probe_tiny_round_trips(tmp_path):
    calls = []
    r = probe_host(dtypes=("fp32", "int8"), progress=lambda d, done, total: calls.append((d, done, total)), **TINY)
    assert r.default_dtype == "fp32" and r.name.startswith("host-")
    assert set(r.peak_macs_per_s) | set(r.skipped) == {"fp32", "int8"}
    assert all(v > 0 for v in r.peak_macs_per_s.values()) and r.bandwidth_bytes_per_s > 0
    # 2 dtypes x 2 sizes of GEMM + copy + triad = 6 steps; the last call reports completion
    assert calls[-1][1:] == (6, 6) and [c[1] for c in calls] == sorted(c[1] for c in calls)
    # bytes moved: copy 2 x array, triad 3 x array (read + written)
    s = r.stream.set_index("kernel")
    assert s.loc["copy", "bytes_moved"] == 2 * 64 * 1024 and s.loc["triad", "bytes_moved"] == 3 * 64 * 1024
    # GEMM of side n is n**3 MACs: 32**3 = 32768
    assert r.gemm.loc[r.gemm["size"] == 32, "macs"].tolist() == [32768.0] * len(r.gemm[r.gemm["size"] == 32])
    m = r.measured
    assert {"date", "method", "torch_version", "threads", "cpu_model"} <= set(m)
    assert m["threads"] >= 1
    path = write_probe_profile(r, tmp_path)
    assert path.name == f"{r.name}.yaml"
    loaded = load_profile(path)
    assert loaded == r.profile()
    assert loaded.kind == "cpu" and loaded.measured["threads"] == m["threads"]
    assert loaded.ridge_point() == pytest.approx(r.ridge_point)


def test_probe_skips_without_faking():
    # a dtype torch cannot run here is skipped with a reason, never given a peak
    r = probe_host(dtypes=("fp32", "int4"), **TINY)
    assert "int4" not in r.peak_macs_per_s and "int4" in r.skipped
    # a dtype that runs but is far below fp32 is skipped as "no fast path" (threshold forced high)
    r = probe_host(dtypes=("fp32", "fp16"), min_fast_fraction=1e9, **TINY)
    assert list(r.peak_macs_per_s) == ["fp32"]
    assert "no fast path" in r.skipped["fp16"] and "fp16 skipped" in r.notes


def test_probe_quick_defaults(monkeypatch):
    # quick mode picks its sizes; record them and run tiny ones instead
    seen = {}
    real_gemm, real_stream = probe.measure_gemm, probe.measure_stream

    def fake_gemm(dtype, sizes, *a, **k):
        seen.setdefault("sizes", tuple(sizes))
        return real_gemm(dtype, (32,), 0, 1)

    def fake_stream(nbytes, *a, **k):
        seen["stream"] = nbytes
        return real_stream(4096, 0, 1)

    monkeypatch.setattr(probe, "measure_gemm", fake_gemm)
    monkeypatch.setattr(probe, "measure_stream", fake_stream)
    r = probe_host(dtypes=("fp32",), quick=True)
    assert seen == {"sizes": probe.QUICK_GEMM_SIZES, "stream": probe.QUICK_STREAM_BYTES}
    assert r.measured["quick"] is True


def test_probe_errors():
    with pytest.raises(MeasurementError, match="repeats"):
        probe_host(dtypes=("fp32",), gemm_sizes=(32,), stream_bytes=4096, repeats=0)
    with pytest.raises(MeasurementError, match="GEMM sizes"):
        probe_host(dtypes=("fp32",), gemm_sizes=(8,), stream_bytes=4096, repeats=1)

"""Report folders are written atomically: all of a report or nothing, never a half-overwrite."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import report_fixtures as F
from roofsweep.errors import OutputError
from roofsweep.report import bundle
from roofsweep.report import figures as P
from roofsweep.report.bundle import check_writable, write_report
from roofsweep.report.data import ReportData


def _report() -> ReportData:
    return ReportData(title="t", command="roofsweep sweep --model mnv1", preset="paper",
                      sweep_df=F.sweep(models=["mnv1", "mnv4-conv-m"]),
                      layer_tables=F.layer_tables(models=("mnv1",), rps=(5.0, 500.0)))


def _figures():
    fig, ax = P.new_figure()
    P.plot_layer_latency(ax, F.per_layer("mnv1", 5))
    return {"layer latency": fig}


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".roofsweep-"))


def test_writes_complete_folder(tmp_path):
    out = write_report(tmp_path / "reports" / "report", _report(), _figures())
    assert out == tmp_path / "reports" / "report"
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    # figures drawn once, as SVG (PNG only when asked for: test_png_on_request)
    assert names == [bundle.MARKER, "figures/layer-latency.svg", "index.html",
                     "layers/mnv1__RP-5.csv", "layers/mnv1__RP-500.csv", "summary.json", "sweep.csv"]
    names.remove(bundle.MARKER)  # the marker that lets --force recognise the folder; not a result
    assert all((out / n).stat().st_size > 200 for n in names)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["models"] == ["mnv1", "mnv4-conv-m"]
    assert summary["profiles"] == [n for n, _ in F.PROFILES]
    assert summary["files"] == sorted(names)
    assert summary["latency_s"]["mnv1"]["RP 5"] > 0
    html = (out / "index.html").read_text()
    assert "<svg" in html and "layer latency" in html  # the figure is embedded as well
    assert not _leftovers(out.parent)
    assert oct(out.stat().st_mode & 0o777) != oct(0o700)  # not left with mkdtemp's private mode


def test_png_on_request_and_progress(tmp_path):
    seen = []
    out = write_report(tmp_path / "report", _report(), _figures(), png=True,
                       progress=lambda done, total: seen.append((done, total)))
    assert (out / "figures" / "layer-latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "figures" / "layer-latency.svg").stat().st_size > 1000
    assert "figures/layer-latency.png" in json.loads((out / "summary.json").read_text())["files"]
    assert seen == [(1, 1)]


@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_nothing(tmp_path, monkeypatch, exc):
    def boom(report):
        raise exc

    monkeypatch.setattr(bundle, "render_html", boom)  # fails after figures + CSVs are written
    with pytest.raises(type(exc)):
        write_report(tmp_path / "report", _report(), _figures())
    assert list(tmp_path.iterdir()) == []  # no report and no temporary folder


def test_existing_report_is_kept_and_new_one_goes_to_timestamped_sibling(tmp_path):
    target = tmp_path / "report"
    first = write_report(target, _report())
    (first / "marker.txt").write_text("old")
    before = (first / "index.html").read_bytes()
    second = write_report(target, _report())
    third = write_report(target, _report())
    assert second != first and third not in (first, second)
    assert second.parent == tmp_path and second.name.startswith("report-")
    assert (first / "marker.txt").read_text() == "old" and (first / "index.html").read_bytes() == before
    assert (second / "index.html").exists() and (third / "index.html").exists()
    assert not _leftovers(tmp_path)


def test_force_replaces_existing_report(tmp_path):
    target = tmp_path / "report"
    write_report(target, _report())
    (target / "marker.txt").write_text("old")
    out = write_report(target, _report(), force=True)
    assert out == target
    assert not (target / "marker.txt").exists() and (target / "index.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # old one gone, nothing left aside


def test_force_failure_keeps_old_report(tmp_path, monkeypatch):
    target = tmp_path / "report"
    write_report(target, _report())
    (target / "marker.txt").write_text("old")
    monkeypatch.setattr(bundle, "render_html", lambda r: (_ for _ in ()).throw(OSError("no space")))
    with pytest.raises(OutputError, match="no space"):
        write_report(target, _report(), force=True)
    assert (target / "marker.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_empty_existing_folder_is_used(tmp_path):
    (tmp_path / "report").mkdir()
    assert write_report(tmp_path / "report", _report()) == tmp_path / "report"


# --------------------------------------------------------------------------- unwritable
def _assert_one_line_error(path, *words):
    with pytest.raises(OutputError) as info:
        check_writable(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    for w in words:
        assert w in msg
    return msg


def test_out_is_a_file(tmp_path):
    f = tmp_path / "report"
    f.write_text("x")
    _assert_one_line_error(f, "not a folder")
    with pytest.raises(OutputError):
        write_report(f, _report())
    assert f.read_text() == "x"


def test_out_under_a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    _assert_one_line_error(f / "sub" / "report", "is a file")


def test_out_uncreatable(tmp_path):
    _assert_one_line_error(Path("/proc/roofsweep-no-such/report"), "cannot create")


def test_out_under_read_only_dir(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        # permission bits do not stop root; a read-only filesystem (sysfs) does
        path = ro / "report" if os.geteuid() != 0 else Path("/sys/roofsweep-report")
        _assert_one_line_error(path, "cannot create")
        assert not path.exists()
    finally:
        ro.chmod(0o755)


def test_check_happens_before_any_work(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(bundle, "_write_contents", lambda *a: calls.append(a))
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(OutputError):
        write_report(f / "report", _report())
    assert calls == []


def test_force_never_deletes_a_folder_roofsweep_did_not_write(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError, match="only a roofsweep report"):
        check_writable(mine, force=True)  # refused before any work
    with pytest.raises(OutputError, match="only a roofsweep report"):
        write_report(mine, _report(), force=True)
    assert (mine / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_disk_error_is_one_line_and_cleans_created_parents(tmp_path, monkeypatch):
    def full(report):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bundle, "render_html", full)
    with pytest.raises(OutputError, match="No space left on device"):
        write_report(tmp_path / "new" / "deeper" / "report", _report(), _figures())
    assert list(tmp_path.iterdir()) == []  # the parents made for the report are gone too

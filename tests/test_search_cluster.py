"""The Dask path of ``search`` and the search command's output handling."""

from __future__ import annotations

import io
import json
import socket
import sys

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from roofsweep.cli import app
from roofsweep.errors import ConfigError
from roofsweep.search import cluster
from roofsweep.search.run import search
from roofsweep.search.space import load_space
from test_search import TINY, TINY_SIZE

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture()
def tiny_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def test_local_cluster_of_two_gives_identical_rows(tiny_file):
    space = load_space(tiny_file)
    d = space.sample(300, seed=4)
    here = search(space, d, "0,5,50,500", ["pixel6-cpu"], "paper")
    there = search(space, d, "0,5,50,500", ["pixel6-cpu"], "paper", scheduler="local:2", chunk=70)
    assert there.stats["workers"] == 2
    pd.testing.assert_frame_equal(here.rows, there.rows, check_exact=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_scheduler_that_does_not_answer(tiny_file, tmp_path):
    out = tmp_path / "rows.csv"
    r = run("search", str(tiny_file), "--samples", "5", "--scheduler", f"tcp://127.0.0.1:{_free_port()}",
            "--scheduler-timeout", "1", "--out", str(out))
    assert r.exit_code == 1
    assert r.output.startswith("error: no Dask scheduler answers at tcp://127.0.0.1:") and r.output.count("\n") == 1
    assert list(tmp_path.iterdir()) == [tiny_file]  # nothing half-written
    bad = run("search", str(tiny_file), "--samples", "5", "--scheduler", "udp:5")
    assert bad.exit_code == 1 and "must be local:N or tcp://HOST:PORT" in bad.output


def test_without_dask_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(ConfigError, match=r'pip install "roofsweep\[cluster\]"'):
        cluster.check_scheduler("local:2")


def test_search_command_csv_json_and_bad_input(tiny_file, tmp_path):
    out = tmp_path / "rows.csv"
    r = run("search", str(tiny_file), "--samples", "20", "--seed", "3", "--out", str(out), "--capacity", "macs")
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out, dtype={"id": str})
    assert len(df) == 20 and df["spec"].str.startswith(f"space:{tiny_file}#").all()
    j = run("search", str(tiny_file), "--samples", "20", "--seed", "3", "--format", "json", "--capacity", "macs")
    rows = json.loads(j.stdout)
    assert [x["id"] for x in rows] == list(df["id"]) and rows[0]["macs"] == df["macs"][0]
    # the spec of a row opens that candidate in `layers`: same MACs
    lay = run("layers", "--model", df["spec"][0], "--format", "csv")
    assert lay.exit_code == 0, lay.output
    assert pd.read_csv(io.StringIO(lay.stdout))["macs"].sum() == df["macs"][0]
    too_many = run("search", str(tiny_file), "--samples", str(TINY_SIZE + 1))
    assert too_many.exit_code == 1 and "exceeds the" in too_many.output
    nowhere = run("search", str(tiny_file), "--samples", "2", "--out", str(tmp_path / "no" / "x.csv"))
    assert nowhere.exit_code == 1 and "does not exist" in nowhere.output


def test_interrupted_write_leaves_no_file(tiny_file, tmp_path, monkeypatch):
    import roofsweep.search.run as run_mod

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_mod, "write_stream", boom)
    out = tmp_path / "rows.csv"
    r = run("search", str(tiny_file), "--samples", "5", "--out", str(out))
    assert r.exit_code == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]  # no file, no temp file


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_streamed_rows_equal_the_in_memory_rows(tiny_file, tmp_path, fmt, monkeypatch):
    from roofsweep.search.run import write_rows
    from roofsweep.search.stream import RowSpool

    space = load_space(tiny_file)
    d = space.sample(250, seed=2)
    whole = search(space, d, "0,5,50,500", ["pixel6-cpu"], "paper", chunk=60)
    write_rows(whole.rows, tmp_path / f"whole.{fmt}", fmt)
    seen = []
    with RowSpool(tmp_path / f"streamed.{fmt}", fmt) as spool:
        # chunks arrive out of order (as Dask returns them): the file is still in candidate order
        calls = []
        real = spool.__call__
        streamed = search(space, d, "0,5,50,500", ["pixel6-cpu"], "paper", chunk=60,
                          sink=lambda c0, res: calls.append((c0, res)))
        assert streamed.rows is None and [c for c, _ in calls] == [0, 60, 120, 180, 240]
        spool.start(space, d, streamed.points, "params")
        for c0, res in reversed(calls):
            real(c0, res)
            seen.append(sorted(p.name for p in tmp_path.iterdir()))
        spool.finish()
        assert spool.frontier_counts == {lab: int(whole.rows[f"on_frontier[{lab}]"].sum()) for lab in whole.rp_labels}
    # while streaming, only a hidden spool file sits next to the output; afterwards only the output
    assert all(len(s) == 3 and any(n.endswith(".rows.tmp") for n in s) for s in seen)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["tiny.yaml", f"whole.{fmt}", f"streamed.{fmt}"])
    assert (tmp_path / f"streamed.{fmt}").read_text() == (tmp_path / f"whole.{fmt}").read_text()

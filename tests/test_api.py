"""The package's front door: lazy top-level names, and which imports stay torch-free."""

from __future__ import annotations

import subprocess
import sys

import pytest

import roofsweep


@pytest.mark.parametrize("name", roofsweep.__all__)
def test_every_advertised_name_resolves(name):
    assert getattr(roofsweep, name) is not None


def test_unknown_attribute():
    with pytest.raises(AttributeError):
        roofsweep.not_a_thing  # noqa: B018


def test_engine_and_cli_import_without_torch():
    code = (
        "import sys, roofsweep, roofsweep.cli, roofsweep.analysis, roofsweep.engine.costmodel, roofsweep.engine.roofline, "
        "roofsweep.engine.sweep, roofsweep.engine.pareto, roofsweep.hardware, roofsweep.zoo, roofsweep.trace, "
        "roofsweep.report.terminal, roofsweep.config, roofsweep.measure\n"
        "roofsweep.resolve('mnv2-1.5x'); roofsweep.get_profile('pixel6-cpu')\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

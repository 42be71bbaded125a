"""The ``roofsweep`` command line: thin commands that parse, call the library, hand results to a
reporter. Exit codes: 0 ok, 1 error (a one-line ``error: ...`` on stderr), 2 usage.

Heavy modules (pandas, matplotlib, torch) are imported inside commands, so ``--help`` is quick
and a sweep on a warm trace cache never imports torch.
"""

from __future__ import annotations

import sys

import typer

from roofsweep import __version__
from roofsweep.cli.common import err_console
from roofsweep.errors import RoofsweepError

app = typer.Typer(
    name="roofsweep",
    help=(
        "Roofline hardware-cost analysis of neural networks: per-layer MACs and bytes, "
        "ridge-point sweeps, hardware profiles and Pareto frontiers.\n\n"
        "Example: roofsweep sweep --model mnv4-conv-m"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"roofsweep {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Roofline hardware-cost analysis of neural networks."""


# Register the commands (each module adds its commands to ``app``).
from roofsweep.cli import models as _models  # noqa: E402,F401
from roofsweep.cli import hardware as _hardware  # noqa: E402,F401
from roofsweep.cli import sweep as _sweep  # noqa: E402,F401
from roofsweep.cli import measure as _measure  # noqa: E402,F401  (isort: keep pipeline order)
from roofsweep.cli import search as _search  # noqa: E402,F401


def _terminate(signum, _frame) -> None:
    # SIGTERM (kill, a CI timeout) unwinds like Ctrl-C does, so half-written reports and
    # cache entries are removed by their cleanup handlers instead of being left behind.
    raise SystemExit(128 + signum)


def main() -> None:
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except RoofsweepError as e:  # raised outside a command (e.g. while parsing)
        err_console.print(f"error: {e}", markup=False, highlight=False)
        sys.exit(1)

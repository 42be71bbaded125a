"""The ``roofsweep`` command line: thin commands that parse, call the library, hand results to a
reporter. Exit codes: 0 ok, 1 error (a one-line ``error: ...`` on stderr), 2 usage.

Heavy modules (pandas, matplotlib, torch) are imported inside commands, so ``--help`` is quick
and a sweep on a warm trace cache never imports torch.
"""

from __future__ import annotations

import errno
import sys

import typer

from roofsweep import __version__
from roofsweep.cli.common import err_console
from roofsweep.errors import RoofsweepError, one_line

class Group(typer.core.TyperGroup):
    """Lists each command with its whole first sentence, wrapped, instead of cutting it at
    the terminal's width with '...'."""

    def format_commands(self, ctx, formatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10**6)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class Command(typer.core.TyperCommand):
    """Help that reads well: an argument with a metavar shows it alone (``MODEL...``), not
    followed by a Python type (``<list[str]>``)."""

    def format_options(self, ctx, formatter) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            rv = param.get_help_record(ctx)
            if rv is None:
                continue
            if param.param_type_name == "argument":
                if param.metavar:
                    rv = (param.metavar, rv[1])
                args.append(rv)
            elif param.param_type_name == "option":
                opts.append(rv)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


app = typer.Typer(
    cls=Group,
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


_STREAM_ERRNOS = {errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EFBIG, errno.EDQUOT}


def main() -> None:
    import signal

    from roofsweep.cli.common import flush_stdout, safe_streams

    signal.signal(signal.SIGTERM, _terminate)
    safe_streams()
    code: int | str | None = 0
    try:
        app()
    except RoofsweepError as e:  # raised outside a command (e.g. while parsing)
        err_console.print(f"error: {one_line(str(e))}", markup=False, highlight=False)
        code = 1
    except SystemExit as e:
        code = e.code
    except OSError as e:  # the output stream failed mid-command (/dev/full, a closed pipe)
        if e.errno not in _STREAM_ERRNOS:
            raise
        flush_stdout()  # points stdout at /dev/null so the exit flush stays quiet
        err_console.print(f"error: cannot write the output ({e.strerror or e})", markup=False, highlight=False)
        code = 1
    problem = flush_stdout()
    if problem:
        err_console.print(f"error: {problem}", markup=False, highlight=False)
        code = 1 if code in (0, None) else code
    sys.exit(code if code is not None else 1)

"""Shared CLI pieces: consoles, output formats, error handling, progress."""

from __future__ import annotations

import functools
import os
import sys
from contextlib import contextmanager
from enum import Enum

import typer
from rich.console import Console

from roofsweep.errors import RoofsweepError, one_line


PIPE_WIDTH = 120  # columns of piped output when no terminal width is known


def terminal_width() -> int | None:
    """The width of the terminal this process runs in, when one is known even though stdout is
    piped (``roofsweep sweep ... | less``): $COLUMNS, else the size of stderr's or stdin's
    terminal; None when there is none (a file, CI)."""
    cols = os.environ.get("COLUMNS", "")
    if cols.isdigit() and int(cols) > 0:
        return int(cols)
    for stream in (sys.stderr, sys.stdin, sys.stdout):
        try:
            return os.get_terminal_size(stream.fileno()).columns or None
        except (AttributeError, ValueError, OSError):
            continue
    return None


def _console(stderr: bool = False) -> Console:
    # rich honours NO_COLOR and turns colour off when the stream is not a terminal. Off a
    # terminal (a pipe, a file, CI) tables take the terminal's width when one is known
    # ($COLUMNS, or the terminal of stderr/stdin), else PIPE_WIDTH columns.
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not (hasattr(stream, "isatty") and stream.isatty()):
        width = terminal_width() or PIPE_WIDTH
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width, emoji=False)


console = _console()
err_console = _console(stderr=True)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class Preset(str, Enum):
    # The engine's presets (engine.costmodel.PRESETS), spelled out so that the CLI imports
    # without pandas; tests/test_cli.py checks that the two agree.
    default = "default"
    paper = "paper"


def _stderr_line(text: str) -> None:
    """One line on stderr, whatever the stream's encoding; a stderr that cannot be written is
    given up on silently (there is nowhere left to report to)."""
    try:
        err_console.print(text, markup=False, highlight=False, soft_wrap=True)
    except (OSError, UnicodeError):
        pass


def fail(message: str, code: int = 1):
    _stderr_line(f"error: {one_line(message)}")
    raise typer.Exit(code)


def warn(message: str) -> None:
    _stderr_line(f"warning: {one_line(message)}")


def info(message: str) -> None:
    _stderr_line(one_line(message, limit=4000))


def safe_streams() -> None:
    """Make stdout/stderr unable to raise ``UnicodeEncodeError``: characters the encoding lacks
    (``PYTHONIOENCODING=ascii``, a non-UTF-8 path) are written as backslash escapes."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # not a TextIOWrapper (tests capture it)
            pass


def flush_stdout() -> str | None:
    """Flush stdout; the one-line reason when that fails (``/dev/full``, a closed pipe)."""
    try:
        sys.stdout.flush()
        os.fstat(sys.stdout.fileno())
    except ValueError:  # no file descriptor (captured by a test runner)
        return None
    except OSError as exc:
        try:  # nothing more can be written there; keep the interpreter's exit flush quiet
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return f"cannot write to standard output ({exc.strerror or exc})"
    return None


def handle_errors(fn):
    """Domain errors become ``error: <message>`` on stderr and exit code 1 - no traceback."""

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except RoofsweepError as e:
            fail(str(e))
        except UnicodeEncodeError as e:  # a stream that cannot show a character (guarded by safe_streams)
            fail(f"output cannot be encoded as {e.encoding}; set PYTHONIOENCODING=utf-8")
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def emit(df, fmt: Format, renderables=()) -> None:
    """Print rows as JSON or CSV on stdout, or the rich renderables for ``table``."""
    if fmt == Format.table:
        for k, r in enumerate(renderables):
            if k:
                console.print()  # one blank line between tables, none inside them
            console.print(r)
        return
    from roofsweep.report.export import to_csv, to_json

    text = to_json(df) if fmt == Format.json else to_csv(df)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    problem = flush_stdout()
    if problem:
        fail(problem)


def interactive() -> bool:
    return err_console.is_terminal and not os.environ.get("CI")


@contextmanager
def progress(total: int, description: str):
    """A rich progress bar on stderr when it is a terminal; silent otherwise.

    Yields ``advance(label)``: call it once per finished unit of work.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not interactive() or total <= 1,
    ) as bar:
        task = bar.add_task(description, total=total)

        def step(label: str = "") -> None:
            if label:
                bar.update(task, description=f"{description} {label}")
            bar.advance(task)

        yield step


@contextmanager
def status(message: str):
    """A spinner on stderr while something slow runs (terminals only)."""
    if not interactive():
        yield
        return
    with err_console.status(message):
        yield

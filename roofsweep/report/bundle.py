"""Write a report folder atomically: all of it appears at once, or nothing does.

Everything is built in a hidden temporary sibling of the target (same filesystem), then renamed
into place. An existing report is never partly overwritten: without ``force`` the new one goes
to a timestamped sibling (``report-20250101-120000``, then ``-2``, ``-3``...); a non-empty
folder that is not a roofsweep report is refused (no sibling next to ``~`` or ``/proc``); with ``force``
the old folder is renamed aside, the new one renamed in, and only then the old one deleted -
and only if the old folder is a roofsweep report (it carries the marker file
``.roofsweep-report`` every report gets): ``--force`` never deletes a folder roofsweep did not
write. On any exception - KeyboardInterrupt included - the temporary folder, and any parent
folders created for the report, are removed; an ``OSError`` (disk full...) becomes a one-line
``OutputError``. Temporary folders of killed writers are removed on the next write, and an
interrupted ``--force`` replace is finished then (``roofsweep.io.atomic``).

Folder contents::

    index.html            self-contained page (report.html.render_html)
    figures/NAME.svg      each matplotlib figure given (NAME.png too with ``png=True``); none by
                          default - the page draws its charts itself (report.html_charts)
    sweep.csv             the long-form sweep DataFrame
    layers/MODEL__POINT.csv  per-layer roofline tables
    summary.json          run summary (ReportData.summary_dict) + the list of files
    .roofsweep-report     marker: this folder is a roofsweep report
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from roofsweep.errors import OutputError, quote
from roofsweep.io import atomic
from roofsweep.io.atomic import free_name, is_marked
from roofsweep.report.data import ReportData
from roofsweep.report.export import to_csv
from roofsweep.report.html import render_html, slug

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TMP_PREFIX = atomic.TMP_PREFIX
OLD_PREFIX = atomic.OLD_PREFIX
MARKER = atomic.MARKER

def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and not p.is_symlink():
        if p.parent == p:
            break
        p = p.parent
    return p


def _out_path(out_dir: str | os.PathLike, what: str) -> Path:
    """``out_dir`` as an absolute path; a path that cannot name a folder is a one-line error."""
    try:
        raw = os.fspath(out_dir)
        out = Path(raw).expanduser().absolute()
        if "\0" in str(out):
            raise ValueError("it holds a NUL character")
        str(out).encode("utf-8")  # undecodable bytes (surrogate escapes) cannot be named in the report
    except UnicodeEncodeError:
        raise OutputError(f"cannot write {what} to {quote(os.fsdecode(out_dir))}: the path is not valid UTF-8; "
                          "choose a UTF-8 name") from None
    except (ValueError, RuntimeError) as exc:  # RuntimeError: ~unknown-user
        raise OutputError(f"cannot write {what} to {quote(str(out_dir))}: not a usable path ({exc})") from None
    if out.parent == out:
        raise OutputError(f"cannot write {what} to '{out}': the filesystem root cannot be a {what} folder")
    return out


def check_writable(out_dir: str | os.PathLike, what: str = "report", folder: bool = True,
                   force: bool = False) -> Path:
    """Fail early, with one line naming the path and the reason, if a ``what`` cannot be written
    to ``out_dir`` (a folder, or a file when ``folder`` is False); returns the absolute path.
    With ``force``, an existing non-empty folder must be a roofsweep report (it gets replaced).
    Creates nothing that outlives the check."""
    out = _out_path(out_dir, what)
    try:
        exists, is_dir = out.exists(), out.is_dir()
    except OSError as exc:
        raise OutputError(f"cannot write {what} to '{out}': {exc.strerror or exc}") from None
    if folder and exists and not is_dir:
        raise OutputError(f"cannot write {what} to '{out}': it exists and is not a folder")
    if not folder and is_dir:
        raise OutputError(f"cannot write {what} to '{out}': it is a folder, not a file")
    if not folder and exists and not out.is_file():  # /dev/null, a FIFO: never replaced by a file
        raise OutputError(f"cannot write {what} to '{out}': it exists and is not a regular file")
    if folder and is_dir and _not_empty(out, what) and not is_report(out):
        # never a sibling of someone's folder (`--out ~`, `--out /proc`), never a replacement
        lead = "--force replaces only a roofsweep report; " if force else f"cannot write {what} to '{out}': "
        raise OutputError(f"{lead}'{out}' is a folder roofsweep did not write (choose a new or empty --out, "
                          "or an earlier report)")
    parent = out.parent
    base = _nearest_existing(parent)
    if not base.is_dir():
        raise OutputError(f"cannot write {what} to '{out}': '{base}' is a file, not a folder")
    try:  # a real probe: permission bits do not stop root, read-only filesystems do
        probe = tempfile.mkdtemp(dir=base, prefix=".roofsweep-probe-")
    except OSError as exc:
        reason = "read-only or not writable" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
        raise OutputError(f"cannot write {what} to '{out}': cannot create files in '{base}' ({reason})") from None
    os.rmdir(probe)
    return out


def _not_empty(folder: Path, what: str) -> bool:
    try:
        return any(folder.iterdir())
    except OSError as exc:
        raise OutputError(f"cannot write {what} to '{folder}': {exc.strerror or exc}") from None


def is_report(folder: Path) -> bool:
    """A folder roofsweep wrote (what ``--force`` may replace): it carries the marker file
    ``.roofsweep-report`` that every report folder gets. ``index.html`` and ``summary.json``
    alone are not enough - a user's web site has those too."""
    return is_marked(Path(folder))


def _free_name(target: Path, now: datetime | None = None) -> Path:
    """``<target>-YYYYmmdd-HHMMSS``, or with ``-2``, ``-3``... when that exists too."""
    return free_name(target, (now or datetime.now()).strftime("%Y%m%d-%H%M%S"))


def _unique(name: str, used: set[str]) -> str:
    out, n = name, 2
    while out.lower() in used:
        out = f"{name}-{n}"
        n += 1
    used.add(out.lower())
    return out


def _write_figures(fig_dir: Path, figures: Mapping[str, Figure], embedded: dict, png: bool,
                   progress: Callable[[int, int], None] | None) -> list[str]:
    """The matplotlib figures as ``figures/NAME.svg`` (and ``.png``); each SVG is embedded in the
    page too. Matplotlib is imported here only: a report without figure files never loads it."""
    from roofsweep.report.figures.render import render_figures

    fig_dir.mkdir()
    files: list[str] = []
    used: set[str] = set()
    stems = {name: _unique(slug(name), used) for name in figures}
    for name, out in render_figures(figures, png=png, salts=stems, progress=progress).items():
        stem = stems[name]
        (fig_dir / f"{stem}.svg").write_text(out.svg, encoding="utf-8")
        files.append(f"figures/{stem}.svg")
        if out.png is not None:
            (fig_dir / f"{stem}.png").write_bytes(out.png)
            files.append(f"figures/{stem}.png")
        embedded.setdefault(name, out.svg)
    return files


def _write_contents(folder: Path, report: ReportData, figures: Mapping[str, Figure], png: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Everything of the report into ``folder`` (which exists and is empty); returns the files."""
    files: list[str] = []
    embedded: dict[str, str | bytes] = dict(report.figures)
    if figures:
        files += _write_figures(folder / "figures", figures, embedded, png, progress)
    if report.sweep_df is not None:
        (folder / "sweep.csv").write_text(to_csv(report.sweep_df), encoding="utf-8")
        files.append("sweep.csv")
    if report.layer_tables:
        (folder / "layers").mkdir()
        used: set[str] = set()
        for (model, point), df in report.layer_tables.items():
            stem = _unique(f"{slug(model)}__{slug(point)}", used)
            (folder / "layers" / f"{stem}.csv").write_text(to_csv(df), encoding="utf-8")
            files.append(f"layers/{stem}.csv")
    html = render_html(replace(report, figures=embedded))
    (folder / "index.html").write_text(html, encoding="utf-8")
    files.append("index.html")
    summary = report.summary_dict() | {"files": sorted(files + ["summary.json"])}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return files


def write_report(out_dir: str | os.PathLike, report: ReportData, figures: Mapping[str, Figure] | None = None,
                 force: bool = False, *, png: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the report folder for ``report`` (and ``figures``, each drawn once as SVG, embedded
    in the HTML and kept as ``figures/NAME.svg``; ``png=True`` adds ``NAME.png``) at ``out_dir``
    and return the folder actually written (see the module docstring for what happens when
    ``out_dir`` exists). ``progress(done, total)`` is called after each figure is drawn.
    Raises OutputError if it cannot be written."""
    target = check_writable(out_dir, force=force)
    parent = target.parent
    created = [p for p in [parent, *parent.parents] if not p.exists()]
    tmp = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        atomic.clean_stale(parent)  # what a killed writer left here
        tmp = atomic.temp_folder(parent)
        _write_contents(tmp, report, figures or {}, png=png, progress=progress)
        return _move_into_place(tmp, target, force)
    except BaseException as exc:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        for p in created:  # innermost first: only folders this call created, and only if empty
            try:
                p.rmdir()
            except OSError:
                break
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write report to '{target}': {exc.strerror or exc}") from None
        raise


def write_files(out_dir: str | os.PathLike, files: Mapping[str, str | bytes], force: bool = False,
                what: str = "report") -> Path:
    """A folder of ``files`` (name -> text or bytes) at ``out_dir``, written like a report: built
    in a temporary folder carrying the marker and renamed into place (complete or absent), the
    same ``--force`` and timestamped-sibling rules. Returns the folder written."""
    target = check_writable(out_dir, what=what, force=force)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        atomic.clean_stale(parent)
        tmp = atomic.temp_folder(parent)
        for name, data in files.items():
            if isinstance(data, bytes):
                (tmp / name).write_bytes(data)
            else:
                (tmp / name).write_text(data, encoding="utf-8")
        return _move_into_place(tmp, target, force)
    except BaseException as exc:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {what} to '{target}': {exc.strerror or exc}") from None
        raise


def _move_into_place(tmp: Path, target: Path, force: bool) -> Path:
    return atomic.publish_folder(tmp, target, force, datetime.now().strftime("%Y%m%d-%H%M%S"))


__all__ = ["write_report", "write_files", "check_writable", "is_report", "TMP_PREFIX", "MARKER"]

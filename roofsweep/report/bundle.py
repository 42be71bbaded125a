"""Write a report folder atomically: all of it appears at once, or nothing does.

Everything is built in a hidden temporary sibling of the target (same filesystem), then renamed
into place. An existing report is never partly overwritten: without ``force`` the new one goes
to a timestamped sibling (``report-20250101-120000``, then ``-2``, ``-3``...); with ``force``
the old folder is renamed aside, the new one renamed in, and only then the old one deleted -
and only if the old folder is a roofsweep report (it has ``summary.json`` and ``index.html``):
``--force`` never deletes a folder roofsweep did not write. On any exception - KeyboardInterrupt
included - the temporary folder, and any parent folders created for the report, are removed;
an ``OSError`` (disk full...) becomes a one-line ``OutputError``.

Folder contents::

    index.html            self-contained page (report.html.render_html)
    figures/NAME.svg      every figure (NAME.png too with ``png=True``)
    sweep.csv             the long-form sweep DataFrame
    layers/MODEL__POINT.csv  per-layer roofline tables
    summary.json          run summary (ReportData.summary_dict) + the list of files
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

from matplotlib.figure import Figure

from roofsweep.errors import OutputError
from roofsweep.report.data import ReportData
from roofsweep.report.export import to_csv
from roofsweep.report.html import render_html, slug
from roofsweep.report.figures.render import render_figures

TMP_PREFIX = ".roofsweep-tmp-"
OLD_PREFIX = ".roofsweep-old-"


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and not p.is_symlink():
        if p.parent == p:
            break
        p = p.parent
    return p


def check_writable(out_dir: str | os.PathLike, what: str = "report", folder: bool = True,
                   force: bool = False) -> Path:
    """Fail early, with one line naming the path and the reason, if a ``what`` cannot be written
    to ``out_dir`` (a folder, or a file when ``folder`` is False); returns the absolute path.
    With ``force``, an existing non-empty folder must be a roofsweep report (it gets replaced).
    Creates nothing that outlives the check."""
    out = Path(out_dir).expanduser().absolute()
    if folder and out.exists() and not out.is_dir():
        raise OutputError(f"cannot write {what} to '{out}': it exists and is not a folder")
    if folder and force and out.is_dir() and any(out.iterdir()) and not is_report(out):
        raise OutputError(f"--force replaces only a roofsweep report; '{out}' is a folder roofsweep did not "
                          "write (choose another --out)")
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


def is_report(folder: Path) -> bool:
    """A folder roofsweep wrote (what ``--force`` may replace)."""
    return (folder / "summary.json").is_file() and (folder / "index.html").is_file()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _free_name(target: Path, now: datetime | None = None) -> Path:
    """``<target>-YYYYmmdd-HHMMSS``, or with ``-2``, ``-3``... when that exists too."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate = target.with_name(f"{target.name}-{stamp}")
    n = 2
    while candidate.exists():
        candidate = target.with_name(f"{target.name}-{stamp}-{n}")
        n += 1
    return candidate


def _unique(name: str, used: set[str]) -> str:
    out, n = name, 2
    while out.lower() in used:
        out = f"{name}-{n}"
        n += 1
    used.add(out.lower())
    return out


def _write_contents(folder: Path, report: ReportData, figures: Mapping[str, Figure], png: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Everything of the report into ``folder`` (which exists and is empty); returns the files."""
    files: list[str] = []
    fig_dir = folder / "figures"
    fig_dir.mkdir()
    embedded: dict[str, str | bytes] = dict(report.figures)
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
    if report.sweep_df is not None:
        (folder / "sweep.csv").write_text(to_csv(report.sweep_df), encoding="utf-8")
        files.append("sweep.csv")
    if report.layer_tables:
        (folder / "layers").mkdir()
        used = set()
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
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=TMP_PREFIX))
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; a report should be readable as usual
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


def _move_into_place(tmp: Path, target: Path, force: bool) -> Path:
    if target.exists() and target.is_dir() and not any(target.iterdir()):
        os.rename(tmp, target)  # POSIX rename replaces an empty folder atomically
        return target
    if not target.exists():
        try:
            os.rename(tmp, target)
            return target
        except OSError:
            if not target.exists():
                raise
            # someone created it meanwhile: fall through to the existing-target rules
    if not force:
        new = _free_name(target)
        os.rename(tmp, new)
        return new
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=OLD_PREFIX))
    os.rmdir(old)  # reserve a unique name, then move the old report onto it
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)  # put the old report back
        raise
    shutil.rmtree(old, ignore_errors=True)
    return target


__all__ = ["write_report", "check_writable", "is_report", "TMP_PREFIX"]

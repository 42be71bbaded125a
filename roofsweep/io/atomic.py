"""Atomic writes: a file or a folder appears complete, or not at all.

* ``write_file_atomic(path, data)`` - a temporary file in the same folder, flushed and synced,
  then ``os.replace``'d onto ``path`` (hardware profiles, trace-cache entries).
* ``temp_folder(parent)`` / ``publish_folder(tmp, target, force)`` - a folder built in a hidden
  sibling ``.roofsweep-tmp-<pid>-*`` and renamed into place (report folders). A folder
  roofsweep publishes carries the marker file ``MARKER``; ``--force`` replaces only such folders.
* ``clean_stale(parent)`` - run before each folder write: removes ``.roofsweep-tmp-*`` folders
  whose writing process is gone (``kill -9``), and finishes an interrupted ``--force`` replace
  (``.roofsweep-old-*``): the old report goes back if the new one never arrived, else it is
  deleted.

The replace of ``--force`` is two renames (old aside, new in). SIGINT/SIGTERM are deferred
between them, and a journal file names the target before the first rename, so a crash at any
point leaves either the old report or the new one at ``target`` after the next write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import tempfile
import threading
import time
from pathlib import Path

TMP_PREFIX = ".roofsweep-tmp-"
OLD_PREFIX = ".roofsweep-old-"
JOURNAL_SUFFIX = ".target"
#: The file that makes a folder "a report roofsweep wrote" (``--force`` may replace it).
MARKER = ".roofsweep-report"
MARKER_TEXT = "roofsweep report folder: `--force` may replace this folder as a whole\n"
_NO_PID_STALE_S = 3600.0  # temp folders of older versions (no pid in the name): stale after 1 h


def write_file_atomic(path: str | os.PathLike, data: str | bytes, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically; keeps the mode of an existing file (else 0644 less
    the umask when ``mode`` is None). Raises ``OSError``; never leaves a temporary file behind."""
    target = Path(path)
    if mode is None:
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:80]}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ------------------------------------------------------------------------------ folders
def temp_folder(parent: Path) -> Path:
    """A new, empty, hidden folder in ``parent`` named after this process, with the usual mode
    (``mkdtemp`` makes 0700) and the marker file already in it."""
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f"{TMP_PREFIX}{os.getpid()}-"))
    os.chmod(tmp, 0o777 & ~_umask())
    (tmp / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    return tmp


def is_marked(folder: Path) -> bool:
    """Whether ``folder`` carries roofsweep's marker file."""
    marker = folder / MARKER
    try:
        return marker.is_file() and not marker.is_symlink() and marker.read_text(encoding="utf-8") == MARKER_TEXT
    except (OSError, UnicodeDecodeError):
        return False


def _pid_of(name: str, prefix: str) -> int | None:
    head = name[len(prefix):].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def _stale(entry: Path, prefix: str) -> bool:
    pid = _pid_of(entry.name, prefix)
    if pid is not None:
        return not _alive(pid)
    try:
        return time.time() - entry.lstat().st_mtime > _NO_PID_STALE_S
    except OSError:
        return False


def clean_stale(parent: Path) -> list[str]:
    """Remove what interrupted writers left in ``parent``; returns the names handled. Only
    hidden ``.roofsweep-tmp-*`` / ``.roofsweep-old-*`` entries of dead processes are touched."""
    handled: list[str] = []
    try:
        entries = sorted(parent.iterdir())
    except OSError:
        return handled
    for entry in entries:
        name = entry.name
        if name.startswith(OLD_PREFIX) and name.endswith(JOURNAL_SUFFIX) and _stale(entry, OLD_PREFIX):
            _finish_replace(entry)
            handled.append(name)
        elif name.startswith(TMP_PREFIX) and entry.is_dir() and not entry.is_symlink() and _stale(entry, TMP_PREFIX):
            shutil.rmtree(entry, ignore_errors=True)
            handled.append(name)
    for entry in entries:  # an old report whose journal is gone: its replace had finished
        if entry.name.startswith(OLD_PREFIX) and entry.is_dir() and not entry.is_symlink() \
                and not entry.with_name(entry.name + JOURNAL_SUFFIX).exists() \
                and _stale(entry, OLD_PREFIX) and is_marked(entry):
            shutil.rmtree(entry, ignore_errors=True)
            handled.append(entry.name)
    return handled


def _finish_replace(journal: Path) -> None:
    """Complete the ``--force`` replace that ``journal`` describes (its writer died)."""
    old = journal.with_name(journal.name[: -len(JOURNAL_SUFFIX)])
    try:
        target = journal.parent / journal.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return
    if old.is_dir() and target.parent == journal.parent:
        if not target.exists():
            os.rename(old, target)  # the new report never arrived: the old one goes back
        else:
            shutil.rmtree(old, ignore_errors=True)  # the new one is in place
    with contextlib.suppress(OSError):
        journal.unlink()


@contextlib.contextmanager
def _signals_held():
    """Defer SIGINT/SIGTERM until the block is done, so a two-step rename is never cut between.

    Python runs signal handlers in the main thread whichever thread the OS picked, so the
    handlers are swapped for one that records the signal; afterwards the old handlers are back
    and each recorded signal is raised again. Off the main thread nothing can be swapped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not None:  # None: a handler not installed from Python
            old[sig] = signal.signal(sig, lambda signum, _frame: pending.append(signum))
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in pending:
            signal.raise_signal(sig)  # now, to the handler that was in place


def free_name(target: Path, stamp: str) -> Path:
    """``<target>-<stamp>``, or with ``-2``, ``-3``... when that exists too."""
    candidate = target.with_name(f"{target.name}-{stamp}")
    n = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = target.with_name(f"{target.name}-{stamp}-{n}")
        n += 1
    return candidate


def publish_folder(tmp: Path, target: Path, force: bool, stamp: str) -> Path:
    """Rename the finished ``tmp`` to ``target``; returns the folder written.

    An empty or missing ``target`` is simply replaced. Otherwise, without ``force`` the folder
    goes to ``free_name(target, stamp)``; with ``force`` the old folder - which must carry the
    marker (``PermissionError`` otherwise) - is renamed aside, the new one renamed in, and the
    old one deleted."""
    if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        os.rename(tmp, target)  # POSIX rename replaces an empty folder atomically
        return target
    if not target.exists() and not target.is_symlink():
        try:
            os.rename(tmp, target)
            return target
        except OSError:
            if not target.exists():
                raise
            # someone created it meanwhile: fall through to the existing-target rules
    if not force:
        new = free_name(target, stamp)
        os.rename(tmp, new)
        return new
    if not target.is_dir() or target.is_symlink() or not is_marked(target):
        raise PermissionError(13, f"'{target}' is not a folder roofsweep wrote; --force replaces only those")
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f"{OLD_PREFIX}{os.getpid()}-"))
    os.rmdir(old)  # reserve a unique name, then move the old report onto it
    journal = old.with_name(old.name + JOURNAL_SUFFIX)
    journal.write_text(target.name, encoding="utf-8")
    with _signals_held():
        os.rename(target, old)
        try:
            os.rename(tmp, target)
        except BaseException:
            os.rename(old, target)  # put the old report back
            journal.unlink()
            raise
    journal.unlink()
    shutil.rmtree(old, ignore_errors=True)
    return target

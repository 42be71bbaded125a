"""Finding hardware profiles: built-in, per-user and user-named folders.

Precedence (earlier wins when two files define the same ``name``):

1. a direct path given to ``get_profile`` - anything ending in ``.yaml``/``.yml`` or containing a
   path separator - is loaded as-is;
2. each folder in ``$ROOFSWEEP_PROFILE_PATH`` (``os.pathsep``-separated), in order;
3. the per-user folder ``platformdirs.user_config_dir("roofsweep")/hardware_profiles``
   (e.g. ``~/.config/roofsweep/hardware_profiles`` on Linux);
4. the profiles shipped with roofsweep (``roofsweep/hardware_profiles/``).

So a user overrides a shipped profile by dropping a file with the same ``name`` into their folder.
``discover()`` reports every file it looked at: which profile won, which were shadowed, and which
files are broken - a broken file never hides the good ones. Parsed folders are cached per process,
keyed on the files' names, sizes and modification times, so repeated look-ups cost a directory scan.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import platformdirs

from roofsweep.errors import ProfileError, did_you_mean, one_line
from roofsweep.hardware.loader import analyse_file, load_profile
from roofsweep.hardware.profile import HardwareProfile

ENV_VAR = "ROOFSWEEP_PROFILE_PATH"
PROFILE_SUFFIXES = (".yaml", ".yml")


class ProfileDir(NamedTuple):
    origin: str  # "env" | "user" | "builtin"
    path: Path


@dataclass(frozen=True)
class ProfileEntry:
    """One profile file that loaded. ``shadowed_by`` is the file that won, or None if this one did."""

    profile: HardwareProfile
    origin: str  # "env" | "user" | "builtin"
    path: Path
    shadowed_by: Path | None = None

    @property
    def active(self) -> bool:
        return self.shadowed_by is None


@dataclass(frozen=True)
class BrokenFile:
    """A profile file that did not load; ``problems`` are ``"<file>: <field>: <reason>"`` lines."""

    path: Path
    origin: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Discovery:
    dirs: tuple[ProfileDir, ...]  # searched, in precedence order (some may not exist)
    entries: tuple[ProfileEntry, ...]  # every file that loaded, precedence order, shadowed included
    broken: tuple[BrokenFile, ...]  # files that did not load
    problems: tuple[str, ...]  # every problem line (broken files, duplicates, missing env folders)

    @property
    def profiles(self) -> list[HardwareProfile]:
        """The winning profile for each name, sorted by name."""
        return sorted((e.profile for e in self.entries if e.active), key=lambda p: p.name)

    @property
    def shadowed(self) -> list[ProfileEntry]:
        return [e for e in self.entries if not e.active]

    def names(self) -> list[str]:
        return [p.name for p in self.profiles]

    def skipped_notes(self) -> list[str]:
        """One line per broken file, saying it was skipped and - when its file name is the name
        of a profile that did load from a later folder - which profile is used in its place."""
        winners = {e.profile.name: e for e in self.entries if e.active}
        notes = []
        for bad in self.broken:
            instead = winners.get(bad.path.stem)
            what = (f"the {instead.origin} profile '{instead.profile.name}' ({instead.path}) is used instead"
                    if instead is not None else "no profile of that name is used")
            notes.append(one_line(f"{bad.path}: skipped, it does not load ({_reason(bad)}); {what}"))
        return notes


# ------------------------------------------------------------------------------ folders
def builtin_profile_dir() -> Path:
    """The profiles shipped with roofsweep (package data ``roofsweep/hardware_profiles``)."""
    import importlib.resources  # deferred: costs ~15 ms to import, needed once per process

    return Path(os.fspath(importlib.resources.files("roofsweep") / "hardware_profiles"))


def user_profile_dir() -> Path:
    """The per-user profile folder (need not exist)."""
    return Path(platformdirs.user_config_dir("roofsweep")) / "hardware_profiles"


def profile_dirs() -> list[ProfileDir]:
    """Folders searched for ``NAME``, highest precedence first. Read from the environment on every
    call, so changing ``$ROOFSWEEP_PROFILE_PATH`` takes effect immediately."""
    dirs = [
        ProfileDir("env", Path(part).expanduser())
        for part in os.environ.get(ENV_VAR, "").split(os.pathsep)
        if part.strip()
    ]
    dirs.append(ProfileDir("user", user_profile_dir()))
    dirs.append(ProfileDir("builtin", builtin_profile_dir()))
    return dirs


def _profile_files(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """(file name, mtime_ns, size) of the candidate files, sorted - the cache key of a folder."""
    out = []
    with os.scandir(folder) as it:
        for entry in it:
            if entry.name.startswith(".") or not entry.name.endswith(PROFILE_SUFFIXES):
                continue
            try:
                if not entry.is_file():
                    continue
                st = entry.stat()
            except OSError:
                continue
            out.append((entry.name, st.st_mtime_ns, st.st_size))
    return tuple(sorted(out))


@functools.lru_cache(maxsize=64)
def _load_folder(
    folder: str, signature: tuple[tuple[str, int, int], ...]
) -> tuple[tuple[tuple[HardwareProfile, Path], ...], tuple[tuple[Path, tuple[str, ...]], ...]]:
    """Parse every file in ``folder``; ``signature`` only keys the cache. Returns
    ((profile, file) for the good ones, (file, problems) for the broken ones)."""
    good: list[tuple[HardwareProfile, Path]] = []
    bad: list[tuple[Path, tuple[str, ...]]] = []
    seen: dict[str, Path] = {}
    for name, _mtime, _size in signature:
        file = Path(folder) / name
        profile, problems = analyse_file(file)
        if profile is None:
            bad.append((file, tuple(problems)))
        elif profile.name in seen:
            bad.append((file, (f"{file}: name: '{profile.name}' is already defined by "
                               f"{seen[profile.name]} in the same folder; this file is ignored",)))
        else:
            seen[profile.name] = file
            good.append((profile, file))
    return tuple(good), tuple(bad)


def clear_cache() -> None:
    """Forget parsed folders (they are re-read anyway when a file changes)."""
    _load_folder.cache_clear()


# ------------------------------------------------------------------------------ discovery
def discover() -> Discovery:
    """Load every profile in every folder of ``profile_dirs()``; never raises for bad files."""
    dirs = profile_dirs()
    entries: list[ProfileEntry] = []
    broken: list[BrokenFile] = []
    problems: list[str] = []
    winners: dict[str, Path] = {}
    for d in dirs:
        if not d.path.is_dir():
            if d.origin == "env":
                problems.append(f"{d.path}: folder: not found (listed in ${ENV_VAR})")
            elif d.origin == "builtin":
                problems.append(f"{d.path}: folder: shipped profiles not found (broken install?)")
            continue
        try:
            signature = _profile_files(d.path)
        except OSError as exc:
            problems.append(f"{d.path}: folder: cannot be read ({exc.strerror or exc})")
            continue
        good, bad = _load_folder(str(d.path), signature)
        for file, file_problems in bad:
            broken.append(BrokenFile(file, d.origin, file_problems))
            problems.extend(file_problems)
        for profile, file in good:
            winner = winners.get(profile.name)
            if winner is None:
                winners[profile.name] = file
            entries.append(ProfileEntry(profile, d.origin, file, shadowed_by=winner))
    return Discovery(tuple(dirs), tuple(entries), tuple(broken), tuple(problems))


def _reason(bad: BrokenFile) -> str:
    first = bad.problems[0] if bad.problems else "unreadable"
    prefix = f"{bad.path}: "
    first = first[len(prefix):] if first.startswith(prefix) else first
    return first[:160] + ("..." if len(first) > 160 else "")


def skipped_profile_notes() -> list[str]:
    """``discover().skipped_notes()``: what an all-profile sweep must say about broken files."""
    return discover().skipped_notes()


def list_profiles() -> list[HardwareProfile]:
    """The winning profile for every name, sorted by name; broken files are skipped (see
    ``discover().problems``)."""
    return discover().profiles


def _looks_like_path(spec: str) -> bool:
    seps = [os.sep] + ([os.altsep] if os.altsep else [])
    return spec.lower().endswith(PROFILE_SUFFIXES) or any(s in spec for s in seps)


def get_profile(name_or_path: str | os.PathLike) -> HardwareProfile:
    """A profile by registry name, or from a file when given a path (``*.yaml``/``*.yml`` or
    anything with a path separator). Unknown names raise ``ProfileError`` listing the choices.

    A broken file that would override the name (same file stem, higher precedence than the file
    that would otherwise win) is an error rather than a silent fall-back to the shipped profile.
    """
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(str(name_or_path)):
        return load_profile(name_or_path)
    name = str(name_or_path)
    found = discover()
    rank = {d.path: i for i, d in reversed(list(enumerate(found.dirs)))}
    by_name = {e.profile.name: e for e in found.entries if e.active}
    entry = by_name.get(name) or by_name.get(name.lower())
    winner_rank = rank.get(entry.path.parent, len(found.dirs)) if entry else len(found.dirs)
    for bad in found.broken:
        if Path(bad.path).stem in (name, name.lower()) and rank.get(bad.path.parent, 99) < winner_rank:
            raise ProfileError(
                f"{bad.problems[0]} (this file would provide hardware profile '{name}'; fix or "
                "remove it)"
            )
    if entry is not None:
        return entry.profile
    msg = did_you_mean(name, by_name, "hardware profile")
    if found.broken:
        msg += (f". Note: {len(found.broken)} profile file(s) could not be read; "
                "run `roofsweep hardware list` to see why")
    raise ProfileError(msg)

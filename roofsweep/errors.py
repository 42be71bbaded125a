"""Domain exceptions.

Every error a user can cause (a bad name, file, number or path) is a ``RoofsweepError`` whose
message is one actionable line: what is wrong, where, and the valid choices when there are any.
The CLI turns these into ``error: <message>`` on stderr and exit code 1, never a traceback.
``assert`` is kept for internal invariants only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


class RoofsweepError(Exception):
    """Base class of all user-facing errors."""


class UnknownModelError(RoofsweepError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ModelBuildError(RoofsweepError):
    """A model spec resolved but could not be built or traced (bad width, resolution, callable)."""


class ProfileError(RoofsweepError):
    """A hardware profile is malformed, inconsistent or not found."""


class ConfigError(RoofsweepError):
    """An experiment config or a command-line value is invalid."""


class OutputError(RoofsweepError):
    """An output location cannot be written."""


class MeasurementError(RoofsweepError):
    """A measurement or validation cannot be carried out."""


#: Longest value echoed in a message (characters of the value before quoting).
MAX_SHOWN_CHARS = 60
#: Longest message the CLI prints (a safety net; messages are built shorter than this).
MAX_MESSAGE_CHARS = 400
_VALID_LIST_CHARS = 200  # "Valid: a, b, c" is cut after this many characters


def quote(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """A value as a message shows it: ``repr``-style (so ``\n``, ``\r``, ESC, U+2028 appear
    escaped, never raw) and cut to about ``limit`` characters.

    >>> quote("gpu\r")
    "'gpu\\r'"
    >>> quote("x" * 100, limit=5)
    "'xxxxx'... (100 characters)"
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a {len(str(abs(value)))}-digit integer"
    text = repr(value)
    return text if len(text) <= limit + 2 else text[:limit] + "..."


_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``message`` with every control or line-breaking character escaped, cut to ``limit``."""
    text = _BREAKS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(message))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def did_you_mean(name: str, choices: Iterable[str], what: str) -> str:
    """``unknown <what> 'x'; did you mean 'y'? Valid: a, b, c`` - one line; ``name`` quoted with
    ``quote`` (so a stray ``\r`` shows), the list of choices cut when long."""
    choices = sorted(choices)
    folded = {c.lower(): c for c in choices}
    probe = str(name)[:200].strip().lower()
    close = difflib.get_close_matches(probe, list(folded), n=1, cutoff=0.5)
    hint = f"; did you mean '{folded[close[0]]}'?" if close else "."
    listed = ", ".join(choices)
    if len(listed) > _VALID_LIST_CHARS:
        cut = listed[:_VALID_LIST_CHARS].rsplit(", ", 1)[0]
        listed = f"{cut}, ... ({len(choices) - cut.count(', ') - 1} more)"
    return f"unknown {what} {quote(str(name))}{hint} Valid: {listed}"

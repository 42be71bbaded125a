"""Domain exceptions.

Every error a user can cause (a bad name, file, number or path) is a ``RoofsweepError`` whose
message is one actionable line: what is wrong, where, and the valid choices when there are any.
The CLI turns these into ``error: <message>`` on stderr and exit code 1, never a traceback.
``assert`` is kept for internal invariants only.
"""

from __future__ import annotations

import difflib
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


def did_you_mean(name: str, choices: Iterable[str], what: str) -> str:
    """``unknown <what> 'x'; did you mean 'y'? valid: a, b, c`` - one line."""
    choices = sorted(choices)
    folded = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(folded), n=1, cutoff=0.5)
    hint = f"; did you mean '{folded[close[0]]}'?" if close else "."
    return f"unknown {what} '{name}'{hint} Valid: {', '.join(choices)}"

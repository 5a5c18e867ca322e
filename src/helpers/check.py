"""Claim checks and exercise feedback: a claim in the prose is a claim CI evaluates.

``claim(text, condition)`` prints one stable line (the same on every machine, so nbval
can compare it) and raises :class:`ClaimError` when the condition is false. The numbers
behind a claim are printed separately, rounded, in cells nbval does not compare.
With ``$COURSE_CLAIM_LOG`` set, each claim also records how far it was from failing
(``helpers.margins``).
"""

from __future__ import annotations

import inspect
import os
import sys

import numpy as np

from helpers import margins

__all__ = ["ClaimError", "claim", "exercise"]


class ClaimError(AssertionError):
    """A claim the course makes did not hold in this run."""


def _as_bool(name: str, condition: object) -> bool:
    if isinstance(condition, (bool, np.bool_)):
        return bool(condition)
    if (
        isinstance(condition, np.ndarray)
        and condition.shape == ()
        and condition.dtype == bool
    ):
        return bool(condition)
    raise TypeError(
        f"{name} must be a single True/False (e.g. a comparison of two numbers), "
        f"got {type(condition).__name__}; reduce arrays with .all() or .any()"
    )


def claim(text: str, condition: object) -> None:
    """Check a claim of the course; print ``CLAIM HOLDS: text`` or raise.

    Args:
        text: the claim in words, as the prose states it.
        condition: a bool (or numpy bool) computed by the notebook.

    Raises:
        ClaimError: if ``condition`` is False.
        TypeError: if ``condition`` is not a single bool (an array is ambiguous).

    >>> claim("attention beats the average", 0.97 > 0.91)
    CLAIM HOLDS: attention beats the average
    >>> claim("the average beats attention", 0.91 > 0.97)
    Traceback (most recent call last):
    ...
    helpers.check.ClaimError: CLAIM FAILED: the average beats attention
    """
    if not isinstance(text, str) or not text.strip():
        raise TypeError("text must be a non-empty string stating the claim")
    holds = _as_bool("condition", condition)
    if os.environ.get(margins.LOG):  # a maintainer asked how close each claim came
        try:
            margins.record(text, holds, inspect.currentframe().f_back)
        except Exception as error:  # noqa: BLE001 - the record never decides a claim
            print(f"(no margin recorded: {type(error).__name__}: {error})", file=sys.stderr)
    if not holds:
        raise ClaimError(f"CLAIM FAILED: {text}")
    print(f"CLAIM HOLDS: {text}")


def exercise(name: str, correct: object, hint: str) -> None:
    """Feedback for an exercise: print ``name: correct.`` or the ``hint``; never raise.

    An unanswered exercise (``correct`` False) is not an error: the notebook runs on.

    >>> exercise("Exercise 1", 3 * 4 == 12, "multiply")
    Exercise 1: correct.
    >>> exercise("Exercise 2", False, "look at the bird's edges")
    Exercise 2: not yet. Hint: look at the bird's edges
    """
    ok = _as_bool("correct", correct)
    print(f"{name}: correct." if ok else f"{name}: not yet. Hint: {hint}")

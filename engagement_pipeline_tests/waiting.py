"""Waiting for something to happen in a test: poll the condition, never sleep a fixed time.

A fixed sleep is either too short on a busy machine (a flaky test) or too long on a quiet one (a slow suite);
polling returns as soon as the condition holds and fails with a message saying what never happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, *, interval: float = 0.05,
               what: str = "the condition", ignore: tuple[type[BaseException], ...] = ()) -> T:
    """Calls `condition` until it returns something truthy and returns that; raises AssertionError after
    `timeout` seconds. Exceptions of the `ignore` types count as "not yet" (a server still starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except ignore:
            value = None  # type: ignore[assignment]
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)

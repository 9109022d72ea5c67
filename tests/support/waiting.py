"""Wait for a condition by polling it, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable

#: Seconds after which a command that should fail at once (a broker down, a wrong password) is taken to hang: alone
#: it takes 1-3 s, in a full parallel run on 2 cores up to about 10 s, and it took 21 s and more before fgrid set
#: its connect timeouts.
HANG = 15


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll ``predicate`` until it is true; return the seconds it took. Raise AssertionError after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - start

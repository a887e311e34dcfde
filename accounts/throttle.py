"""Sign-in throttling: back-off per source and username, reserved before the password is checked.

Every sign-in first *reserves* an attempt (:meth:`SignInThrottle.reserve`), atomically: the
attempt counts as a failure from that moment, so twelve tabs submitting at once cannot all be
checked while the count still reads zero. A correct password then clears the reservation
(:meth:`SignInThrottle.succeeded`) and the failures of that source and username.

Failures are counted per key, where the keys of an attempt are

- ``(source, username)``: a few free tries, then a wait that doubles with every further failure
  (1 s, 2 s, 4 s, ... up to ``max_wait_s``);
- ``source``: the same with a larger free allowance, against one source trying many usernames;
- ``username`` from every source: a much larger allowance, against a distributed guesser.

An attacker at one address therefore slows down their own attempts, not the account owner's at
another address (the old hard lock of a username let anyone keep its owner out); only a guesser
spread over many addresses reaches the per-username back-off, which stays short.

    >>> throttle = SignInThrottle()
    >>> attempt = throttle.reserve("10.0.0.7", "ana")
    >>> attempt.allowed
    True
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limit:
    """``free`` failures within ``window_s`` cost nothing; each one after that doubles the wait,
    starting at ``base_wait_s`` and capped at ``max_wait_s``."""

    free: int
    window_s: float = 900.0
    base_wait_s: float = 1.0
    max_wait_s: float = 300.0

    def wait(self, failures: int) -> float:
        over = failures - self.free
        if over < 0:
            return 0.0
        return min(self.max_wait_s, self.base_wait_s * 2.0**over)


PER_SOURCE_AND_USER = Limit(free=5)
PER_SOURCE = Limit(free=20)
PER_USER = Limit(free=50, max_wait_s=30.0)


@dataclass(frozen=True)
class Attempt:
    """A reserved sign-in attempt, or the wait before one is allowed."""

    allowed: bool
    wait_s: float
    keys: tuple[tuple[str, ...], ...] = ()
    stamp: float = 0.0


@dataclass
class SignInThrottle:
    """Failure counts per key, shared by every browser session of one app process."""

    limits: dict[str, Limit] = field(
        default_factory=lambda: {
            "source+user": PER_SOURCE_AND_USER,
            "source": PER_SOURCE,
            "user": PER_USER,
        }  # fmt: skip
    )
    clock: Callable[[], float] = time.monotonic
    _failures: dict[tuple[str, ...], list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _keys(self, source: str, username: str) -> dict[tuple[str, ...], Limit]:
        user = username.strip().lower()
        return {("source+user", source, user): self.limits["source+user"],
                ("source", source): self.limits["source"],
                ("user", user): self.limits["user"]}  # fmt: skip

    def _recent(self, key: tuple[str, ...], limit: Limit, now: float) -> list[float]:
        recent = [t for t in self._failures.get(key, []) if now - t < limit.window_s]
        self._failures[key] = recent
        return recent

    def reserve(self, source: str, username: str) -> Attempt:
        """Reserve an attempt (counted as a failure until :meth:`succeeded`), or say how long
        to wait: the longest wait any of its keys asks for since that key's last failure."""
        now = self.clock()
        keys = self._keys(source, username)
        with self._lock:
            wait = 0.0
            for key, limit in keys.items():
                recent = self._recent(key, limit, now)
                if recent:
                    wait = max(wait, recent[-1] + limit.wait(len(recent)) - now)
            if wait > 0:
                return Attempt(False, wait)
            for key in keys:
                self._failures.setdefault(key, []).append(now)
            return Attempt(True, 0.0, tuple(keys), now)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: drop the reservation and the failures of this source and
        username (the per-source and per-username counts keep other failures)."""
        with self._lock:
            for key in attempt.keys:
                stamps = self._failures.get(key, [])
                if key[0] == "source+user":
                    self._failures.pop(key, None)
                elif attempt.stamp in stamps:
                    stamps.remove(attempt.stamp)

"""Sign-in throttling: attempts are reserved before the password is checked, so concurrent tries
cannot pass the limit; back-off is per source and username, so one attacker cannot keep the
account's owner out."""

from __future__ import annotations

import threading

import pytest

from accounts.throttle import SignInThrottle

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_twelve_simultaneous_wrong_passwords_get_five_checks():
    throttle = SignInThrottle()
    start, allowed, lock = threading.Barrier(12), [], threading.Lock()

    def tab() -> None:
        start.wait()
        attempt = throttle.reserve("10.0.0.9", "admin")
        with lock:
            allowed.append(attempt.allowed)

    threads = [threading.Thread(target=tab) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 5


def test_back_off_doubles_and_the_owner_elsewhere_is_not_locked_out():
    clock = Clock()
    throttle = SignInThrottle(clock=clock)
    for _ in range(5):
        assert throttle.reserve("attacker", "admin").allowed
    waits = []
    for _ in range(4):
        refused = throttle.reserve("attacker", "admin")
        assert not refused.allowed
        waits.append(round(refused.wait_s))
        clock.now += refused.wait_s
        assert throttle.reserve("attacker", "admin").allowed
    assert waits == [1, 2, 4, 8]
    owner = throttle.reserve("office", "ADMIN ")  # same account, another address
    assert owner.allowed
    throttle.succeeded(owner)
    assert throttle.reserve("office", "admin").allowed


def test_a_right_password_clears_that_source_and_user_only():
    clock = Clock()
    throttle = SignInThrottle(clock=clock)
    for _ in range(4):
        throttle.reserve("home", "ana")
    ok = throttle.reserve("home", "ana")
    throttle.succeeded(ok)
    for _ in range(5):
        assert throttle.reserve("home", "ana").allowed  # the count started again
    assert not throttle.reserve("home", "ana").allowed


def test_one_source_trying_many_usernames_is_slowed_down():
    throttle = SignInThrottle(clock=Clock())
    results = [throttle.reserve("scanner", f"user{i}").allowed for i in range(25)]
    assert results[:20] == [True] * 20 and not any(results[20:])


def test_failures_expire_after_the_window():
    clock = Clock()
    throttle = SignInThrottle(clock=clock)
    for _ in range(5):
        throttle.reserve("a", "b")
    assert not throttle.reserve("a", "b").allowed
    clock.now += 901
    assert throttle.reserve("a", "b").allowed

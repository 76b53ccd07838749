"""Fault injection for the sandbox: which API requests to answer 429 or 503, drop, or delay."""

from __future__ import annotations

import enum
import math
import random
import threading
from dataclasses import dataclass


class Fault(enum.Enum):
    NONE = "none"
    RATE_LIMIT = "rate_limit"
    UNAVAILABLE = "unavailable"
    DISCONNECT = "disconnect"
    DELAY = "delay"


@dataclass(frozen=True)
class Faults:
    """Fractions (0 to 1, summing to at most 1) of API requests (the status endpoint, before
    auth; never the sandbox's own /_sandbox/ paths) that misbehave.

    rate_limit: answered 429 with `Retry-After: retry_after_s` (whole seconds, as HTTP has it).
    unavailable: answered 503. disconnect: the connection is closed without an answer.
    delayed: answered normally after `delay_s` seconds. Each request draws one fault, in the
    order requests arrive, from a generator seeded with `seed`: a seed gives a repeatable
    sequence (None: different every time).
    """

    rate_limit: float = 0.0
    unavailable: float = 0.0
    disconnect: float = 0.0
    delayed: float = 0.0
    retry_after_s: int = 1
    delay_s: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        shares = self._shares()
        if any(not 0.0 <= share <= 1.0 for _, share in shares):
            raise ValueError("fault fractions must be between 0 and 1")
        if math.fsum(share for _, share in shares) > 1.0:
            raise ValueError("fault fractions must add up to at most 1")
        if isinstance(self.retry_after_s, bool) or not isinstance(self.retry_after_s, int):
            raise ValueError("retry_after_s must be a whole number of seconds")
        if self.retry_after_s < 0:
            raise ValueError("retry_after_s must be >= 0")
        if not (math.isfinite(self.delay_s) and self.delay_s >= 0):
            raise ValueError("delay_s must be a finite number of seconds >= 0")

    def _shares(self) -> tuple[tuple[Fault, float], ...]:
        return (
            (Fault.RATE_LIMIT, self.rate_limit),
            (Fault.UNAVAILABLE, self.unavailable),
            (Fault.DISCONNECT, self.disconnect),
            (Fault.DELAY, self.delayed),
        )

    def pick(self, draw: float) -> Fault:
        """The fault for a uniform `draw` in [0, 1)."""
        threshold = 0.0
        for fault, share in self._shares():
            threshold += share
            if draw < threshold:
                return fault
        return Fault.NONE


class FaultPicker:
    """Draws each request's fault under a lock, so a seed gives one sequence however many
    threads serve requests. Setting `faults` restarts the sequence from its seed."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self.faults = faults

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._random = random.Random(faults.seed)

    def draw(self) -> tuple[Fault, Faults]:
        """The next request's fault, with the settings it was drawn under."""
        with self._lock:
            return self._faults.pick(self._random.random()), self._faults

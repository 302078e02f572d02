"""The time the Redis stores count windows by: the wall clock, or a test's."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]  # seconds since the epoch
WALL: Clock = time.time

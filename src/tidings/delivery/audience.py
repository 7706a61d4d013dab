"""A broadcast's audience: which devices of a platform it goes to, by whether a user is bound to
them and since when. Acceptance stores it with the task (push/broadcast.py reads it from the
call); delivery resolves it a batch of devices at a time when the push is due.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from tidings.instants import DAY_MS


@dataclass(frozen=True, slots=True)
class Window:
    """When a binding (or unbinding) must have happened: within ``days`` before the push's time,
    or between two instants; neither means any time."""

    days: int | None = None
    since: int | None = None
    until: int | None = None

    def bounds(self, at_ms: int) -> tuple[int | None, int | None]:
        """The window as instants, for a push due at ``at_ms``."""
        if self.days is not None:
            return at_ms - self.days * DAY_MS, None
        return self.since, self.until


@dataclass(frozen=True, slots=True)
class Audience:
    """The devices a broadcast goes to: of one platform, bound ones in ``bound``'s window and
    unbound ones in ``unbound``'s (None: that side is left out)."""

    platform: str
    bound: Window | None
    unbound: Window | None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Audience:
        raw = json.loads(text)
        return cls(
            raw["platform"],
            Window(**raw["bound"]) if raw["bound"] is not None else None,
            Window(**raw["unbound"]) if raw["unbound"] is not None else None,
        )

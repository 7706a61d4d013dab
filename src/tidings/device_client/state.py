"""What a device keeps between runs: its credentials and the deliveries it has already seen.

The file holds the device secret, so it is written with mode 0600, and always whole (written
aside, then renamed over the old one), so a crash mid-write leaves the previous state.

Only recent delivery ids are kept: the server resends a delivery only until it has recorded the
device's ack, so a duplicate can only be one of the last few the device acknowledged.
"""

from __future__ import annotations

import collections
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

SEEN_WINDOW = 1024


@dataclass
class DeviceState:
    delivery_token: str | None = None
    secret: str | None = None
    seen: collections.deque[int] = field(
        default_factory=lambda: collections.deque(maxlen=SEEN_WINDOW)
    )

    def __post_init__(self) -> None:
        self._seen_set = set(self.seen)

    def has_seen(self, delivery_id: int) -> bool:
        return delivery_id in self._seen_set

    def remember(self, delivery_id: int) -> None:
        if len(self.seen) == self.seen.maxlen:
            self._seen_set.discard(self.seen[0])
        self.seen.append(delivery_id)
        self._seen_set.add(delivery_id)

    @classmethod
    def load(cls, path: Path | None) -> DeviceState:
        if path is None or not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls(
            data.get("deliveryToken"),
            data.get("secret"),
            collections.deque(data.get("seen", []), maxlen=SEEN_WINDOW),
        )

    def save(self, path: Path | None) -> None:
        if path is None:
            return
        text = json.dumps(
            {"deliveryToken": self.delivery_token, "secret": self.secret, "seen": list(self.seen)}
        )
        aside = path.with_name(path.name + ".tmp")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(aside, path)

"""How long finished work is kept, as pure arithmetic over settings and a clock reading.

``day_ms`` is a day's length: a real day in service, shorter in the soak bench, which runs
several retention periods in minutes. Expiry and revocation keep their real clocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.config import Settings


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    days: int  # finished tasks: messages, deliveries, their events
    analytics_days: int  # analytics counters
    day_ms: int = 86_400_000

    @classmethod
    def of(cls, settings: Settings) -> RetentionPolicy:
        return cls(
            settings.retention_days,
            settings.analytics_retention_days,
            settings.retention_day_seconds * 1000,
        )

    def work_due_before(self, now_ms: int) -> int:
        """Finished tasks due before this instant are pruned."""
        return now_ms - self.days * self.day_ms

    def counters_before(self, now_ms: int) -> int:
        """Counter rows of quarter hours that began before this instant are pruned."""
        return now_ms - self.analytics_days * self.day_ms

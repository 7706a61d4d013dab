"""Retention settings may not go below what a feature needs, and say which setting and why."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tidings.config import Settings
from tidings.retention.policy import RetentionPolicy


@pytest.mark.parametrize(
    ("setting", "least", "feature"),
    [("retention_days", 7, "revocation"), ("analytics_retention_days", 90, "analytics queries")],
)
def test_a_retention_below_what_a_feature_needs_is_refused(
    setting: str, least: int, feature: str
) -> None:
    Settings(**{setting: least})
    with pytest.raises(ValidationError) as refused:
        Settings(**{setting: least - 1})
    said = str(refused.value)
    assert setting in said
    assert f"at least {least} days" in said
    assert feature in said


def test_the_environment_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDINGS_RETENTION_DAYS", "3")
    with pytest.raises(ValidationError, match="retention_days"):
        Settings()


def test_the_policy_counts_days_of_its_own_length() -> None:
    policy = RetentionPolicy.of(
        Settings(retention_days=7, analytics_retention_days=90, retention_day_seconds=10)
    )
    assert policy.work_due_before(1_000_000) == 1_000_000 - 70_000
    assert policy.counters_before(1_000_000) == 1_000_000 - 900_000
    assert RetentionPolicy.of(Settings()) == RetentionPolicy(30, 400, 86_400_000)

"""What tenancy hands to the rest of the service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Row

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class App:
    """One mPaaS app instance: an AppId within a workspace."""

    pk: int
    workspace: str
    app_id: str
    tenant_id: str | None
    timezone: str
    created_at: int

    @classmethod
    def from_row(cls, row: Row) -> App:
        """From a row holding the fields' columns by name (store/tenancy.py's app queries)."""
        return cls(**row._mapping)


@dataclass(frozen=True, slots=True)
class AccessKey:
    """An AccessKey's grant; its secret is kept apart and never printed."""

    pk: int
    access_key_id: str
    workspace: str
    app_ids: frozenset[str]  # empty: every app of the workspace
    read_only: bool
    active: bool
    created_at: int

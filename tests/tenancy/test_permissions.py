"""Which calls an AccessKey may make: its workspace, its apps, read-only or full access."""

from __future__ import annotations

import pytest

from tidings.tenancy.models import AccessKey
from tidings.tenancy.permissions import denial


def key(*, apps: tuple[str, ...] = (), read_only: bool = False) -> AccessKey:
    return AccessKey(
        pk=1,
        access_key_id="TIDKEY",
        workspace="default",
        app_ids=frozenset(apps),
        read_only=read_only,
        active=True,
        created_at=0,
    )


@pytest.mark.parametrize(
    ("grant", "workspace", "app_id", "writes", "reason"),
    [
        (key(), "default", "APP1", True, None),
        (key(), "default", "APP9", False, None),
        (key(), None, None, True, None),  # the action itself then asks for AppId and WorkspaceId
        (key(read_only=True), "default", "APP1", False, None),
        (key(read_only=True), "default", "APP1", True, "AccessKey TIDKEY is read-only"),
        (key(), "other", "APP1", False, "AccessKey TIDKEY is not valid for workspace 'other'"),
        (key(), "", "APP1", False, "AccessKey TIDKEY is not valid for workspace ''"),
        (key(apps=("APP1", "APP2")), "default", "APP2", True, None),
        (
            key(apps=("APP1",)),
            "default",
            "APP2",
            False,
            "AccessKey TIDKEY is not valid for app 'APP2'",
        ),
        (key(apps=("APP1",), read_only=True), "other", "APP2", True, "read-only"),
        (key(apps=("APP1",)), "other", "APP1", False, "workspace 'other'"),
    ],
)
def test_denial(
    grant: AccessKey, workspace: str | None, app_id: str | None, writes: bool, reason: str | None
) -> None:
    found = denial(grant, workspace=workspace, app_id=app_id, writes=writes)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found

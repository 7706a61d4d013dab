"""Whether an AccessKey may make a call: pure, so every rule has a table test."""

from __future__ import annotations

from tidings.tenancy.models import AccessKey


def denial(
    key: AccessKey, *, workspace: str | None, app_id: str | None, writes: bool
) -> str | None:
    """Why ``key`` may not make this call, or None when it may."""
    if writes and key.read_only:
        return f"AccessKey {key.access_key_id} is read-only"
    if workspace is not None and workspace != key.workspace:
        return f"AccessKey {key.access_key_id} is not valid for workspace {workspace!r}"
    if app_id is not None and key.app_ids and app_id not in key.app_ids:
        return f"AccessKey {key.access_key_id} is not valid for app {app_id!r}"
    return None

"""A signed call captured on the wire cannot be replayed after the server restarts.

The attack: capture a signed PushBind, let the app unbind the device, restart the server, and
send the captured call again within its 15 minutes. Nonces kept only in memory (as SQLite kept
them) forgot the call on restart and the user was bound again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import BACKENDS
from tests.support import stored
from tests.support.raw import RawClient, gateway_error
from tests.support.servers import running_server
from tidings.store.tables import devices

WORKSPACE = "replayws"
APP_ID = "ONEXREPLAY000001"


def _bound_user(server, token: str) -> str | None:
    with stored.connection(server) as conn:
        return conn.execute(select(devices.c.user_id).where(devices.c.token == token)).scalar()


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_captured_push_bind_is_refused_after_unbind_and_restart(
    kind: str, tmp_path: Path
) -> None:
    with running_server(kind, tmp_path) as server:
        server.create_app(WORKSPACE, APP_ID)
        raw = RawClient(server, server.create_key(WORKSPACE))

        async def register(services):
            app = await services.tenancy.resolve_app(WORKSPACE, APP_ID, None)
            device, _ = await services.devices.register(app.pk, "android")
            return device.token

        token = server.admin(register)
        params = {"AppId": APP_ID, "WorkspaceId": WORKSPACE, "DeliveryToken": token}
        captured = raw.acs3_call("PushBind", {**params, "OsType": "1", "UserId": "victim"})
        assert raw.send(captured).json()["ResultCode"] == "OK"
        assert raw.acs3("PushUnBind", {**params, "UserId": "victim"}).json()["ResultCode"] == "OK"
        assert _bound_user(server, token) is None

        server.stop()
        server.start()

        gateway_error(raw.send(captured), 400, "SignatureNonceUsed")
        assert _bound_user(server, token) is None

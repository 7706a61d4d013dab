"""A tenant ready to push on the module's server: an app, a full-access key, the seed's template."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from alibabacloud_mpaas20201028 import models
from aliyunsdkmpaas.request.v20190821 import PushMultipleRequest

from tests.support.clients import new_sdk, old_request
from tests.support.raw import RawClient
from tests.support.servers import Server

WORKSPACE = "pushws"
APP_ID = "ONEXPUSH00000001"
TEMPLATE = "Test template"
CONTENT = "Hello #name#, congratulations on winning #money# yuan"


def msg_key() -> str:
    """A msgKey no other call of the session uses (msgKeys are unique per app)."""
    return uuid.uuid4().hex


def target(
    who: str, key: str | None = None, extended: str | None = None, **values: Any
) -> models.PushMultipleRequestTargetMsg:
    """One TargetMsg filling the seed's template (``values`` override ``name`` and ``money``;
    None leaves a placeholder out)."""
    filled = {"name": "Zhang San", "money": "200", **values}
    return models.PushMultipleRequestTargetMsg(
        target=who,
        msg_key=key or msg_key(),
        template_key_value=json.dumps({k: v for k, v in filled.items() if v is not None}),
        extended_params=extended,
    )


@dataclass
class Tenant:
    server: Server
    key: tuple[str, str]
    workspace: str = WORKSPACE
    app_id: str = APP_ID
    template: str = TEMPLATE

    def sdk(self, mode: str = "acs3"):
        return new_sdk(self.server, self.key, mode=mode)

    def raw(self) -> RawClient:
        return RawClient(self.server, self.key)

    def multiple(self, **fields: Any) -> models.PushMultipleRequest:
        """The seed's PushMultiple call (one target), with ``fields`` changed."""
        call: dict[str, Any] = {
            "app_id": self.app_id,
            "workspace_id": self.workspace,
            "delivery_type": 3,
            "task_name": "Multiple test",
            "template_name": self.template,
            "expired_seconds": 600,
            "target_msg": [target("userid1024")],
        }
        call.update(fields)
        return models.PushMultipleRequest(**call)

    def old_multiple(self, targets: list[dict[str, Any]]):
        """The seed's Python example (the 2019-08-21 SDK) with ``targets``, aimed at the server."""
        request = old_request(PushMultipleRequest.PushMultipleRequest(), self.server)
        request.set_AppId(self.app_id)
        request.set_WorkspaceId(self.workspace)
        request.set_TemplateName(self.template)
        request.set_DeliveryType(3)
        request.set_TaskName("python test task")
        request.set_ExpiredSeconds(600)
        request.set_TargetMsgs(targets)
        return request

    def multiple_params(self, **params: Any) -> dict[str, Any]:
        """The same call in wire names, for raw requests (``signer.flatten`` spreads lists)."""
        call: dict[str, Any] = {
            "AppId": self.app_id,
            "WorkspaceId": self.workspace,
            "DeliveryType": "3",
            "TaskName": "Multiple test",
            "TemplateName": self.template,
            "ExpiredSeconds": "600",
            "TargetMsg": [
                {
                    "Target": "userid1024",
                    "MsgKey": msg_key(),
                    "TemplateKeyValue": '{"name":"Zhang San","money":"200"}',
                }
            ],
        }
        call.update(params)
        return call


@pytest.fixture(scope="module")
def tenant(server: Server) -> Tenant:
    return make_tenant(server)


def make_tenant(server: Server) -> Tenant:
    """The app, a full-access key and the seed's template, made on ``server``."""
    server.create_app(WORKSPACE, APP_ID)
    made = Tenant(server, server.create_key(WORKSPACE))
    created = made.sdk().create_template(
        models.CreateTemplateRequest(
            app_id=APP_ID,
            workspace_id=WORKSPACE,
            template_name=TEMPLATE,
            title="Prize",
            content=CONTENT,
        )
    )
    assert created.body.success, created.body
    return made

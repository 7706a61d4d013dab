"""Official-SDK calls the vendor tests share: the arrivals QueryPushAnalysisTaskDetail counts
for a task, and RevokePushMessage's per-delivery answer."""

from __future__ import annotations

import json

from alibabacloud_mpaas20201028 import models
from alibabacloud_mpaas20201028.client import Client


def arrivals(client: Client, app_id: str, workspace: str, task: str) -> float:
    return client.query_push_analysis_task_detail(
        models.QueryPushAnalysisTaskDetailRequest(
            app_id=app_id, workspace_id=workspace, task_id=task
        )
    ).body.result_content.data.push_arrival_num  # fmt: skip


def revoke_message(
    client: Client, app_id: str, workspace: str, msg_key: str, device: str
) -> dict[str, int]:
    """RevokePushMessage of one message to one device: its counts (Recalled, Unrecallable...)."""
    body = client.revoke_push_message(
        models.RevokePushMessageRequest(
            app_id=app_id, workspace_id=workspace, message_id=msg_key, target_id=device
        )
    ).body  # fmt: skip
    assert body.result_code == "OK", body
    return json.loads(body.push_result.data)

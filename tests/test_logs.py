"""Log lines about deliveries: the task, the msgKey and the accepting request's id, in both
formats (the server's own lines are tested end to end in tests/integration/test_logs.py)."""

from __future__ import annotations

import json
import logging

from tidings import logs
from tidings.contract import Payload


def _record(extra: dict) -> logging.LogRecord:
    record = logging.LogRecord("tidings.delivery", logging.INFO, __file__, 1, "refused", (), None)
    record.__dict__.update(extra)
    return record


def test_one_delivery_names_its_task_message_and_request() -> None:
    payload = Payload(7, "k1", "T", "C", None, {}, 0, "REQ-1")
    record = _record(logs.about(payload))
    assert json.loads(logs.JsonFormatter().format(record)) | {"time": ""} == {
        "time": "", "level": "info", "logger": "tidings.delivery", "message": "refused",
        "requestId": "REQ-1", "task": 7, "msgKey": "k1",
    }  # fmt: skip
    assert logs.TextFormatter().format(record).endswith("refused requestId=REQ-1 task=7 msgKey=k1")


def test_a_batch_names_each_task_and_request_once() -> None:
    batch = [Payload(t, f"k{t}", "T", "C", None, {}, 0, r) for t, r in
             [(2, "R-B"), (1, "R-A"), (2, "R-B"), (3, None)]]  # fmt: skip
    text = logs.TextFormatter().format(_record(logs.about_all(batch)))
    assert text.endswith("refused requestId=R-A,R-B task=1,2,3")
    console_only = [Payload(3, "k", "T", "C", None, {}, 0, None)]
    assert "requestId" not in logs.TextFormatter().format(_record(logs.about_all(console_only)))

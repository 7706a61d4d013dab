"""The verification examples in docs/webhooks.md, run against a request Tidings signed: the
Python one as written, the Node one with the machine's ``node``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tidings.webhooks import events, signing

DOC = Path(__file__).parents[2] / "docs" / "webhooks.md"


def example(language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) == 1, f"one {language} example in {DOC.name}"
    return blocks[0]


def signed(secrets: list[str]) -> tuple[dict[str, str], bytes]:
    stored = [events.Stored(7, "delivery.arrived", events.data(task_id=1, time=5), 1000)]
    body = events.body(stored)
    return signing.headers(secrets, events.message_id(stored), int(time.time()), body), body


def test_the_python_example_verifies_and_refuses() -> None:
    scope: dict = {}
    exec(compile(example("python"), str(DOC), "exec"), scope)
    verified_events = scope["verified_events"]
    old, new = signing.new_secret(), signing.new_secret()
    headers, body = signed([new, old])
    assert verified_events(old, headers, body)[0]["id"] == "evt_7"
    with pytest.raises(scope["WebhookVerificationError"]):
        verified_events(signing.new_secret(), headers, body)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_node_example_verifies_and_refuses(tmp_path: Path) -> None:
    module = tmp_path / "verify.js"
    module.write_text(example("javascript"))
    old, new = signing.new_secret(), signing.new_secret()
    headers, body = signed([new, old])
    script = f"""
const {{ verifiedEvents }} = require({json.dumps(str(module))});
const headers = {json.dumps(headers)};
const body = {json.dumps(body.decode())};
console.log(verifiedEvents({json.dumps(old)}, headers, body)[0].id);
console.log(verifiedEvents({json.dumps(new)}, headers, body)[0].id);
const stranger = {json.dumps(signing.new_secret())};
try {{ verifiedEvents(stranger, headers, body); console.log("accepted"); }}
catch (e) {{ console.log("refused"); }}
try {{ verifiedEvents({json.dumps(old)}, headers, body + " "); console.log("accepted"); }}
catch (e) {{ console.log("refused"); }}
"""
    out = subprocess.run(
        ["node", "-e", script], capture_output=True, text=True, timeout=30, check=True
    ).stdout.split()
    assert out == ["evt_7", "evt_7", "refused", "refused"]

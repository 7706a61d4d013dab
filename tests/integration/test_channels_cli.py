"""``tidings channels set|list|remove`` as an operator runs them, on both databases."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.fakes.credentials import apns_config
from tests.support.servers import Server
from tests.support.stored import connection

WORKSPACE = "chanws"
APP_ID = "ONEXCHAN00000001"
HMS = {"app_id": "10086", "client_id": "10086", "client_secret": "hms-very-secret"}
SMS = {"access_key_id": "LTAI-sms-key", "access_key_secret": "sms-very-secret"}


def _set(server: Server, channel: str, config: str, check: bool = True):
    return server.cli(
        "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID,
        "--channel", channel, "--config", config, check=check,
    )  # fmt: skip


def test_set_list_remove(server: Server, tmp_path) -> None:
    server.create_app(WORKSPACE, APP_ID)
    apns = apns_config("https://127.0.0.1:1")
    _set(server, "hms", json.dumps(HMS))
    config_file = tmp_path / "apns.json"
    config_file.write_text(json.dumps(apns))
    _set(server, "apns", f"@{config_file}")
    server.cli(
        "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID, "--channel", "sms",
        "--provider", "aliyun", "--config", json.dumps(SMS),
    )  # fmt: skip

    listed = server.cli("channels", "list").stdout
    assert "hms" in listed and "apns" in listed and APP_ID in listed
    assert "TEAM123456" in listed  # identifying keys are shown ...
    assert "hms-very-secret" not in listed  # ... secrets never
    assert "PRIVATE KEY" not in listed
    assert "region=cn-hangzhou" in listed  # the sms channel, without its secret
    assert "sms-very-secret" not in listed

    with connection(server) as conn:
        stored = conn.execute(text("SELECT config_ciphertext FROM channel_configs")).scalars()
        blobs = b"".join(bytes(blob) for blob in stored)
    assert b"hms-very-secret" not in blobs and b"PRIVATE" not in blobs
    assert b"sms-very-secret" not in blobs

    server.cli(
        "channels", "remove", "--workspace", WORKSPACE, "--app-id", APP_ID, "--channel", "hms"
    )
    listed = server.cli("channels", "list").stdout
    assert "hms" not in listed and "apns" in listed


def test_refusals_name_the_key(server: Server) -> None:
    server.cli("apps", "create", "--workspace", WORKSPACE, "--app-id", "ONEXCHAN2", check=False)
    bad = _set(server, "hms", json.dumps({"app_id": "1", "client_id": "2"}), check=False)
    assert bad.returncode == 1
    assert "client_secret is missing" in bad.stderr
    assert "Traceback" not in bad.stderr

    no_provider = _set(server, "sms", json.dumps(SMS), check=False)
    assert no_provider.returncode == 1 and "provider must be one of aliyun, webhook" in (
        no_provider.stderr
    )

    unknown = _set(server, "meizu", "{}", check=False)
    assert unknown.returncode == 1 and "unknown channel 'meizu'" in unknown.stderr

    missing_file = _set(server, "hms", "@/nonexistent/x.json", check=False)
    assert missing_file.returncode == 1 and "cannot read" in missing_file.stderr

    no_app = server.cli(
        "channels", "set", "--workspace", WORKSPACE, "--app-id", "NOPE",
        "--channel", "hms", "--config", json.dumps(HMS), check=False,
    )  # fmt: skip
    assert no_app.returncode == 1 and "no app 'NOPE'" in no_app.stderr

    gone = server.cli(
        "channels", "remove", "--workspace", WORKSPACE, "--app-id", APP_ID,
        "--channel", "vivo", check=False,
    )  # fmt: skip
    assert gone.returncode == 1 and "no vivo channel configured" in gone.stderr

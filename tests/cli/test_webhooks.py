"""``tidings webhooks`` as an operator runs them, beside a running server: clear errors naming
the field, the secret shown once, a test event answered by a real receiver, replay, rotation
(two signatures, either secret verifies), removal."""

from __future__ import annotations

import re

import pytest

from tests.support.servers import Server
from tests.support.webhook_receiver import receiving

WORKSPACE = "hookws"
APP = "ONEXHOOK00000001"
SCOPE = ("--workspace", WORKSPACE, "--app-id", APP)


@pytest.fixture(scope="module")
def app(server: Server) -> str:
    server.create_app(WORKSPACE, APP)
    return APP


def refused(server: Server, *args: str) -> str:
    result = server.cli(*args, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stderr


def test_bad_input_is_named(server: Server, app: str) -> None:
    add = ("webhooks", "add", *SCOPE)
    assert "url:" in refused(server, *add, "--url", "mailto:a@example.com")
    assert "events: unknown event type 'delivery.lost'" in refused(
        server, *add, "--url", "https://example.com/h", "--events", "delivery.lost"
    )
    assert "secret:" in refused(
        server, *add, "--url", "https://example.com/h", "--secret", "not-a-whsec"
    )
    assert "endpoint: no endpoint 999" in refused(server, "webhooks", "remove", "999", *SCOPE)
    assert "ONEXNOPE" in refused(
        server, "webhooks", "list", "--workspace", WORKSPACE, "--app-id", "ONEXNOPE"
    )


def test_add_test_rotate_replay_and_remove(server: Server, app: str) -> None:
    with receiving() as receiver:
        added = server.cli("webhooks", "add", *SCOPE, "--url", receiver.url).stdout
        endpoint = re.search(r"Added endpoint (\d+)", added)[1]
        first = re.search(r"whsec_\S+", added)[0]
        receiver.secrets.append(first)
        assert first not in server.cli("webhooks", "list", *SCOPE).stdout
        tested = server.cli("webhooks", "test", endpoint, *SCOPE).stdout
        assert tested.startswith("200 in ") and '{"ok":true}' in tested
        second = re.search(r"whsec_\S+", server.cli("webhooks", "rotate", endpoint, *SCOPE).stdout)[
            0
        ]
        server.cli("webhooks", "test", endpoint, *SCOPE)
        rotated = receiver.requests[-1]
        assert len(rotated.headers["webhook-signature"].split(" ")) == 2
        receiver.secrets[:] = [second]
        server.cli("webhooks", "rotate", endpoint, *SCOPE, "--finish")
        server.cli("webhooks", "test", endpoint, *SCOPE)
        assert len(receiver.requests[-1].headers["webhook-signature"].split(" ")) == 1
        assert receiver.requests[-1].verified_with == [0]
        receiver.status = 500
        failed = server.cli("webhooks", "test", endpoint, *SCOPE, check=False)
        assert failed.returncode == 1 and failed.stdout.startswith("500 in ")
        replayed = server.cli(
            "webhooks", "replay", endpoint, *SCOPE, "--since", "2000-01-01T00:00:00"
        ).stdout
        assert "4 event(s) will be sent again." in replayed
        listed = server.cli("webhooks", "list", *SCOPE).stdout
        assert receiver.url in listed and "failing since" in listed
        server.cli("webhooks", "remove", endpoint, *SCOPE)
        assert receiver.url not in server.cli("webhooks", "list", *SCOPE).stdout

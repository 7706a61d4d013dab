"""Signing checked against the ``standardwebhooks`` library: an implementation of the
specification that is not Tidings' own."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from tidings.webhooks import signing

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(data=JSON, msg_id=st.from_regex(r"msg_[a-z0-9]{1,32}", fullmatch=True))
def test_the_library_verifies_what_tidings_signs(data: object, msg_id: str) -> None:
    # The library parses the body as JSON once verified, so bodies are JSON.
    body = json.dumps({"events": [data]}, ensure_ascii=False).encode()
    secret = signing.new_secret()
    now = int(time.time())
    headers = signing.headers([secret], msg_id, now, body)
    Webhook(secret).verify(body, headers)


def test_during_a_rotation_either_secret_verifies() -> None:
    new, old = signing.new_secret(), signing.new_secret()
    body = b'{"events":[]}'
    headers = signing.headers([new, old], "msg_1", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)


def test_a_changed_body_or_id_fails_verification() -> None:
    secret = signing.new_secret()
    headers = signing.headers([secret], "msg_1", int(time.time()), b"{}")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"x":1}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b"{}", {**headers, "webhook-id": "msg_2"})


def test_a_secret_made_by_the_library_signs_here() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    headers = signing.headers([secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    # The example from the specification's own test suite.
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize("bad", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_AAAA"])
def test_malformed_secrets_are_refused(bad: str) -> None:
    with pytest.raises(signing.SecretError):
        signing.key_of(bad)

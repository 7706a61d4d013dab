"""Replay protection as a caller sees it: a signed call sent again is refused SignatureNonceUsed
and leaves nothing written, whatever its first answer was, now that a push records its nonce in
the transaction that accepts it (store/nonces.py) and every other call records it alone."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.integration.conftest import APP_ID, WORKSPACE, Tenant, msg_key
from tests.support import stored
from tests.support.raw import RawClient, gateway_error
from tests.support.signer import SignedCall


def _one_target(key: str, name: str = "Zhang San") -> list[dict[str, str]]:
    return [
        {
            "Target": "userid1024",
            "MsgKey": key,
            "TemplateKeyValue": f'{{"name":"{name}","money":"200"}}',
        }
    ]


def _pushed(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ResultCode"] == "OK", body
    return body["PushResult"]["Data"]


def _refused(answer: httpx.Response) -> None:
    assert answer.status_code == 200, answer.text
    assert answer.json()["ResultCode"] not in ("OK", None), answer.text


def _read(answer: httpx.Response) -> None:
    assert answer.status_code == 200 and answer.json()["Success"] is True, answer.text


def _gateway(status: int, code: str) -> Callable[[httpx.Response], object]:
    return lambda answer: gateway_error(answer, status, code)


def _invalid_push(tenant: Tenant, raw: RawClient) -> SignedCall:
    return raw.acs3_call("PushMultiple", tenant.multiple_params(ExpiredSeconds="soon"))


def _read_only_action(tenant: Tenant, raw: RawClient) -> SignedCall:
    return raw.acs3_call("ListTemplatePage", {"AppId": APP_ID, "WorkspaceId": WORKSPACE})


def _unknown_action(tenant: Tenant, raw: RawClient) -> SignedCall:
    return raw.acs3_call("NoSuchAction", {"AppId": APP_ID, "WorkspaceId": WORKSPACE})


def _forbidden_push(tenant: Tenant, raw: RawClient) -> SignedCall:
    reader = RawClient(tenant.server, tenant.server.create_key(WORKSPACE, "--read-only"))
    return reader.acs3_call("PushMultiple", tenant.multiple_params())


def _msg_key_of_another_push(tenant: Tenant, raw: RawClient) -> SignedCall:
    """A push whose write rolls back: its msgKey belongs to an earlier task with other content."""
    key = msg_key()
    _pushed(raw.acs3("PushMultiple", tenant.multiple_params(TargetMsg=_one_target(key))))
    other = tenant.multiple_params(TargetMsg=_one_target(key, name="Li Si"))
    return raw.acs3_call("PushMultiple", other)


def _retry_of_a_push(tenant: Tenant, raw: RawClient) -> SignedCall:
    """The same push sent again with a new nonce (an SDK's retry): its write rolls back and it
    is answered with the first call's task."""
    params = tenant.multiple_params()
    _pushed(raw.acs3("PushMultiple", params))
    return raw.acs3_call("PushMultiple", params)


FIRST_ANSWERS: dict[str, tuple[Callable[[Tenant, RawClient], SignedCall], Callable]] = {
    "invalid parameters": (_invalid_push, _refused),
    "read-only action": (_read_only_action, _read),
    "unknown action": (_unknown_action, _gateway(404, "InvalidApi.NotFound")),
    "forbidden": (_forbidden_push, _gateway(403, "Forbidden.RAM")),
    "msgKey of another push": (_msg_key_of_another_push, _refused),
    "retry of a push": (_retry_of_a_push, _pushed),
}


@pytest.mark.parametrize("case", FIRST_ANSWERS)
def test_a_replay_is_refused_whatever_the_first_answer(tenant: Tenant, case: str) -> None:
    make, first_answer = FIRST_ANSWERS[case]
    raw = tenant.raw()
    call = make(tenant, raw)
    first_answer(raw.send(call))
    after_first = stored.counts(tenant.server)
    gateway_error(raw.send(call), 400, "SignatureNonceUsed")
    assert stored.counts(tenant.server) == after_first


def test_of_one_call_sent_many_times_at_once_exactly_one_is_accepted(tenant: Tenant) -> None:
    """The copies race to the writer: whichever records the nonce with its push first is
    accepted, the others are refused in their own transaction (or savepoint) with nothing
    written."""
    raw = tenant.raw()
    for _ in range(3):
        call = raw.acs3_call("PushMultiple", tenant.multiple_params())
        before = stored.counts(tenant.server)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(raw.send, [call] * 8))
        accepted = [answer for answer in answers if answer.status_code == 200]
        assert len(accepted) == 1, [answer.text for answer in answers]
        _pushed(accepted[0])
        for answer in answers:
            if answer is not accepted[0]:
                gateway_error(answer, 400, "SignatureNonceUsed")
        after = stored.counts(tenant.server)
        assert (after.tasks, after.messages) == (before.tasks + 1, before.messages + 1)

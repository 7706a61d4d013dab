"""A message as devices receive it: its text, and the call's options that travel with it.

Extension parameters come in two layers: the call-wide ``ExtendedParams`` and a target's own
(PushMultiple's ``TargetMsg.N.ExtendedParams``). A device gets both merged, the target's value
winning where a key is in both, since it is the more specific of the two.
"""

from __future__ import annotations

import json

from tidings.contract import Payload, PushOptions


def merge_extended(unified: dict[str, str] | None, own_json: str | None) -> dict[str, str]:
    merged = dict(unified) if unified else {}
    if own_json:
        merged.update(json.loads(own_json))
    return merged


def payload_of(
    task_id: int,
    options: PushOptions,
    msg_key: str,
    title: str,
    content: str,
    uri: str | None,
    extended_json: str | None,
    expires_at: int,
) -> Payload:
    return Payload(
        task_id=task_id,
        msg_key=msg_key,
        title=title,
        content=content,
        uri=uri,
        extended_params=merge_extended(options.extended_params, extended_json),
        expires_at=expires_at,
    )

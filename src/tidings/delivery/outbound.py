"""A delivery as channels get it, built from what the database holds: the one constructor of
``Outbound``, for deliveries dispatch has just written and for stored ones sent again.

Extension parameters come in two layers: the call-wide ``ExtendedParams`` and a target's own
(PushMultiple's ``TargetMsg.N.ExtendedParams``). A device gets both merged, the target's value
winning where a key is in both, since it is the more specific of the two.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Row

from tidings.contract import DeviceAddress, Outbound, Payload, PushOptions, maker
from tidings.delivery.plan import activity_address


class MessageText(Protocol):
    """What a message row holds for its devices (delivery/plan.py's MessageRow, and the
    columns store.deliveries.OUTBOUND reads)."""

    @property
    def msg_key(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def uri(self) -> str | None: ...
    @property
    def extended_params(self) -> str | None: ...  # the target's own, as stored (JSON)


def merge_extended(unified: dict[str, str] | None, own_json: str | None) -> dict[str, str]:
    """The parameters a device gets. A message with none of its own gets the call-wide dict
    itself, shared by every message of its task, or, with none at all, one empty dict shared by
    all (no copy per delivery; and the gateway writes the frame's shared end once for them,
    gateway/protocol.py, where a new empty dict each cost 3.3 µs a message frame): a payload's
    parameters are read, never changed."""
    if not own_json:
        return unified if unified is not None else _NO_PARAMETERS
    merged = dict(unified) if unified else {}
    merged.update(json.loads(own_json))
    return merged


def build_outbound(
    delivery_id: int,
    channel: str,
    device: DeviceAddress,
    *,
    task_id: int,
    message: MessageText,
    options: PushOptions,
    expires_at: int,
    request_id: str | None,
) -> Outbound:
    payload = _payload(
        (
            task_id,
            message.msg_key,
            message.title,
            message.content,
            message.uri,
            merge_extended(options.extended_params, message.extended_params),
            expires_at,
            request_id,
        )
    )
    return _outbound((delivery_id, channel, device, payload, options))


_NO_PARAMETERS: dict[str, str] = {}

# Dispatch builds one of each per delivery sent at once (contract.maker says why so).
_payload = maker(Payload)
_outbound = maker(Outbound)


def outbound_from_rows(rows: Sequence[Row]) -> list[Outbound]:
    """Outbound deliveries from store.deliveries.OUTBOUND rows (options parsed once per task);
    a delivery to a Live Activity is addressed by the push token it keeps."""
    options: dict[int, PushOptions] = {}
    out = []
    for row, address in zip(rows, DeviceAddress.from_rows(rows), strict=True):
        device = address if row.push_token is None else activity_address(row.push_token)
        task_options = options.get(row.task_id)
        if task_options is None:
            task_options = options[row.task_id] = PushOptions.from_json(row.options)
        out.append(
            build_outbound(
                row.id,
                row.channel,
                device,
                task_id=row.task_id,
                message=row,
                options=task_options,
                expires_at=row.expires_at,
                request_id=row.request_id,
            )
        )
    return out

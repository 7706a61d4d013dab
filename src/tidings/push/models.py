"""What a validated push call is made of."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from tidings.contract import PushOptions
from tidings.errors import FieldPath
from tidings.schedule.strategy import Strategy
from tidings.tasks import BROADCAST, MULTIPLE


@dataclass(frozen=True, slots=True)
class PushLimits:
    max_targets: int = 100  # PushMultiple's TargetMsg entries
    max_single_targets: int = 10  # PushSimple's and PushTemplate's TargetMsgkey pairs
    max_expired_seconds: int = 7 * 24 * 3600
    max_payload_bytes: int = 4096
    max_scheduled_tasks: int = 100


@dataclass(frozen=True, slots=True)
class CallSpec:
    """The call-wide part of a push, validated."""

    task_name: str
    delivery_type: int
    expired_seconds: int
    options: PushOptions
    strategy: Strategy | None


class RenderedMessage(NamedTuple):
    """One TargetMsg with its text filled in: what its target will be shown.

    A named tuple rather than a frozen dataclass: a call builds a hundred of them, and tuple
    construction costs a fifth as much.
    """

    msg_key: str
    target: str
    title: str
    content: str
    uri: str | None
    extended_params: str | None  # this target's own extension parameters, as JSON

    def payload_size(self) -> int:
        """Bytes of text the message carries itself (without call-wide extension parameters)."""
        size = len(self.title.encode()) + len(self.content.encode())
        if self.uri:
            size += len(self.uri.encode())
        if self.extended_params:
            size += len(self.extended_params.encode())
        return size


@dataclass(frozen=True, slots=True)
class PushPlan:
    """A push ready to store: the task and its messages.

    ``audience`` is a broadcast's choice of devices (push/broadcast.py), as JSON; the other
    actions name their targets in their messages.
    """

    action: str
    call: CallSpec
    template_pk: int | None
    template_name: str | None
    messages: list[RenderedMessage]
    audience: str | None = None

    def key_field(self, index: int) -> str:
        """Where the caller gave the msgKey of message ``index`` (from 1), for error messages."""
        if self.action == MULTIPLE:
            return f"TargetMsg.{index}.MsgKey"
        if self.action == BROADCAST:
            return "Msgkey"
        return f"TargetMsgkey[{self.messages[index - 1].target!r}]"

    def key_path(self, index: int) -> FieldPath:
        """The path of ``key_field``: where an edge points at the msgKey of message ``index``."""
        if self.action == MULTIPLE:
            return ("TargetMsg", index, "MsgKey")
        if self.action == BROADCAST:
            return ("Msgkey",)
        return ("TargetMsgkey", self.messages[index - 1].target)

    def digest(self) -> str:
        """A fingerprint of everything the push would send, to recognise a retried call.

        Computed only when a msgKey collides: ``stored_digest`` computes the same fingerprint
        of the earlier task from its stored rows, so acceptance never hashes a call up front.
        """
        call = self.call
        return fingerprint(
            [
                self.action,
                call.task_name,
                call.delivery_type,
                call.expired_seconds,
                call.options.to_json(),
                call.strategy.to_json() if call.strategy else None,
                self.template_name,
            ],
            self.messages,
            self.audience,
        )


def fingerprint(head: list, messages: Iterable[Sequence[str | None]], audience: str | None) -> str:
    """The digest of a push: its call-wide values (``head``), each message's
    (msg_key, target, title, content, uri, extended_params) and a broadcast's audience."""
    body = [*head, [list(m) for m in messages]]
    if audience is not None:
        body.append(audience)
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=32).hexdigest()

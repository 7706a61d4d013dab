"""The rules for a push's messages, whichever action made them: a target and its msgKey, the
values a template needs, the bytes a message carries.

``where`` and ``who`` name the caller's field in every refusal, so a PushMultiple caller reads
``TargetMsg.2.MsgKey`` and a PushSimple caller ``TargetMsgkey['user_2']``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from tidings.contract import PushOptions
from tidings.errors import Code, FieldPath, ServiceError, refused
from tidings.push.models import PushLimits, RenderedMessage
from tidings.templates.models import CompiledTemplate

MAX_TARGET_LENGTH = 128
MAX_MSG_KEY_LENGTH = 128


def check_target(target: str, where: str, path: FieldPath) -> str:
    if not target:
        raise ServiceError(Code.TOKEN_OR_USERID_NULL, f"{where} is empty", path)
    if len(target) > MAX_TARGET_LENGTH:
        raise ServiceError(
            Code.INVALID_PARAM, f"{where} is longer than {MAX_TARGET_LENGTH} characters", path
        )
    return target


def check_msg_key(msg_key: str, where: str, seen: dict[str, str], path: FieldPath) -> str:
    """A msgKey present, short enough and not used before in the call; ``seen`` maps the call's
    msgKeys so far to where they were given."""
    if not msg_key:
        raise ServiceError(Code.INVALID_PARAM, f"{where} is required", path)
    if len(msg_key) > MAX_MSG_KEY_LENGTH:
        raise ServiceError(
            Code.INVALID_PARAM, f"{where} is longer than {MAX_MSG_KEY_LENGTH} characters", path
        )
    if msg_key in seen:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"{where} {msg_key!r} repeats {seen[msg_key]}; msgKeys must be unique",
            path,
        )
    seen[msg_key] = where
    return msg_key


def check_values(
    template: CompiledTemplate, values: Mapping[str, str], who: str, path: FieldPath
) -> None:
    missing = [n for n in template.names if n not in values]
    if missing:
        raise ServiceError(
            Code.TEMPLATEKV_NOT_ENOUGH,
            f"{who} has no value for placeholder "
            f"{', '.join(repr(n) for n in missing)} of template {template.template.name!r}",
            path,
        )


def unified_size(options: PushOptions) -> int:
    """Bytes the call-wide extension parameters add to every message."""
    if not options.extended_params:
        return 0
    return sum(len(k.encode()) + len(v.encode()) for k, v in options.extended_params.items())


def check_size(
    message: RenderedMessage, unified: int, limits: PushLimits, who: str, path: FieldPath
) -> None:
    size = message.payload_size() + unified
    if size > limits.max_payload_bytes:
        raise ServiceError(
            Code.MSG_PAYLOAD_TOO_LONG,
            f"{who} renders to {size} bytes; the limit is {limits.max_payload_bytes}",
            path,
        )


def check_target_msgkey(
    pairs: Mapping[str, object] | None, limits: PushLimits
) -> list[tuple[str, str]]:
    """PushSimple's and PushTemplate's ``TargetMsgkey``: a map of target to msgKey, each msgKey
    unique; its (target, msgKey) pairs in the order given."""
    if not pairs:
        raise refused(Code.TOKEN_OR_USERID_NULL, "TargetMsgkey", "is required: no targets given")
    if len(pairs) > limits.max_single_targets:
        raise refused(
            Code.TARGET_TOO_MUCH,
            "TargetMsgkey",
            f"has {len(pairs)} targets; at most {limits.max_single_targets} are allowed",
        )
    seen: dict[str, str] = {}
    checked = []
    for target, msg_key in pairs.items():
        where, path = f"TargetMsgkey[{target[:40]!r}]", ("TargetMsgkey", target)
        checked.append(
            (
                check_target(target, "a target in TargetMsgkey", ("TargetMsgkey",)),
                check_msg_key(_msg_key_text(msg_key, where, path), where, seen, path),
            )
        )
    return checked


def _msg_key_text(value: object, where: str, path: FieldPath) -> str:
    """A msgKey given as a JSON string, or an integer as its decimal text; ``true`` or ``1.5``
    is refused rather than stored as the text "true" or "1.5"."""
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    raise ServiceError(
        Code.INVALID_PARAM,
        f"{where} must be a string or an integer, not {json.dumps(value)[:40]}",
        path,
    )

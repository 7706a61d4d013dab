"""The SMS supplement fields of PushSimple and PushTemplate: SmsStrategy, SmsTemplateCode,
SmsSignName, SmsTemplateParam.

Strategy 0 (or none) asks for no SMS: the other fields are then not read and not kept. 1 asks for
an SMS when the push has not arrived within the supplement delay, 2 for one at once, alongside
the push; both need the template code and sign name the provider has approved, and send to the
phone number bound with the target (PushBind's PhoneNumber). Pure: checked like the other options.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tidings.errors import Code, refused
from tidings.fields import read_flat_map, read_int, read_text

NONE, WHEN_NOT_ARRIVED, ALONGSIDE = 0, 1, 2
STRATEGIES = (NONE, WHEN_NOT_ARRIVED, ALONGSIDE)
MAX_CODE = 64  # Alibaba Cloud template codes look like SMS_123456789
MAX_SIGN_NAME = 64
MAX_PARAM_KEYS = 20
MAX_PARAM_VALUE = 200


@dataclass(frozen=True, slots=True)
class SmsFields:
    """The SMS parameters as they arrived (PushMultiple and PushBroadcast have none)."""

    strategy: str | None = None
    template_code: str | None = None
    sign_name: str | None = None
    template_param: str | dict | None = None


@dataclass(frozen=True, slots=True)
class SmsRequest:
    strategy: int
    template_code: str
    sign_name: str
    template_param: dict[str, str] | None


def read_sms(fields: SmsFields | None) -> SmsRequest | None:
    """The supplement the call asks for, or None; the first problem names its field."""
    if fields is None:
        return None
    strategy = read_int(fields.strategy, "SmsStrategy", Code.INVALID_PARAM, allowed=STRATEGIES)
    if not strategy:
        return None
    code = read_text(
        fields.template_code, "SmsTemplateCode", Code.INVALID_PARAM, max_length=MAX_CODE,
        required=True,
    )  # fmt: skip
    sign = read_text(
        fields.sign_name, "SmsSignName", Code.INVALID_PARAM, max_length=MAX_SIGN_NAME,
        required=True,
    )  # fmt: skip
    assert code is not None and sign is not None
    if any(c.isspace() for c in code):
        raise refused(Code.INVALID_PARAM, "SmsTemplateCode", "must not contain white space")
    params = read_flat_map(fields.template_param, "SmsTemplateParam", Code.INVALID_PARAM)
    if params and len(params) > MAX_PARAM_KEYS:
        raise refused(
            Code.INVALID_PARAM,
            "SmsTemplateParam",
            f"has {len(params)} keys; at most {MAX_PARAM_KEYS} are allowed",
        )
    for key, value in (params or {}).items():
        if len(value) > MAX_PARAM_VALUE:
            raise refused(
                Code.INVALID_PARAM,
                f"SmsTemplateParam.{key}",
                f"is {len(value)} characters long; the limit is {MAX_PARAM_VALUE}",
            )
    return SmsRequest(strategy, code, sign, params or None)


def sms_options(fields: SmsFields | None) -> dict[str, Any]:
    """The ``PushOptions`` fields of the supplement ``fields`` ask for (none for strategy 0),
    read by ``read_sms``: what every edge that offers the SMS fields hands the push rules."""
    sms = read_sms(fields)
    if sms is None:
        return {}
    return {
        "sms_strategy": sms.strategy,
        "sms_template_code": sms.template_code,
        "sms_sign_name": sms.sign_name,
        "sms_template_param": sms.template_param,
    }

"""SMS providers: where the SMS supplement's messages go (supplement/ decides when and to whom).

An app configures one provider as the ``sms`` channel (``tidings channels set --channel sms
--provider aliyun|webhook``), sealed at rest with the other channel settings: Alibaba Cloud SMS
through its official SDK (channels/sms/aliyun.py) or a signed HTTPS webhook of the app's own
(channels/sms/webhook.py). ``config.py`` checks the settings; ``send`` sends one SMS with the
configured provider. The phone number passes through here and is never logged.
"""

from __future__ import annotations

from typing import NamedTuple

NAME = "sms"  # the channel name its configuration is stored under
PROVIDERS = ("aliyun", "webhook")  # channels/sms/config.py checks the settings of each


class Sms(NamedTuple):
    """One SMS to send. ``out_id`` identifies it across attempts (the supplement row), so a
    receiver can recognise a repeat."""

    phone: str
    sign_name: str
    template_code: str
    template_param: dict[str, str] | None
    out_id: str


class SmsResult(NamedTuple):
    """What the provider answered: sent (``detail`` its id for the SMS) or not (its words)."""

    sent: bool
    detail: str

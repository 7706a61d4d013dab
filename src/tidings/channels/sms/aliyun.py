"""Alibaba Cloud SMS (Dysmsapi 2017-05-25 SendSms) through the official SDK.

The SDK signs the call (RPC style, form body) with the app's AccessKey. An SMS is asked for once:
the SDK's own retries are turned off, since a retry after a timeout could send the SMS twice
(the supplement is at most once, docs/sms.md). ``Code`` "OK" is a sent SMS and ``BizId`` its id;
any other code is the provider's refusal, kept in its own words.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from alibabacloud_dysmsapi20170525 import models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import models as openapi_models
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import TeaException

from tidings.channels.sms import Sms, SmsResult
from tidings.channels.vendor_config import ChannelConfig

TIMEOUT_MS = 10_000


def client_for(config: ChannelConfig) -> Client:
    endpoint = urlsplit(config["endpoint"])
    return Client(
        openapi_models.Config(
            access_key_id=config["access_key_id"],
            access_key_secret=config["access_key_secret"],
            region_id=config["region"],
            endpoint=endpoint.netloc,
            protocol=endpoint.scheme.upper(),
            read_timeout=TIMEOUT_MS,
            connect_timeout=TIMEOUT_MS,
        )
    )


async def send(config: ChannelConfig, sms: Sms) -> SmsResult:
    request = models.SendSmsRequest(
        phone_numbers=sms.phone,
        sign_name=sms.sign_name,
        template_code=sms.template_code,
        template_param=(
            json.dumps(sms.template_param, ensure_ascii=False) if sms.template_param else None
        ),
        out_id=sms.out_id,
    )
    runtime = RuntimeOptions(autoretry=False, max_attempts=1)
    try:
        answer = await client_for(config).send_sms_with_options_async(request, runtime)
    except TeaException as exc:  # the SDK's error for an HTTP error answer
        return SmsResult(False, f"aliyun {exc.code}: {exc.message}")
    body = answer.body
    if body is None or body.code != "OK":
        code, message = (body.code, body.message) if body is not None else ("?", "no body")
        return SmsResult(False, f"aliyun {code}: {message}")
    return SmsResult(True, f"aliyun BizId {body.biz_id}")

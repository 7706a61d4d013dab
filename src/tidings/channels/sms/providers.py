"""Sending one SMS with whichever provider the app configured."""

from __future__ import annotations

import httpx

from tidings.channels.http import TIMEOUT, tls_context
from tidings.channels.sms import Sms, SmsResult, webhook
from tidings.channels.vendor_config import ChannelConfig


class SmsProviders:
    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport
        # Made for the first webhook SMS: its TLS context loads the CA roots (a tenth of a
        # second), which no process that sends none should pay.
        self._client: httpx.AsyncClient | None = None

    async def send(self, config: ChannelConfig, sms: Sms) -> SmsResult:
        if config["provider"] == "aliyun":
            # The Alibaba Cloud SDK takes a tenth of a second to import: only a process that
            # sends an SMS through it pays for that.
            from tidings.channels.sms import aliyun

            return await aliyun.send(config, sms)
        if self._client is None:
            self._client = httpx.AsyncClient(
                verify=tls_context(),
                timeout=TIMEOUT,
                trust_env=False,
                follow_redirects=False,
                transport=self._transport,
            )
        return await webhook.send(self._client, config, sms)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

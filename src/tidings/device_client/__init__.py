"""The Python library a device or desktop app embeds to receive Tidings pushes.

    client = DeviceClient("http://127.0.0.1:8080", app_id="ONEX570DA89211721",
                          workspace_id="default", state_path="device.json")
    async with contextlib.aclosing(client.events()) as events:
        async for event in events:
            ...  # Connected first (Reported after it, with vendor_token=(vendor, token)),
                 # then Message per delivery, Revoked per one taken back

It registers on first use and resumes with the saved DeliveryToken and secret afterwards,
reconnects with backoff when the connection drops, acknowledges every delivery, and drops the
duplicates that at-least-once delivery brings, so each message reaches the app once.
"""

from tidings.device_client.client import (
    ActivityRegistered,
    Connected,
    DeviceClient,
    Message,
    Refused,
    Reported,
    Revoked,
    StartTokenRegistered,
)
from tidings.device_client.state import DeviceState

__all__ = [
    "ActivityRegistered",
    "Connected",
    "DeviceClient",
    "DeviceState",
    "Message",
    "Refused",
    "Reported",
    "Revoked",
    "StartTokenRegistered",
]

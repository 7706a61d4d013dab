"""Recall by overwriting, for the vendors that have no revoke call but replace a shown
notification with a later one under the same id (HMS ``notify_id``, Honor ``notifyId``, FCM
``tag``, APNs ``apns-collapse-id``).

Each such vendor sends every notification under an id derived from its delivery; a recall sends
a replacement under that id whose text says the message was withdrawn, as mPaaS does. The text
is the channel's ``recall_title`` / ``recall_body`` (per app), or the defaults. What showed no
notification (a data or background message, a Live Activity update) has nothing to replace and
cannot be recalled this way.
"""

from __future__ import annotations

from tidings.channels.extensions import wants_data_message
from tidings.channels.http import NotRecallable
from tidings.channels.vendor_config import ChannelConfig, Key, text
from tidings.contract import Outbound

RECALL_TEXT = (
    Key("recall_title", text, required=False),
    Key("recall_body", text, required=False),
)
REVOKED_TITLE = "Message revoked"
REVOKED_BODY = "This message was withdrawn by the sender."


def replacement_text(out: Outbound, config: ChannelConfig, vendor: str) -> tuple[str, str]:
    """The (title, body) of the notification that replaces ``out``'s on its device; raises
    ``NotRecallable`` when ``out`` showed no notification to replace."""
    if out.options.live_activity:
        raise NotRecallable(f"{vendor} replaces notifications; a Live Activity push is not one")
    if wants_data_message(out):
        raise NotRecallable(f"{vendor} replaces notifications; a silent push shows nothing")
    values = config.values
    return values.get("recall_title") or REVOKED_TITLE, values.get("recall_body") or REVOKED_BODY

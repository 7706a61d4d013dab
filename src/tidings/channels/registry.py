"""The vendors Tidings runs, by name: one registration line per vendor.

Each name is also the vendor's module in this package, which declares its ``VENDOR``
(channels/vendor_channel.py says what that holds). channels/catalog.py loads those modules and
derives every lookup about vendors from them. The names are kept apart from the catalog so that
what only names the vendors (the command line's help and its checks, ``tidings device listen``
above all) can do so without importing the vendors' protocols and client libraries.
"""

from __future__ import annotations

from tidings.channels.sms import NAME as SMS

VENDORS: tuple[str, ...] = (
    "apns",
    "fcm",
    "hms",
    "honor",
    "xiaomi",
    "oppo",
    "vivo",
    "harmonyos",
    "webpush",
)

# Every channel an app configures (``tidings channels set``, the console): the vendors, and the
# SMS supplement's provider, which is no push channel but is configured like one.
CONFIGURABLE: tuple[str, ...] = (*VENDORS, SMS)

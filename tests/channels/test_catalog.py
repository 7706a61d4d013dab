"""The vendor catalog: the facts it derives from the vendor modules are MPS's and Tidings'
documented ones, and a vendor is its registration line: without the line, no part of Tidings
knows the vendor."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tidings.channels import catalog
from tidings.channels.catalog import vendor_of


def test_registered_facts() -> None:
    assert catalog.VENDORS == (
        "apns", "fcm", "hms", "honor", "xiaomi", "oppo", "vivo", "harmonyos", "webpush"
    )  # fmt: skip
    assert catalog.THIRD_CHANNELS == {
        "apns": 1,
        "fcm": 2,
        "hms": 3,
        "honor": 4,
        "xiaomi": 5,
        "oppo": 6,
        "vivo": 7,
        "harmonyos": 8,
        "webpush": 9,
    }
    assert catalog.MANUFACTURERS["xiaomi"] == "miui"
    assert catalog.MANUFACTURERS["apns"] == "ios"
    assert catalog.ANALYTICS_CHANNELS == {
        "apns": "IOS",
        "fcm": "FCM",
        "hms": "HMS",
        "honor": "HONOR",
        "xiaomi": "MIUI",
        "oppo": "OPPO",
        "vivo": "VIVO",
        "harmonyos": "HARMONYOS",
        "webpush": "WEBPUSH",
    }
    assert catalog.STATUS_BLOCKS == {
        "fcm": 2100,
        "hms": 2200,
        "honor": 2300,
        "xiaomi": 2400,
        "oppo": 2500,
        "vivo": 2600,
        "harmonyos": 2700,
        "webpush": 2800,
    }
    assert sorted(catalog.VENDOR_KEYS) == [
        "apns", "fcm", "harmonyos", "hms", "honor", "miui", "oppo", "vivo", "webpush", "xiaomi"
    ]  # fmt: skip
    assert sorted(catalog.PAYLOAD_KEYS) == ["fcm", "harmonyos", "hms", "honor"]


@pytest.mark.parametrize(
    ("label", "token", "vendor"),
    [
        ("miui", "t", "xiaomi"),
        ("hms", "t", "hms"),
        ("ios", "t", "apns"),
        ("ios", None, None),
        ("hms", "", None),
        ("harmonyos", "t", "harmonyos"),
        ("harmonyos", None, None),
        ("android", "t", None),
        (None, None, None),
    ],
)
def test_manufacturer_labels_name_vendors(label, token, vendor):
    assert vendor_of(label, token) == vendor


# Run in a fresh interpreter where channels/registry.py is loaded with one registration line
# left out (or, as the control, whole): report what each part of Tidings knows of the vendor.
_PROBE = textwrap.dedent(
    """
    import asyncio, importlib.abc, importlib.util, json, sys, tempfile

    DROP = sys.argv[1]

    class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path, target=None):
            if name != "tidings.channels.registry":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            self.origin = spec.origin
            return importlib.util.spec_from_loader(name, self, origin=spec.origin)

        def exec_module(self, module):
            lines = open(self.origin).read().splitlines(keepends=True)
            kept = [line for line in lines if line.strip() != json.dumps(DROP) + ","]
            module.__file__ = self.origin
            exec(compile("".join(kept), self.origin, "exec"), module.__dict__)

    if DROP != "-":
        sys.meta_path.insert(0, _Finder())

    from tidings.analytics.labels import CHANNELS, channel_label
    from tidings.channels import catalog
    from tidings.cli import device as device_command
    from tidings.config import Settings
    from tidings.devices.rules import ReportFields, check_report
    from tidings.delivery.routing import route
    from tidings.errors import ServiceError
    from tidings.gateway.protocol import DeviceProtocol, Violation
    from tidings.openapi.options import OptionFields, read_options
    from tidings.services import Services

    def refused(call):
        try:
            call()
        except (ServiceError, Violation, ValueError):
            return True
        return False

    def report():
        machine = DeviceProtocol(4096)
        machine.ready()
        frame = json.dumps({"type": "report", "vendor": "vivo", "token": "t"})
        return machine.receive(frame)

    async def channel_names():
        with tempfile.TemporaryDirectory() as data:
            services = await Services.open(Settings(data_dir=data))
            try:
                return sorted(services.delivery.channel_names)
            finally:
                await services.aclose()

    fields = ReportFields("tok", "1", "7", "vendor-token", {})
    VIVO_CONFIG = {"app_id": "12345", "app_key": "ak", "app_secret": "s3cret"}
    print(json.dumps({
        "catalog": "vivo" in catalog.VENDORS,
        "device command": "vivo" in device_command.VENDORS,
        "config": not refused(lambda: catalog.check_config("vivo", VIVO_CONFIG)),
        "routing": route(
            platform="android", vendor="vivo", notify_type="notify", configured={"vivo"}
        ) == "vivo",
        "analytics": "VIVO" in CHANNELS and channel_label("vivo", "ANDROID") == "VIVO",
        "push options": not refused(lambda: read_options(OptionFields(notify_level='{"vivo":1}'))),
        "third channel": not refused(lambda: check_report(fields)),
        "device report": not refused(report),
        "services": "vivo" in asyncio.run(channel_names()),
    }))
    """
)


def _probe(drop: str) -> dict[str, bool]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, drop], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_vendor_is_its_registration_line() -> None:
    whole = _probe("-")
    assert whole == dict.fromkeys(whole, True)
    without = _probe("vivo")
    assert without == dict.fromkeys(whole, False)

"""The device actions: PushBind, PushUnBind and PushReport (response family A) and
PushQueryDeviceState (family C with ``Message``); and RegisterLiveActivity, a Tidings extension
answered like PushReport, since no MPS action carries a Live Activity's token."""

from __future__ import annotations

from tidings.devices.models import DeviceState
from tidings.devices.rules import (
    FACT_FIELDS,
    ActivityFields,
    BindFields,
    ReportFields,
    check_activity_registration,
    check_bind,
    check_report,
)
from tidings.openapi.actions import Body, Call, action
from tidings.openapi.envelopes import device_failure, device_result, push_failure, push_result


@action("PushBind", writes=True, failure=push_failure)
async def push_bind(call: Call) -> Body:
    p = call.params
    app = await call.app()
    binding = check_bind(
        BindFields(
            delivery_token=p.get("DeliveryToken"),
            os_type=p.get("OsType"),
            user_id=p.get("UserId"),
            phone_number=p.get("PhoneNumber"),
        )
    )
    await call.services.devices.bind(app.pk, binding)
    return push_result(call.request_id)


@action("PushUnBind", writes=True, failure=push_failure)
async def push_unbind(call: Call) -> Body:
    p = call.params
    app = await call.app()
    await call.services.devices.unbind(app.pk, p.get("DeliveryToken"), p.get("UserId"))
    return push_result(call.request_id)


@action("PushReport", writes=True, failure=push_failure)
async def push_report(call: Call) -> Body:
    p = call.params
    app = await call.app()
    report = check_report(
        ReportFields(
            delivery_token=p.get("DeliveryToken"),
            os_type=p.get("OsType"),
            third_channel=p.get("ThirdChannel"),
            third_token=p.get("ThirdChannelDeviceToken"),
            facts={name: p.get(name) for name in FACT_FIELDS},
        )
    )
    await call.services.devices.report(app.pk, report)
    return push_result(call.request_id)


@action("RegisterLiveActivity", writes=True, failure=push_failure)
async def register_live_activity(call: Call) -> Body:
    p = call.params
    app = await call.app()
    registration = check_activity_registration(
        ActivityFields(
            delivery_token=p.get("DeliveryToken"),
            push_token=p.get("PushToken"),
            activity_id=p.get("ActivityId"),
            attributes_type=p.get("AttributesType"),
        )
    )
    await call.services.devices.register_live_activity(app.pk, registration)
    return push_result(call.request_id)


@action("PushQueryDeviceState", writes=False, failure=device_failure)
async def push_query_device_state(call: Call) -> Body:
    p = call.params
    app = await call.app()
    state = await call.services.devices.state(app.pk, p.get("TargetType"), p.get("Target"))
    return device_result(call.request_id, _wire(state))


def _wire(state: DeviceState) -> dict[str, str]:
    """Data as MPS spells it, every value a string; DeviceId is the DeliveryToken, which is
    what MPS calls a device's id on the self-built channel."""
    device = state.device
    return {
        "UserId": device.user_id or "",
        "DeviceId": device.token,
        "DeliveryToken": device.token,
        "ThirdToken": device.third_token or "",
        "Platform": device.platform,
        "Manufacturer": device.manufacturer,
        "Statue": state.statue,
    }

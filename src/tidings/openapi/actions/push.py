"""The push actions (response family A): the wire names of their fields, mapped to the domain.

Each is served in both API versions: the old SDK (2019-08-21) sends a subset of the same fields,
and a field it does not know is simply absent. Each carries its call's nonce into the write that
accepts the push (``carries_nonce``: one transaction, one fsync, for the two).
"""

from __future__ import annotations

from typing import Any

from tidings.openapi.actions import V2019, V2020, Body, Call, action
from tidings.openapi.envelopes import push_failure, push_result
from tidings.openapi.form import Params
from tidings.openapi.options import OptionFields
from tidings.openapi.pushcalls import (
    TARGET_FIELDS,
    BroadcastFields,
    MultipleFields,
    SimpleFields,
    TemplatePushFields,
    target_columns,
    target_inputs,
)
from tidings.openapi.strategy import read_timing
from tidings.push.sms import SmsFields


def sms_fields(p: Params) -> SmsFields:
    """The SMS supplement fields, which PushSimple and PushTemplate carry."""
    return SmsFields(
        strategy=p.get("SmsStrategy"),
        template_code=p.get("SmsTemplateCode"),
        sign_name=p.get("SmsSignName"),
        template_param=p.object("SmsTemplateParam"),
    )


def common(p: Params, **options: str | dict | SmsFields | None) -> dict[str, Any]:
    """The call-wide fields every push action has (``CallFields``); ``options`` adds the option
    fields only some actions have."""
    return {
        "task_name": p.get("TaskName"),
        "delivery_type": p.get("DeliveryType"),
        "expired_seconds": p.get("ExpiredSeconds"),
        "timing": lambda: read_timing(p.get("StrategyType"), p.get("StrategyContent")),
        "options": OptionFields(
            notify_type=p.get("NotifyType"),
            silent=p.get("Silent"),
            push_action=p.get("PushAction"),
            classification=p.get("Classification"),
            extended_params=p.object("ExtendedParams"),
            third_channel_category=p.object("ThirdChannelCategory"),
            notify_level=p.object("NotifyLevel"),
            channel_id=p.get("ChannelId"),
            mi_channel_id=p.get("MiChannelId"),
            transparent_payload=p.object("TransparentMessagePayload"),
            transparent_urgency=p.get("TransparentMessageUrgency"),
            vendor_template=p.object("VendorTemplate"),
            activity_event=p.get("ActivityEvent"),
            activity_content_state=p.object("ActivityContentState"),
            dismissal_date=p.get("DismissalDate"),
            **options,
        ),
    }


@action(
    "PushMultiple", writes=True, failure=push_failure, versions=(V2019, V2020), carries_nonce=True
)
async def push_multiple(call: Call) -> Body:
    p = call.params
    app = await call.app()
    # Plain entries (nearly always) are read as columns; any other list entry by entry.
    columns = p.columns("TargetMsg", TARGET_FIELDS)
    fields = MultipleFields(
        **common(p),
        template_name=p.get("TemplateName"),
        target_count=p.count_items("TargetMsg") if columns is None else len(columns[0]),
    )
    task_id = await call.services.pushes.push_multiple(
        app,
        fields.call(),
        lambda: (
            target_inputs(p.items("TargetMsg", TARGET_FIELDS))
            if columns is None
            else target_columns(columns)
        ),
        call.caller(),
    )
    return push_result(call.request_id, str(task_id))


@action(
    "PushSimple", writes=True, failure=push_failure, versions=(V2019, V2020), carries_nonce=True
)
async def push_simple(call: Call) -> Body:
    p = call.params
    app = await call.app()
    fields = SimpleFields(
        **common(
            p,
            push_style=p.get("PushStyle"),
            image_urls=p.object("ImageUrls"),
            icon_urls=p.object("IconUrls"),
            sms=sms_fields(p),
        ),
        title=p.get("Title"),
        content=p.get("Content"),
        uri=p.get("Uri"),
        target_msgkey=p.object("TargetMsgkey"),
    )
    task_id = await call.services.pushes.push_simple(app, fields.call(), call.caller())
    return push_result(call.request_id, str(task_id))


@action(
    "PushTemplate", writes=True, failure=push_failure, versions=(V2019, V2020), carries_nonce=True
)
async def push_template(call: Call) -> Body:
    p = call.params
    app = await call.app()
    fields = TemplatePushFields(
        **common(p, sms=sms_fields(p)),
        template_name=p.get("TemplateName"),
        template_key_value=p.object("TemplateKeyValue"),
        target_msgkey=p.object("TargetMsgkey"),
    )
    task_id = await call.services.pushes.push_template(app, fields.call(), call.caller())
    return push_result(call.request_id, str(task_id))


@action(
    "PushBroadcast", writes=True, failure=push_failure, versions=(V2019, V2020), carries_nonce=True
)
async def push_broadcast(call: Call) -> Body:
    p = call.params
    app = await call.app()
    fields = BroadcastFields(
        **common(p, android_channel=p.get("AndroidChannel")),
        template_name=p.get("TemplateName"),
        template_key_value=p.object("TemplateKeyValue"),
        msg_key=p.get("Msgkey"),
        push_status=p.get("PushStatus"),
        bind_period=p.get("BindPeriod"),
        unbind_period=p.get("UnBindPeriod"),
        time_mode=p.get("TimeMode"),
        bind_start_time=p.get("BindStartTime"),
        bind_end_time=p.get("BindEndTime"),
        unbind_start_time=p.get("UnBindStartTime"),
        unbind_end_time=p.get("UnBindEndTime"),
    )
    task_id = await call.services.pushes.push_broadcast(app, fields.call(), call.caller())
    return push_result(call.request_id, str(task_id))

"""The push actions (response family A): the wire names of their fields, mapped to the domain."""

from __future__ import annotations

from tidings.openapi.actions import V2019, V2020, Body, Call, action
from tidings.openapi.envelopes import push_failure, push_result
from tidings.openapi.form import Params
from tidings.push.multiple import TARGET_FIELDS, MultipleFields
from tidings.push.options import OptionFields


def option_fields(p: Params) -> OptionFields:
    """The option parameters every push action shares."""
    return OptionFields(
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
    )


@action("PushMultiple", writes=True, failure=push_failure, versions=(V2019, V2020))
async def push_multiple(call: Call) -> Body:
    p = call.params
    app = await call.app()
    fields = MultipleFields(
        task_name=p.get("TaskName"),
        delivery_type=p.get("DeliveryType"),
        template_name=p.get("TemplateName"),
        expired_seconds=p.get("ExpiredSeconds"),
        strategy_type=p.get("StrategyType"),
        strategy_content=p.get("StrategyContent"),
        target_count=p.count_items("TargetMsg"),
        options=option_fields(p),
    )
    task_id = await call.services.pushes.push_multiple(
        app, fields, lambda: p.items("TargetMsg", TARGET_FIELDS)
    )
    return push_result(call.request_id, str(task_id))

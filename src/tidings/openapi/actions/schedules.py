"""QueryPushSchedulerList, QueryMpsSchedulerList and CancelPushScheduler (response family B).

The list actions answer ``ResultContent.Data.{TotalCount, List}``, ids as strings and times as
epoch milliseconds, typed as the SDK reads them; CancelPushScheduler's ``ResultContent`` is a
string (the number of occurrences it cancelled). QueryMpsSchedulerList is the older variant: no
TenantId, and the trigger-time window is optional.
"""

from __future__ import annotations

from typing import Any

from tidings.openapi.actions import Body, Call, action
from tidings.openapi.envelopes import query_failure, query_result
from tidings.schedule.listing import Occurrence, read_actions, read_list_query, read_unique_ids
from tidings.tenancy.models import App

CREATED_BY_API = 0  # CreateType: every Tidings push is created through the API


def _wire(item: Occurrence) -> dict[str, Any]:
    return {
        "UniqueId": str(item.unique_id),
        "ParentId": str(item.parent_id),
        "PushTime": item.push_time,
        "PushTitle": item.title,
        "PushContent": item.content,
        "Type": item.push_type,
        "DeliveryType": item.delivery_type,
        "StrategyType": item.strategy_type,
        "ExecutedStatus": item.executed_status,
        "CreateType": CREATED_BY_API,
        "GmtCreate": item.created_at,
    }


async def _list(call: Call, app: App, *, window_required: bool) -> Body:
    p = call.params
    query = read_list_query(
        p.get("StartTime"),
        p.get("EndTime"),
        p.get("Type"),
        p.get("UniqueId"),
        p.get("PageNumber"),
        p.get("PageSize"),
        window_required=window_required,
    )
    items, total = await call.services.occurrences.page(app.pk, query)
    return query_result(
        call.request_id, {"Data": {"TotalCount": total, "List": [_wire(i) for i in items]}}
    )


@action("QueryPushSchedulerList", writes=False, failure=query_failure)
async def query_push_scheduler_list(call: Call) -> Body:
    return await _list(call, await call.app(), window_required=True)


@action("QueryMpsSchedulerList", writes=False, failure=query_failure)
async def query_mps_scheduler_list(call: Call) -> Body:
    p = call.params
    app = await call.services.tenancy.resolve_app(p.get("WorkspaceId"), p.get("AppId"), None)
    return await _list(call, app, window_required=False)


@action("CancelPushScheduler", writes=True, failure=query_failure)
async def cancel_push_scheduler(call: Call) -> Body:
    p = call.params
    app = await call.app()
    ids = read_unique_ids(p.get("UniqueIds"))
    cancelled = await call.services.occurrences.cancel(app.pk, ids, read_actions(p.get("Type")))
    return query_result(call.request_id, str(cancelled))

"""The push analysis actions (response family B).

QueryPushAnalysisCoreIndex answers its figures as floats; ListAnalysisCoreIndex, the variant with
every field optional, answers the same figures as strings inside a ``ResultContent`` that has its
own ``Success`` and ``ResultMsg``. QueryPushAnalysisTaskList answers ``Data`` as a list of tasks,
each with the ``List`` of its occurrences; QueryPushAnalysisTaskDetail one task's span and counts.
"""

from __future__ import annotations

from typing import Any

from tidings.analytics.queries import Filters, read_filters, read_task_query
from tidings.analytics.service import TaskSummary
from tidings.errors import Code, ServiceError
from tidings.fields import read_task_id
from tidings.openapi.actions import Body, Call, action
from tidings.openapi.envelopes import query_failure, query_result
from tidings.schedule.listing import PUSH_TYPES


def _filters(call: Call, timezone: str, *, window_required: bool) -> Filters:
    p = call.params
    return read_filters(
        p.get("StartTime"),
        p.get("EndTime"),
        p.get("Platform"),
        p.get("Channel"),
        p.get("Type"),
        p.get("TaskId"),
        timezone=timezone,
        now_ms=call.services.analytics.now_ms(),
        window_required=window_required,
    )


@action("QueryPushAnalysisCoreIndex", writes=False, failure=query_failure)
async def query_push_analysis_core_index(call: Call) -> Body:
    app = await call.app()
    filters = _filters(call, app.timezone, window_required=True)
    counts = await call.services.analytics.core_index(app.pk, filters)
    return query_result(call.request_id, {"Data": counts.core_index()})


def _list_failure(request_id: str, error: ServiceError) -> Body:
    return {**query_failure(request_id, error), "Success": False}


@action("ListAnalysisCoreIndex", writes=False, failure=_list_failure)
async def list_analysis_core_index(call: Call) -> Body:
    app = await call.app()
    filters = _filters(call, app.timezone, window_required=False)
    counts = await call.services.analytics.core_index(app.pk, filters)
    content = {
        "Success": True,
        "ResultMsg": Code.SUCCESS.label,
        "Data": counts.core_index_text(),
    }
    return {**query_result(call.request_id, content), "Success": True}


def _task(item: TaskSummary) -> dict[str, Any]:
    return {
        "TaskId": str(item.task_id),
        "TaskName": item.name,
        "TemplateId": str(item.template_pk) if item.template_pk is not None else None,
        "TemplateName": item.template_name,
        "Type": PUSH_TYPES[item.action],
        "GmtCreate": item.created_at,
    }


@action("QueryPushAnalysisTaskList", writes=False, failure=query_failure)
async def query_push_analysis_task_list(call: Call) -> Body:
    p = call.params
    app = await call.app()
    query = read_task_query(
        p.get("StartTime"),
        p.get("TaskId"),
        p.get("TaskName"),
        p.get("PageNumber"),
        p.get("PageSize"),
    )
    items = await call.services.analytics.tasks(app.pk, query)
    data = [{**_task(i), "List": [_task(o) for o in i.occurrences]} for i in items]
    return query_result(call.request_id, {"Data": data})


@action("QueryPushAnalysisTaskDetail", writes=False, failure=query_failure)
async def query_push_analysis_task_detail(call: Call) -> Body:
    app = await call.app()
    detail = await call.services.analytics.task_detail(
        app.pk, read_task_id(call.params.get("TaskId"))
    )
    counts = detail.counts
    data = {
        "TaskId": detail.task_id,
        "StartTime": detail.start,
        "EndTime": detail.end,
        "Duration": str((detail.end - detail.start) // 1000),
        "PushNum": float(counts.pushed),
        "PushSuccessNum": float(counts.successful),
        "PushArrivalNum": float(counts.arrived),
    }
    return query_result(call.request_id, {"Data": data})

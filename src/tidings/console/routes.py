"""The console's URL map, mounted at /console by the application."""

from __future__ import annotations

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tidings.console.pages import (
    analytics,
    apps,
    auth,
    channels,
    devices,
    keys,
    push,
    scheduled,
    single,
    tasks,
    templates,
    trace,
    webhooks,
)
from tidings.console.web import HERE

APP = "/apps/{workspace}/{app_id}"
GET, POST, BOTH = ["GET"], ["POST"], ["GET", "POST"]


def console_mount() -> Mount:
    return Mount(
        "/console",
        routes=[
            Route("/", apps.overview, methods=GET),
            Route("/login", auth.login, methods=BOTH),
            Route("/logout", auth.logout, methods=POST),
            Route("/apps", apps.create, methods=POST),
            Route("/keys", keys.index, methods=GET),
            Route("/keys", keys.create, methods=POST),
            Route("/keys/{key_id}/{action:str}", keys.change, methods=POST),
            Route(APP + "/templates", templates.index, methods=GET),
            Route(APP + "/templates/new", templates.new, methods=BOTH),
            Route(APP + "/templates/preview", templates.live_preview, methods=POST),
            Route(APP + "/templates/{template_id}", templates.edit, methods=BOTH),
            Route(APP + "/templates/{template_id}/delete", templates.delete, methods=POST),
            Route(APP + "/push", push.compose, methods=GET),
            Route(APP + "/push/batch", push.send_batch, methods=POST),
            Route(APP + "/push/template", single.template_push, methods=BOTH),
            Route(APP + "/push/simple", single.simple_push, methods=BOTH),
            Route(APP + "/scheduled", scheduled.index, methods=GET),
            Route(APP + "/scheduled/{task_id}/cancel", scheduled.cancel, methods=POST),
            Route(APP + "/tasks", tasks.index, methods=GET),
            Route(APP + "/tasks/{task_id}", tasks.detail, methods=GET),
            Route(APP + "/trace", trace.index, methods=GET),
            Route(APP + "/devices", devices.index, methods=GET),
            Route(APP + "/analytics", analytics.index, methods=GET),
            Route(APP + "/channels", channels.index, methods=GET),
            Route(APP + "/channels", channels.save, methods=POST),
            Route(APP + "/channels/{channel}/delete", channels.remove, methods=POST),
            Route(APP + "/webhooks", webhooks.index, methods=GET),
            Route(APP + "/webhooks", webhooks.add, methods=POST),
            Route(APP + "/webhooks/{endpoint}/test", webhooks.test, methods=POST),
            Route(APP + "/webhooks/{endpoint}/replay", webhooks.replay, methods=POST),
            Route(APP + "/webhooks/{endpoint}/enable", webhooks.enable, methods=POST),
            Route(APP + "/webhooks/{endpoint}/delete", webhooks.remove, methods=POST),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
    )

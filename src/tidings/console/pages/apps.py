"""The apps and workspaces the operator may see, and adding an app to one of them."""

from __future__ import annotations

from zoneinfo import available_timezones

from starlette.responses import Response

from tidings.console.fielderrors import input_for
from tidings.console.web import Context, app_url, page, redirect
from tidings.tenancy.models import DEFAULT_TIMEZONE
from tidings.tenancy.service import TenancyError

# Tenancy's arguments -> this form's inputs.
FIELDS = {
    "workspace": "workspace",
    "app_id": "app_id",
    "tenant_id": "tenant",
    "timezone": "timezone",
}
ZONES = sorted(available_timezones())


@page
async def overview(ctx: Context) -> Response:
    return await _overview(ctx, {"timezone": DEFAULT_TIMEZONE}, {})


@page
async def create(ctx: Context) -> Response:
    values = {name: ctx.field(name).strip() for name in FIELDS.values()}
    workspace = values["workspace"]
    if not ctx.operator.may_see(workspace):
        error = f"you may add apps only to your workspaces ({_listed(ctx)})"
        return await _overview(ctx, values, {"workspace": error}, status=403)
    try:
        made = await ctx.services.tenancy.create_app(
            workspace,
            values["app_id"],
            values["tenant"] or None,
            values["timezone"] or DEFAULT_TIMEZONE,
        )
    except TenancyError as exc:
        field = input_for(exc.path, FIELDS)
        return await _overview(ctx, values, {field: str(exc)}, status=400)
    return redirect(app_url(made, "/templates"), f"Created app {made.app_id}.")


async def _overview(
    ctx: Context, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    apps = await ctx.visible_apps()
    by_workspace: dict[str, list] = {w: [] for w in sorted(ctx.operator.workspaces)}
    for app in apps:
        by_workspace.setdefault(app.workspace, []).append(app)
    return ctx.render(
        "apps.html",
        status=status,
        workspaces=sorted(by_workspace.items()),
        values=values,
        errors=errors,
        zones=ZONES,
    )


def _listed(ctx: Context) -> str:
    return ", ".join(sorted(ctx.operator.workspaces)) or "none"

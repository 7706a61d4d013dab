"""AccessKeys of the operator's workspaces: create (the secret shown this once), disable, delete."""

from __future__ import annotations

from starlette.responses import Response

from tidings.console.fielderrors import input_for
from tidings.console.paging import Paging
from tidings.console.web import Context, NotFound, page, redirect
from tidings.tenancy.models import AccessKey
from tidings.tenancy.service import TenancyError

FIELDS = {"workspace": "workspace", "app_ids": "apps"}  # tenancy's arguments -> inputs
ACTIONS = {"delete": "Deleted", "enable": "Enabled", "disable": "Disabled"}


@page
async def index(ctx: Context) -> Response:
    return await _index(ctx, {}, {})


@page
async def create(ctx: Context) -> Response:
    workspace = ctx.field("workspace")
    app_ids = [v for v in ctx.form.getlist("apps") if isinstance(v, str) and v]
    read_only = ctx.field("read_only") == "1"
    values = {"workspace": workspace, "apps": app_ids, "read_only": read_only}
    if not ctx.operator.may_see(workspace):
        return await _index(ctx, values, {"workspace": "choose one of your workspaces"}, 400)
    try:
        key, secret = await ctx.services.tenancy.create_key(workspace, app_ids, read_only)
    except TenancyError as exc:
        field = input_for(exc.path, FIELDS)
        return await _index(ctx, values, {field: str(exc)}, 400)
    # Shown in this answer only: never in a URL, a cookie or a log.
    return ctx.render("key_created.html", key=key, secret=secret)


@page
async def change(ctx: Context) -> Response:
    """Disable, enable or delete one key of the operator's workspaces."""
    action = ctx.request.path_params["action"]
    if action not in ACTIONS:
        raise NotFound(f"no action {action!r} on AccessKeys")
    key = await _key(ctx)
    tenancy = ctx.services.tenancy
    try:
        if action == "delete":
            await tenancy.delete_key(key.access_key_id)
        else:
            await tenancy.set_key_active(key.access_key_id, action == "enable")
    except TenancyError as exc:  # deleted meanwhile, from another page or the command line
        raise NotFound(str(exc)) from None
    return redirect("/console/keys", f"{ACTIONS[action]} AccessKey {key.access_key_id}.")


async def _key(ctx: Context) -> AccessKey:
    wanted = ctx.request.path_params["key_id"]
    for key in await ctx.services.tenancy.keys():
        if key.access_key_id == wanted and ctx.operator.may_see(key.workspace):
            return key
    raise NotFound(f"no AccessKey {wanted} in your workspaces")


async def _index(
    ctx: Context, values: dict[str, object], errors: dict[str, str], status: int = 200
) -> Response:
    keys = [k for k in await ctx.services.tenancy.keys() if ctx.operator.may_see(k.workspace)]
    keys.reverse()  # newest first
    paging = Paging.of(ctx.request.query_params.get("page"), len(keys))
    apps = await ctx.visible_apps()
    workspaces = sorted({a.workspace for a in apps})
    return ctx.render(
        "keys.html",
        status=status,
        keys=keys[paging.offset : paging.offset + paging.size],
        paging=paging,
        apps=apps,
        workspaces=workspaces,
        values=values,
        errors=errors,
    )

"""Templates: the list, the form that creates or changes one, its live preview, deletion."""

from __future__ import annotations

from dataclasses import replace

from starlette.responses import Response

from tidings.console.fielderrors import field_errors
from tidings.console.paging import PAGE_SIZE, Paging
from tidings.console.preview import preview
from tidings.console.web import Context, app_url, page, redirect
from tidings.errors import ServiceError
from tidings.templates.models import Template
from tidings.templates.rules import TemplateFields, draft
from tidings.tenancy.models import App

# MPS parameter names (as the domain's messages use them) -> this form's inputs.
FIELDS = {
    "TemplateName": "name",
    "DescInfo": "description",
    "Title": "title",
    "Content": "content",
    "Uri": "uri",
    "Variables": "content",
    "ShowStyle": "show_style",
    "PushStyle": "push_style",
    "JumpAction": "jump_action",
    "ImageUrls": "image_urls",
    "IconUrls": "icon_urls",
}
INPUTS = tuple(dict.fromkeys(FIELDS.values()))
SAMPLE = "sample."


@page
async def index(ctx: Context) -> Response:
    app = await ctx.app()
    items, total, number, size = await ctx.services.templates.page(
        app.pk, ctx.request.query_params.get("page"), str(PAGE_SIZE)
    )
    return ctx.render(
        "templates_list.html",
        app=app,
        templates=items,
        paging=Paging(number, size, total),
    )


@page
async def new(ctx: Context) -> Response:
    """The empty form (GET), or create from it (POST)."""
    app = await ctx.app()
    if ctx.request.method == "GET":
        return _form(ctx, app, values=dict.fromkeys(INPUTS, ""))
    values = _values(ctx)
    if ctx.field("intent") != "preview":
        try:
            made = await ctx.services.templates.create(app.pk, _fields(values))
        except ServiceError as exc:
            return _form(ctx, app, values=values, errors=field_errors(exc, FIELDS), status=400)
        return redirect(app_url(app, "/templates"), f"Created template {made.name}.")
    return _form(ctx, app, values=values)


@page
async def edit(ctx: Context) -> Response:
    """A template's form filled in (GET), or save the change (POST)."""
    app = await ctx.app()
    template_id = ctx.request.path_params["template_id"]
    try:
        template = await ctx.services.templates.get(app.pk, template_id, None)
    except ServiceError as exc:
        return _missing(ctx, app, exc)
    if ctx.request.method == "GET":
        return _form(ctx, app, values=_stored(template), template=template)
    values = _values(ctx)
    if ctx.field("intent") != "preview":
        try:
            changed = await ctx.services.templates.update(app.pk, template_id, _fields(values))
        except ServiceError as exc:
            errors = field_errors(exc, FIELDS)
            return _form(ctx, app, values=values, template=template, errors=errors, status=400)
        return redirect(
            app_url(app, "/templates"),
            f"Saved template {changed.name} (revision {changed.revision}).",
        )
    return _form(ctx, app, values=values, template=template)


@page
async def delete(ctx: Context) -> Response:
    app = await ctx.app()
    try:
        template = await ctx.services.templates.get(
            app.pk, ctx.request.path_params["template_id"], None
        )
        await ctx.services.templates.delete(app.pk, str(template.pk), None)
    except ServiceError as exc:
        return _missing(ctx, app, exc)
    return redirect(app_url(app, "/templates"), f"Deleted template {template.name}.")


@page
async def live_preview(ctx: Context) -> Response:
    """The preview fragment for the form as it stands; the page's script asks for it as the
    operator types."""
    await ctx.app()
    values = _values(ctx)
    return ctx.render("_template_preview.html", **_preview_values(ctx, values))


def _form(
    ctx: Context,
    app: App,
    *,
    values: dict[str, str],
    template: Template | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return ctx.render(
        "template_form.html",
        status=status,
        app=app,
        template=template,
        values=values,
        errors=errors or {},
        **_preview_values(ctx, values),
    )


def _preview_values(ctx: Context, values: dict[str, str]) -> dict[str, object]:
    """The preview, and the first problem the rules find in the form as it stands; a required
    field still empty is not a problem yet, so stand-ins let the rules look further."""
    samples = {
        key.removeprefix(SAMPLE): value
        for key, value in ctx.form.multi_items()
        if key.startswith(SAMPLE) and isinstance(value, str)
    }
    problems: dict[str, str] = {}
    try:
        fields = _fields(values)
        draft(
            replace(
                fields,
                name=fields.name or "_",
                title=fields.title or "_",
                content=fields.content or "_",
            )
        )
    except ServiceError as exc:
        problems = field_errors(exc, FIELDS)
    shown = preview(values["title"], values["content"], values["uri"], samples)
    return {"preview": shown, "problems": problems}


def _values(ctx: Context) -> dict[str, str]:
    return {name: ctx.field(name) for name in INPUTS}


def _fields(values: dict[str, str]) -> TemplateFields:
    return TemplateFields(
        name=values["name"],
        description=values["description"],
        title=values["title"],
        content=values["content"],
        uri=values["uri"],
        show_style=values["show_style"],
        push_style=values["push_style"],
        jump_action=values["jump_action"],
        image_urls=values["image_urls"],
        icon_urls=values["icon_urls"],
    )


def _stored(template: Template) -> dict[str, str]:
    return {
        "name": template.name,
        "description": template.description or "",
        "title": template.title,
        "content": template.content,
        "uri": template.uri or "",
        "show_style": str(template.show_style),
        "push_style": str(template.push_style),
        "jump_action": str(template.jump_action),
        "image_urls": template.image_urls or "",
        "icon_urls": template.icon_urls or "",
    }


def _missing(ctx: Context, app: App, exc: ServiceError) -> Response:
    return ctx.render("not_found.html", status=404, message=exc.detail, app=app)

"""CreateTemplate, GetTemplate, ListTemplatePage and DeleteTemplate (response family C)."""

from __future__ import annotations

from tidings.openapi.actions import Body, Call, action
from tidings.openapi.envelopes import service_failure, service_result
from tidings.templates.models import Template
from tidings.templates.rules import TemplateFields


def _wire(template: Template) -> dict[str, str]:
    """GetTemplate's Data object: every value a string, output names as MPS spells them."""
    return {
        "Id": str(template.pk),
        "Name": template.name,
        "Title": template.title,
        "Content": template.content,
        "DescInfo": template.description or "",
        "Uri": template.uri or "",
        "Action": str(template.jump_action),
        "PushStyle": str(template.push_style),
        "ShowStyle": str(template.show_style),
        "ImageUrls": template.image_urls or "",
        "IconUrls": template.icon_urls or "",
        "Variables": ",".join(template.variables),
        "GmtCreate": str(template.created_at),
        "GmtModified": str(template.updated_at),
    }


@action("CreateTemplate", writes=True, failure=service_failure)
async def create_template(call: Call) -> Body:
    p = call.params
    app = await call.app()
    fields = TemplateFields(
        name=p.get("TemplateName"),
        description=p.get("DescInfo"),
        title=p.get("Title"),
        content=p.get("Content"),
        uri=p.get("Uri"),
        variables=p.get("Variables"),
        show_style=p.get("ShowStyle"),
        push_style=p.get("PushStyle"),
        jump_action=p.get("JumpAction"),
        image_urls=p.get("ImageUrls"),
        icon_urls=p.get("IconUrls"),
    )
    template = await call.services.templates.create(app.pk, fields)
    return service_result(call.request_id, str(template.pk))


@action("GetTemplate", writes=False, failure=service_failure)
async def get_template(call: Call) -> Body:
    app = await call.app()
    template = await call.services.templates.get(
        app.pk, call.params.get("TemplateId"), call.params.get("TemplateName")
    )
    return service_result(call.request_id, _wire(template))


@action("ListTemplatePage", writes=False, failure=service_failure)
async def list_template_page(call: Call) -> Body:
    app = await call.app()
    items, total, number, size = await call.services.templates.page(
        app.pk, call.params.get("CurrentPage"), call.params.get("PageSize")
    )
    return service_result(
        call.request_id,
        [_wire(t) for t in items],
        CurrentPage=number,
        PageSize=size,
        TotalSize=total,
    )


@action("DeleteTemplate", writes=True, failure=service_failure)
async def delete_template(call: Call) -> Body:
    app = await call.app()
    await call.services.templates.delete(
        app.pk, call.params.get("TemplateId"), call.params.get("TemplateName")
    )
    return service_result(call.request_id)

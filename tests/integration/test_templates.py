"""The template actions through the new SDK: CRUD, their result codes, tenancy codes, the limit."""

from __future__ import annotations

import pytest
from alibabacloud_mpaas20201028 import models

from tests.support.clients import new_sdk
from tests.support.servers import Server, running_server

WORKSPACE = "tplws"
APP = "ONEXTPL000000001"
TENANT_APP = "ONEXTPL000000002"
LISTED_APP = "ONEXTPL000000003"
TENANT = "LZFPEFIM"
# GetTemplate's Data object as the SDK maps it (mps-openapi.md §7.2): every value a string.
DATA_FIELDS = {
    "Id",
    "Name",
    "Title",
    "Content",
    "DescInfo",
    "Uri",
    "Action",
    "PushStyle",
    "ShowStyle",
    "ImageUrls",
    "IconUrls",
    "Variables",
    "GmtCreate",
    "GmtModified",
}


@pytest.fixture(scope="module")
def client(server: Server):
    server.create_app(WORKSPACE, APP)
    server.create_app(WORKSPACE, TENANT_APP, "--tenant", TENANT)
    server.create_app(WORKSPACE, LISTED_APP)
    return new_sdk(server, server.create_key(WORKSPACE))


def create(client, name: str, *, app: str = APP, **fields):
    fields.setdefault("title", "Prize for #name#")
    fields.setdefault("content", "Hello #name#, you won #money# yuan")
    return client.create_template(
        models.CreateTemplateRequest(
            app_id=app, workspace_id=WORKSPACE, template_name=name, **fields
        )
    ).body


def get(client, *, app: str = APP, **which):
    return client.get_template(
        models.GetTemplateRequest(app_id=app, workspace_id=WORKSPACE, **which)
    ).body


def test_create_then_get_by_id_and_by_name(client) -> None:
    created = create(
        client,
        "Test template",
        desc_info="the seed's template",
        uri="mpaas://landing/#page#",
        variables="name,money,page",
        show_style=1,
        push_style=2,
        jump_action=1,
        image_urls='{"defaultUrl":"https://example.com/a.png"}',
        icon_urls='{"hmsUrl":"https://example.com/i.png"}',
    )
    assert (created.success, created.code, created.msg) == (True, "100", "SUCCESS")
    assert created.data.isdigit()

    by_id = get(client, template_id=created.data).to_map()
    by_name = get(client, template_name="Test template").to_map()
    assert by_id["Success"] is True and by_id["Code"] == "100"
    assert by_id["Data"] == by_name["Data"]
    data = by_id["Data"]
    assert set(data) == DATA_FIELDS
    assert all(isinstance(value, str) for value in data.values()), data
    assert data["Id"] == created.data
    assert data["Name"] == "Test template"
    assert data["Title"] == "Prize for #name#"
    assert data["Content"] == "Hello #name#, you won #money# yuan"
    assert data["DescInfo"] == "the seed's template"
    assert data["Uri"] == "mpaas://landing/#page#"
    assert (data["Action"], data["PushStyle"], data["ShowStyle"]) == ("1", "2", "1")
    assert data["Variables"] == "name,money,page"
    assert data["ImageUrls"] == '{"defaultUrl":"https://example.com/a.png"}'
    assert data["GmtCreate"].isdigit() and data["GmtModified"] == data["GmtCreate"]


def test_list_template_page_pages_newest_first(client) -> None:
    names = [f"page-{i}" for i in range(5)]
    for name in names:
        assert create(client, name, app=LISTED_APP).success

    def page(current: int, size: int) -> dict:
        return client.list_template_page(
            models.ListTemplatePageRequest(
                app_id=LISTED_APP, workspace_id=WORKSPACE, current_page=current, page_size=size
            )
        ).body.to_map()

    first, last = page(1, 2), page(3, 2)
    assert (first["CurrentPage"], first["PageSize"], first["TotalSize"]) == (1, 2, 5)
    assert [t["Name"] for t in first["Data"]] == ["page-4", "page-3"]
    assert (last["CurrentPage"], last["TotalSize"]) == (3, 5)
    assert [t["Name"] for t in last["Data"]] == ["page-0"]
    assert all(set(t) == DATA_FIELDS for t in first["Data"] + last["Data"])
    assert page(4, 2)["Data"] == []
    assert page(1_000_000_000, 500)["Data"] == []
    past = client.list_template_page(
        models.ListTemplatePageRequest(
            app_id=LISTED_APP, workspace_id=WORKSPACE, current_page=10**19, page_size=500
        )
    ).body
    assert (past.success, past.code) == (False, "3028")
    assert "CurrentPage must be at most 1000000000" in past.msg


def test_delete_template_by_id_and_by_name(client) -> None:
    made = create(client, "short-lived")
    create(client, "short-lived too")
    ask = models.DeleteTemplateRequest(app_id=APP, workspace_id=WORKSPACE, template_id=made.data)
    assert client.delete_template(ask).body.to_map().keys() == {
        "RequestId",
        "Success",
        "Code",
        "Msg",
    }
    gone = get(client, template_id=made.data)
    assert (gone.success, gone.code) == (False, "3022")
    again = client.delete_template(ask).body
    assert (again.success, again.code) == (False, "3022")

    by_name = models.DeleteTemplateRequest(
        app_id=APP, workspace_id=WORKSPACE, template_name="short-lived too"
    )
    assert client.delete_template(by_name).body.success
    # The name is free again.
    assert create(client, "short-lived too").success


@pytest.mark.parametrize(
    ("name", "code", "named"),
    [
        ("duplicate", "3036", "'duplicate' already exists"),
        ("", "3037", "TemplateName is required"),
        (None, "3037", "TemplateName is required"),
        ("a,b", "3038", "contains a comma"),
    ],
)
def test_create_template_refusals(client, name, code: str, named: str) -> None:
    if code == "3036":
        create(client, name)
    refused = create(client, name)
    assert (refused.success, refused.code, refused.data) == (False, code, None)
    assert named in refused.msg


@pytest.mark.parametrize("which", [{"template_id": "999999"}, {"template_name": "no such"}])
def test_unknown_template_is_3022(client, which) -> None:
    answer = get(client, **which)
    assert (answer.success, answer.code) == (False, "3022")
    assert "no template" in answer.msg


@pytest.mark.parametrize(
    ("where", "code", "named"),
    [
        ({"app_id": "NOSUCHAPP", "workspace_id": WORKSPACE}, "8012", "NOSUCHAPP"),
        ({"workspace_id": WORKSPACE}, "3003", "AppId"),
        ({"app_id": APP}, "3003", "WorkspaceId"),
        ({"app_id": TENANT_APP, "workspace_id": WORKSPACE, "tenant_id": "OTHER"}, "8013", "OTHER"),
    ],
)
def test_app_resolution_codes(client, where, code: str, named: str) -> None:
    answer = client.list_template_page(models.ListTemplatePageRequest(**where)).body
    assert (answer.success, answer.code) == (False, code)
    assert named in answer.msg


def test_the_right_tenant_is_accepted(client) -> None:
    answer = client.list_template_page(
        models.ListTemplatePageRequest(app_id=TENANT_APP, workspace_id=WORKSPACE, tenant_id=TENANT)
    ).body
    assert (answer.success, answer.total_size) == (True, 0)


def test_templates_per_app_limit_is_a_setting(server: Server, tmp_path) -> None:
    settings = {"TIDINGS_MAX_TEMPLATES_PER_APP": "3"}
    with running_server(server.kind, tmp_path, settings) as limited:
        limited.create_app(WORKSPACE, APP)
        client = new_sdk(limited, limited.create_key(WORKSPACE))
        made = [create(client, f"limited {i}") for i in range(3)]
        assert all(m.success for m in made)
        refused = create(client, "one too many")
        assert (refused.success, refused.code) == (False, "3028")
        assert "already has 3 templates" in refused.msg
        assert "delete one first" in refused.msg
        client.delete_template(
            models.DeleteTemplateRequest(
                app_id=APP, workspace_id=WORKSPACE, template_id=made[0].data
            )
        )
        assert create(client, "one too many").success

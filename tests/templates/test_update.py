"""Changing a template on real SQLite and PostgreSQL: every field replaced, the revision bumped,
the same rules and codes as creation, and the push path's cache following the change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.servers import postgres_schema
from tidings.config import Settings
from tidings.errors import Code, ServiceError
from tidings.services import Services
from tidings.store import templates as template_store
from tidings.templates.rules import TemplateFields
from tidings.tenancy.models import App


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


CLOCK = Clock()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture
async def world(database_url: str | None, tmp_path: Path) -> AsyncIterator[tuple[Services, App]]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, key_cache_seconds=60)
    services = await Services.open(settings, clock=CLOCK)
    try:
        app = await services.tenancy.create_app("ws", "APP1")
        yield services, app
    finally:
        await services.aclose()


def fields(name: str = "greeting", **changes: str) -> TemplateFields:
    values = {"name": name, "title": "Hi #name#", "content": "You won #money#"} | changes
    return TemplateFields(**values)


async def test_an_update_replaces_the_fields_and_bumps_the_revision(
    world: tuple[Services, App],
) -> None:
    services, app = world
    made = await services.templates.create(app.pk, fields(uri="app://#id#", description="d"))
    assert made.variables == ("name", "money", "id")
    CLOCK.now += 5
    changed = await services.templates.update(
        app.pk, str(made.pk), fields("renamed", title="Hello", content="#who# is here")
    )
    assert (changed.pk, changed.name, changed.revision) == (made.pk, "renamed", 2)
    assert (changed.title, changed.content, changed.uri, changed.description) == (
        "Hello",
        "#who# is here",
        None,
        None,
    )
    assert changed.variables == ("who",)
    assert changed.created_at == made.created_at
    assert changed.updated_at == made.updated_at + 5000
    assert await services.templates.get(app.pk, str(made.pk), None) == changed


async def test_the_push_path_sees_the_change_at_once_in_this_process(
    world: tuple[Services, App],
) -> None:
    services, app = world
    made = await services.templates.create(app.pk, fields())
    assert (await services.templates.compiled(app.pk, "greeting")).names == ("name", "money")
    await services.templates.update(app.pk, str(made.pk), fields(content="Only #money#"))
    assert (await services.templates.compiled(app.pk, "greeting")).names == ("name", "money")
    await services.templates.update(app.pk, str(made.pk), fields("other", title="T"))
    with pytest.raises(ServiceError) as gone:
        await services.templates.compiled(app.pk, "greeting")
    assert gone.value.code is Code.TEMPLATE_NOT_EXIST
    assert (await services.templates.compiled(app.pk, "other")).names == ("money",)


@pytest.mark.parametrize(
    ("template_id", "change", "code"),
    [
        (None, fields(), Code.INVALID_PARAM),
        ("999", fields(), Code.TEMPLATE_NOT_EXIST),
        ("abc", fields(), Code.INVALID_PARAM),
        ("mine", fields(title=""), Code.TEMPLATE_TITLE_INVALID),
        ("mine", fields("bad,name"), Code.TEMPLATE_NAME_INVALID),
        ("mine", fields("taken"), Code.TEMPLATE_ALREADY_EXIST),
    ],
)
async def test_a_refused_update_changes_nothing(
    world: tuple[Services, App], template_id: str | None, change: TemplateFields, code: Code
) -> None:
    services, app = world
    made = await services.templates.create(app.pk, fields())
    await services.templates.create(app.pk, fields("taken"))
    with pytest.raises(ServiceError) as refused:
        await services.templates.update(
            app.pk, str(made.pk) if template_id == "mine" else template_id, change
        )
    assert refused.value.code is code
    assert await services.templates.get(app.pk, str(made.pk), None) == made


async def test_a_template_of_another_app_is_not_found(world: tuple[Services, App]) -> None:
    services, app = world
    other = await services.tenancy.create_app("ws", "APP2")
    made = await services.templates.create(other.pk, fields())
    with pytest.raises(ServiceError) as refused:
        await services.templates.update(app.pk, str(made.pk), fields())
    assert refused.value.code is Code.TEMPLATE_NOT_EXIST


async def test_the_calls_that_miss_the_lapsed_cache_together_read_the_template_once(
    world: tuple[Services, App], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, app = world
    await services.templates.create(app.pk, fields())
    reads: list[str] = []
    find = template_store.find

    def counted(*args: object, **kwargs: object) -> object:
        reads.append("find")
        return find(*args, **kwargs)

    monkeypatch.setattr(template_store, "find", counted)
    compiled = [services.templates.compiled(app.pk, "greeting") for _ in range(20)]
    assert {t.names for t in await asyncio.gather(*compiled)} == {("name", "money")}
    assert reads == ["find"]

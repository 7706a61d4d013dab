"""Template CRUD for an app, and compiled templates for the push path.

Pushes look templates up by name on every call, so compiled templates are cached per app for
``cache_seconds``; a template deleted or changed in another process stays usable as it was that
long at most. A change never reaches pushes already accepted: their messages were rendered then.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict

from cachetools import TTLCache
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from tidings.errors import Code, ServiceError, refused
from tidings.fields import read_int
from tidings.gathering import SingleFlight
from tidings.store import templates as store
from tidings.store.database import Database
from tidings.templates.models import CompiledTemplate, Template
from tidings.templates.rules import TemplateDraft, TemplateFields, draft

MAX_PAGE_SIZE = 500
# Far past any app's last page, and low enough that the row offset fits a 64-bit integer.
MAX_PAGE_NUMBER = 1_000_000_000


class Templates:
    def __init__(
        self,
        db: Database,
        *,
        max_per_app: int = 100,
        clock: Callable[[], float] = time.time,
        cache_seconds: float = 1.0,
    ) -> None:
        self._db = db
        self._max_per_app = max_per_app
        self._clock = clock
        # Cached; when a template lapses, the calls that miss it together share one read.
        self._compiled: SingleFlight[tuple[int, str], CompiledTemplate | None] = SingleFlight(
            self._read_compiled, TTLCache(maxsize=10_000, ttl=cache_seconds, timer=clock)
        )

    async def create(self, app_pk: int, fields: TemplateFields) -> Template:
        spec = draft(fields)
        try:
            return await self._db.write(self._insert, app_pk, spec, int(self._clock() * 1000))
        except IntegrityError:  # another process created the same name in between
            raise _exists(spec.name) from None

    def _insert(self, conn: Connection, app_pk: int, spec: TemplateDraft, now_ms: int) -> Template:
        if store.find(conn, app_pk, name=spec.name) is not None:
            raise _exists(spec.name)
        if store.count(conn, app_pk) >= self._max_per_app:
            raise ServiceError(
                Code.INVALID_PARAM,
                f"the app already has {self._max_per_app} templates, the most it may have; "
                "delete one first",
            )
        values = asdict(spec)
        values.update(
            app_pk=app_pk,
            variables=",".join(spec.variables),
            revision=1,
            created_at=now_ms,
            updated_at=now_ms,
        )
        return Template.from_row(store.insert_template(conn, values))

    async def get(self, app_pk: int, template_id: str | None, name: str | None) -> Template:
        pk = _template_pk(template_id)
        if pk is None and not name:
            raise ServiceError(Code.INVALID_PARAM, "give TemplateId or TemplateName")
        row = await self._db.read(store.find, app_pk, pk=pk, name=name or None)
        if row is None:
            shown = f"id {template_id}" if pk is not None else f"name {name!r}"
            raise ServiceError(Code.TEMPLATE_NOT_EXIST, f"no template with {shown} in this app")
        return Template.from_row(row)

    async def page(
        self, app_pk: int, current_page: str | None, page_size: str | None
    ) -> tuple[list[Template], int, int, int]:
        """One page, newest first: (templates, total, page number, page size)."""
        number = read_int(
            current_page,
            "CurrentPage",
            Code.INVALID_PARAM,
            default=1,
            minimum=1,
            maximum=MAX_PAGE_NUMBER,
        )
        size = read_int(
            page_size, "PageSize", Code.INVALID_PARAM, default=10, minimum=1, maximum=MAX_PAGE_SIZE
        )
        assert number is not None and size is not None
        rows, total = await self._db.read(store.page, app_pk, (number - 1) * size, size)
        return [Template.from_row(r) for r in rows], total, number, size

    async def update(
        self, app_pk: int, template_id: str | None, fields: TemplateFields
    ) -> Template:
        """Replace every field of a template, its name too; its revision goes up by one."""
        pk = _template_pk(template_id)
        if pk is None:
            raise refused(Code.INVALID_PARAM, "TemplateId", "is required to change a template")
        spec = draft(fields)
        try:
            old_name, template = await self._db.write(
                self._replace, app_pk, pk, spec, int(self._clock() * 1000)
            )
        except IntegrityError:  # another process took the new name in between
            raise _exists(spec.name) from None
        self._compiled.forget((app_pk, old_name))
        self._compiled.forget((app_pk, template.name))
        return template

    def _replace(
        self, conn: Connection, app_pk: int, pk: int, spec: TemplateDraft, now_ms: int
    ) -> tuple[str, Template]:
        row = store.find(conn, app_pk, pk=pk)
        if row is None:
            raise ServiceError(Code.TEMPLATE_NOT_EXIST, f"no template with id {pk} in this app")
        if spec.name != row.name and store.find(conn, app_pk, name=spec.name) is not None:
            raise _exists(spec.name)
        values = asdict(spec)
        values.update(
            variables=",".join(spec.variables), revision=row.revision + 1, updated_at=now_ms
        )
        return row.name, Template.from_row(store.update_template(conn, pk, values))

    async def delete(self, app_pk: int, template_id: str | None, name: str | None) -> None:
        template = await self.get(app_pk, template_id, name)
        await self._db.write(store.delete_template, template.pk)
        self._compiled.forget((app_pk, template.name))

    async def compiled(self, app_pk: int, name: str | None) -> CompiledTemplate:
        """The named template, ready to render; 3025 without a name, 3022 when there is none."""
        if not name:
            raise refused(Code.NEED_TEMPLATE, "TemplateName", "is required")
        key = (app_pk, name)
        found = await self._compiled(key)
        if found is None:
            raise ServiceError(Code.TEMPLATE_NOT_EXIST, f"no template named {name!r} in this app")
        return found

    async def _read_compiled(self, key: tuple[int, str]) -> CompiledTemplate | None:
        app_pk, name = key
        row = await self._db.read(store.find, app_pk, name=name)
        return CompiledTemplate.of(Template.from_row(row)) if row else None


def _exists(name: str) -> ServiceError:
    return ServiceError(Code.TEMPLATE_ALREADY_EXIST, f"a template named {name!r} already exists")


def _template_pk(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise refused(Code.INVALID_PARAM, "TemplateId", f"must be a template id, got {raw[:40]!r}")
    return int(raw)

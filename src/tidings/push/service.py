"""Accepting pushes: validate, render, and commit the task before answering.

The four push actions differ in how a call becomes a ``PushPlan`` (push/simple.py, template.py,
multiple.py, broadcast.py); from the plan on they share one path, ``_accept``: the digest, the
msgKey check, the write of the task, its messages and its occurrences, and the wake-ups.

msgKeys are unique per app within the retry window (the 24 hours before a call; older messages
are looked up by msgKey only to trace or revoke them, store/msg_keys.py says why). A call whose
msgKeys all belong to one earlier task with the same digest is a retry of that task: it gets that
task's id and nothing new is written. Any other reuse of a msgKey is refused, naming the entry.
The digest is computed only then, of the call and of the earlier task's stored rows, so the
calls that collide with nothing (nearly all) never pay for it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from tidings import supplement
from tidings.errors import Code, ServiceError
from tidings.push import broadcast, simple, template
from tidings.push.broadcast import BroadcastCall
from tidings.push.models import CallSpec, PushLimits, PushPlan, RenderedMessage, fingerprint
from tidings.push.multiple import (
    MultipleCall,
    TargetEntry,
    check_call,
    check_targets,
    render_targets,
)
from tidings.push.options import with_template_style
from tidings.push.simple import SimpleCall
from tidings.push.template import TemplateCall
from tidings.schedule.acceptance import add_occurrences, check_room
from tidings.store import msg_keys
from tidings.store import pushes as store
from tidings.store.database import Database
from tidings.store.nonces import Nonce, write_claiming
from tidings.tasks import ACCEPTED, MULTIPLE, SCHEDULED
from tidings.templates.models import CompiledTemplate
from tidings.templates.service import Templates
from tidings.tenancy.models import App
from tidings.webhooks import outbox


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed call a push comes from: its request id, kept with the task for delivery's
    logs, and its nonce, recorded in the transaction that accepts the push, before it
    (store/nonces.py: one commit for the two). A replay fails there, NonceUsed, with nothing
    written; a write that does not commit (a msgKey used already) records no nonce, and the
    endpoint records it alone."""

    request_id: str
    nonce: Nonce


class Pushes:
    def __init__(
        self,
        db: Database,
        templates: Templates,
        limits: PushLimits,
        *,
        clock: Callable[[], float] = time.time,
        on_scheduled: Callable[[int], None] | None = None,
        on_accepted: Callable[[bool], Awaitable[None]] | None = None,
        sms_delay_seconds: float = 300.0,
    ) -> None:
        """``on_scheduled`` hears the first due time of each scheduled push once committed;
        ``on_accepted`` hears that an immediate push was committed, and whether it asked for the
        SMS supplement (delivery wakes up, and the supplement's sender only then: nearly no push
        asks, and each wake costs the sender a pass over the database); ``sms_delay_seconds``
        is how long a push has to arrive before SmsStrategy 1 sends its SMS."""
        self._sms_delay_ms = int(sms_delay_seconds * 1000)
        self._db = db
        self._templates = templates
        self._limits = limits
        self._clock = clock
        self._on_scheduled = on_scheduled
        self._on_accepted = on_accepted

    @property
    def max_targets(self) -> int:
        """The most TargetMsg entries one PushMultiple call may carry."""
        return self._limits.max_targets

    async def check_multiple(
        self, app: App, fields: MultipleCall, targets: Sequence[TargetEntry]
    ) -> list[RenderedMessage | ServiceError]:
        """What ``push_multiple`` would make of each entry, storing nothing: the call-wide rules
        raise as they do there; each entry gets its message or its own first problem.

        ``targets`` may hold more entries than one call takes, for a batch to be sent as several
        calls: a msgKey repeated anywhere in it is reported. Whether a msgKey was used by an
        earlier task is found out only when sending.
        """
        call = check_call(fields, self._limits, timezone=app.timezone, now=self._clock())
        compiled = await self._templates.compiled(app.pk, fields.template_name)
        return check_targets(targets, compiled, call.options, self._limits)

    async def push_multiple(
        self,
        app: App,
        fields: MultipleCall,
        targets: Callable[[], Sequence[TargetEntry]],
        caller: Caller | None = None,
    ) -> int:
        """Accept a PushMultiple call; its task id once the task and messages are committed.

        ``targets`` is called only after the call-wide checks pass, so a call with 10,000
        targets is refused before its entries are assembled.
        """
        now = self._clock()
        call = check_call(fields, self._limits, timezone=app.timezone, now=now)
        compiled = await self._templates.compiled(app.pk, fields.template_name)
        call = _styled(call, compiled)
        messages = render_targets(targets(), compiled, call.options, self._limits)
        row = compiled.template
        plan = PushPlan(MULTIPLE, call, row.pk, row.name, messages)
        return await self._accept(app, plan, now, caller)

    async def push_simple(self, app: App, fields: SimpleCall, caller: Caller | None = None) -> int:
        """Accept a PushSimple call; its task id once committed."""
        now = self._clock()
        plan = simple.plan(fields, self._limits, timezone=app.timezone, now=now)
        return await self._accept(app, plan, now, caller)

    async def push_template(
        self, app: App, fields: TemplateCall, caller: Caller | None = None
    ) -> int:
        """Accept a PushTemplate call; its task id once committed."""
        now = self._clock()
        call, targets = template.check_call(fields, self._limits, timezone=app.timezone, now=now)
        compiled = await self._templates.compiled(app.pk, fields.template_name)
        call = _styled(call, compiled)
        plan = template.plan(call, targets, fields.template_key_value, compiled, self._limits)
        return await self._accept(app, plan, now, caller)

    async def push_broadcast(
        self, app: App, fields: BroadcastCall, caller: Caller | None = None
    ) -> int:
        """Accept a PushBroadcast call; its task id once committed. Its devices are found when
        it is due, by delivery."""
        now = self._clock()
        call, audience, msg_key = broadcast.check_call(
            fields, self._limits, timezone=app.timezone, now=now
        )
        compiled = await self._templates.compiled(app.pk, fields.template_name)
        plan = broadcast.plan(
            _styled(call, compiled),
            audience,
            msg_key,
            fields.template_key_value,
            compiled,
            self._limits,
        )
        return await self._accept(app, plan, now, caller)

    async def _accept(self, app: App, plan: PushPlan, now: float, caller: Caller | None) -> int:
        """Commit the plan (or recognise it as a retry, which keeps the first call's request
        id); the task id. ``caller`` is the signed call that asks (None for the console's)."""
        call = plan.call
        now_ms = int(now * 1000)
        due_times = call.strategy.upcoming(app.timezone, now_ms) if call.strategy else [now_ms]
        for _ in range(3):
            try:
                task_id = await write_claiming(
                    self._db,
                    caller and caller.nonce,
                    self._store,
                    app.pk,
                    plan,
                    now_ms,
                    due_times,
                    caller and caller.request_id,
                )
            except (IntegrityError, _KeyUsed):  # a msgKey the app used within the window
                earlier = await self._db.read(_retried_task, app.pk, plan, now_ms)
                if earlier is not None:
                    return earlier
            else:
                if call.strategy is not None and self._on_scheduled is not None:
                    self._on_scheduled(due_times[0])
                if call.strategy is None and self._on_accepted is not None:
                    await self._on_accepted(bool(call.options.sms_strategy))
                return task_id
        raise RuntimeError("msgKeys kept colliding with writes that did not commit")

    def _store(
        self,
        conn: Connection,
        app_pk: int,
        plan: PushPlan,
        now_ms: int,
        due_times: list[int],
        request_id: str | None,
    ) -> int:
        call = plan.call
        # The previous day's keys; today's the day's unique index refuses (IntegrityError).
        keys = [m.msg_key for m in plan.messages]
        if msg_keys.used_recently(conn, app_pk, keys, now_ms, today=False):
            raise _KeyUsed
        if call.strategy is not None:
            check_room(conn, app_pk, self._limits.max_scheduled_tasks)
        task = {
            "app_pk": app_pk,
            "action": plan.action,
            "name": call.task_name,
            "delivery_type": call.delivery_type,
            "template_pk": plan.template_pk,
            "template_name": plan.template_name,
            "expired_seconds": call.expired_seconds,
            "strategy_type": call.strategy.type if call.strategy else 0,
            "strategy": call.strategy.to_json() if call.strategy else None,
            "options": call.options.to_json(),
            "state": SCHEDULED if call.strategy else ACCEPTED,
            "digest": "",  # not kept: _retried_task computes it from the stored rows
            "message_count": len(plan.messages),
            "audience": plan.audience,
            "created_at": now_ms,
            "due_at": due_times[0],
            "request_id": request_id,
        }
        task_id = store.insert_task(conn, task)
        # A RenderedMessage holds its columns in store.MESSAGE_TEXT's order: written as it is.
        store.insert_messages(conn, task_id, app_pk, plan.messages, now_ms)
        if call.strategy is not None:
            add_occurrences(conn, task_id, task, due_times)
        supplement.add(conn, app_pk, task_id, call.options, due_times[0], self._sms_delay_ms)
        outbox.messages_accepted(
            conn, app_pk, task_id, ((m.msg_key, m.target) for m in plan.messages), now_ms
        )
        return task_id


def _styled(call: CallSpec, compiled: CompiledTemplate) -> CallSpec:
    return replace(call, options=with_template_style(call.options, compiled.template))


class _KeyUsed(Exception):
    """A msgKey of the call was used within the retry window before today (found before
    writing; today's are found by the unique index, as the messages are inserted)."""


def _retried_task(conn: Connection, app_pk: int, plan: PushPlan, now_ms: int) -> int | None:
    """The earlier task this call repeats, or the refusal naming the first reused msgKey.

    None when none of the msgKeys is taken any more: the write that collided did not commit.
    """
    keys = [m.msg_key for m in plan.messages]
    used = msg_keys.used_recently(conn, app_pk, keys, now_ms)
    if not used:
        return None
    task_ids = {task_id for _, task_id in used}
    if len(used) == len(keys) and len(task_ids) == 1:
        task_id = task_ids.pop()
        if _stored_digest(conn, task_id) == plan.digest():
            return task_id
    position = {key: i for i, key in enumerate(keys, start=1)}
    msg_key, task_id = min(used, key=lambda row: position[row[0]])
    index = position[msg_key]
    raise ServiceError(
        Code.INVALID_PARAM,
        f"{plan.key_field(index)} {msg_key!r} was already used by task "
        f"{task_id} with other content; msgKeys must be unique within the app",
        plan.key_path(index),
    )


def _stored_digest(conn: Connection, task_id: int) -> str | None:
    """The digest ``PushPlan.digest`` gave the stored task when it was accepted."""
    stored = store.stored_push(conn, task_id)
    if stored is None:
        return None
    task, messages = stored
    head = [
        task.action,
        task.name,
        task.delivery_type,
        task.expired_seconds,
        task.options,
        task.strategy,
        task.template_name,
    ]
    return fingerprint(head, messages, task.audience)

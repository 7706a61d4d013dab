"""Logging set-up: ``text`` for people, ``json`` (one object per line) for a log pipeline.

What a line is about travels in a context variable, not in its message: the request id, the
workspace, the app, the task and the msgKey, set where they become known (the RPC endpoint binds
the request's; delivery code passes a delivery's as ``extra``). Both formats print them, so a
failure found in the logs leads to the request and the message it concerns.

No secret reaches a log: code logs ids, never credentials, and the libraries that would print
what crosses the wire at debug level (the WebSocket frames a device sends its secret in) are held
at info whatever the level.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

# The fields a line may carry beyond time, level, logger and message, in the order printed.
CONTEXT_FIELDS = ("requestId", "workspace", "app", "task", "msgKey", "device")

# Libraries that log frame contents or headers at debug level.
_WIRE_LOGGERS = ("websockets", "uvicorn.protocols", "httpx", "httpcore", "hpack", "h2")
_WIRE_PACKAGES = ("websockets", "wsproto", "h11", "h2", "hpack", "httpcore", "httpx")

_context: ContextVar[dict[str, Any] | None] = ContextVar("tidings_log_context", default=None)


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Every line logged inside carries ``fields`` (those given as None are left out)."""
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add ``fields`` to the current context (within a :func:`bound` block)."""
    current = _context.get()
    if current is not None:
        current.update({k: v for k, v in fields.items() if v})


class Concerns(Protocol):
    """What a delivery's log line names: its task, the msgKey, and the request that was
    answered with the task (contract.Payload has these)."""

    @property
    def task_id(self) -> int: ...
    @property
    def msg_key(self) -> str: ...
    @property
    def request_id(self) -> str | None: ...


def about(payload: Concerns) -> dict[str, Any]:
    """The ``extra`` of a line about one delivery: delivery runs after the answer, away from
    the request, so the request id comes with the task, not from the context."""
    return {"task": payload.task_id, "msgKey": payload.msg_key, "requestId": payload.request_id}


def about_all(payloads: Sequence[Concerns]) -> dict[str, Any]:
    """The ``extra`` of a line about several deliveries: their tasks and requests, each once."""
    tasks = sorted({p.task_id for p in payloads})
    requests = sorted({p.request_id for p in payloads if p.request_id})
    return {"task": ",".join(map(str, tasks)), "requestId": ",".join(requests) or None}


def context_of(record: logging.LogRecord) -> dict[str, Any]:
    """The record's context: what is bound where it was logged, then its ``extra``."""
    found = dict(_context.get() or {})
    for name in CONTEXT_FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            found[name] = value
    return {name: found[name] for name in CONTEXT_FIELDS if name in found}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the context and,
    for an exception, its traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **context_of(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...``: the context after the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = context_of(record)
        if not context:
            return text
        head, newline, rest = text.partition("\n")
        pairs = " ".join(f"{k}={v}" for k, v in context.items())
        return f"{head} {pairs}{newline}{rest}"


class WireContentFilter(logging.Filter):
    """Drops the debug lines the wire libraries write, whichever logger they write them to.

    Holding their own loggers at info is not enough: uvicorn hands the WebSocket library its
    ``uvicorn.error`` logger, so at debug level every frame a device was sent (its new secret,
    its DeliveryToken) was printed there, cut short to its first and last characters. The
    lines are recognised by the file that logs them, not by the logger's name.
    """

    def __init__(self) -> None:
        super().__init__()
        self._sources = tuple(_package_dirs(_WIRE_PACKAGES))

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO or not record.pathname.startswith(self._sources)


def _package_dirs(names: tuple[str, ...]) -> Iterator[str]:
    for name in names:
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec else []:
            yield os.path.join(location, "")


def configure(level: str, form: Literal["text", "json"]) -> None:
    """Send every logger's lines to stderr in ``form`` at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if form == "json" else TextFormatter())
    handler.addFilter(WireContentFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _WIRE_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))

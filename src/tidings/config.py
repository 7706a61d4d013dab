"""Settings: command-line flags over ``TIDINGS_*`` environment variables over a TOML file.

Every setting has a default that is safe for one machine, so ``tidings serve`` needs none. The
TOML file is the one ``--config`` or ``TIDINGS_CONFIG`` names, else ``tidings.toml`` in the data
directory when there is one.

A setting is one field of :class:`Settings`, and its ``description`` is the documentation:
docs/configuration.md's table is generated from these fields (``tidings config doc``) and a test
fails when the two differ, so adding a setting is adding one field here.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from tidings.contract import REVOCABLE_DAYS
from tidings.instants import ANALYTICS_WINDOW_DAYS

ENV_PREFIX = "TIDINGS_"
CONFIG_ENV = "TIDINGS_CONFIG"
CONFIG_FILE_NAME = "tidings.toml"

RECALL_LEASE_SECONDS = 600.0  # 100,000 recalls at a few hundred a second, with room

# The config file's settings while load_settings builds a Settings (below the environment).
_from_file: ContextVar[dict[str, Any] | None] = ContextVar("tidings_config_file", default=None)

# The least each retention setting may be, and the feature that needs that much.
RETENTION_FLOORS = {
    "retention_days": (
        REVOCABLE_DAYS,
        f"revocation reaches messages pushed in the last {REVOCABLE_DAYS} days",
    ),
    "analytics_retention_days": (
        ANALYTICS_WINDOW_DAYS,
        f"analytics queries span up to {ANALYTICS_WINDOW_DAYS} days",
    ),
}


class Settings(BaseSettings):
    """One process's settings; the description of each field is its documentation."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    host: str = Field(
        default="127.0.0.1", description="address to listen on; `0.0.0.0` for every interface"
    )
    port: int = Field(
        default=8080,
        ge=0,
        le=65535,
        description="port for the OpenAPI, the device gateway, the console and the probes",
    )
    public_url: str | None = Field(
        default=None,
        description="this Tidings' public base URL as vendors and browsers reach it (say "
        "`https://push.example.com`, or with a proxy's path prefix); a Xiaomi, OPPO or vivo "
        "channel set without `receipt_url` gets `{public_url}/receipts/<channel>/<WorkspaceId>/"
        "<AppId>`",
    )
    data_dir: Path = Field(
        default=Path("tidings-data"),
        description="the embedded database `tidings.db`, the secret key `secret.key`, "
        "the serve locks and the default `tidings.toml`; made 0700, its files 0600 (a database "
        "file left readable by others is tightened at start)",
    )
    database_url: str | None = Field(
        default=None,
        description="a PostgreSQL URL (`postgresql://user@host/db`); without it, SQLite in the "
        "data directory. Its password is masked wherever it is shown",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for device presence and cross-process delivery when several "
        "processes share PostgreSQL (`redis://127.0.0.1:6379/0`); without it, presence is "
        "kept in the process",
    )
    redis_prefix: str = Field(
        default="tidings",
        description="prefix of every Redis key and channel, so several deployments can share "
        "one Redis",
    )
    redis_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="how long a Redis command may wait for its answer; a Redis that accepts "
        "connections but does not answer is then treated as one that is away (the error "
        "logged, presence unknown, deliveries left pending for the device's next connection)",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="the key that seals secrets at rest (Fernet, 32 url-safe base64 bytes); "
        "without it, `secret.key` in the data directory is used, and created on first start "
        "(never for a database sealed by another key: that refuses to start and writes no key)",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="`debug`, `info`, `warning` or `error`"
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`text` for people, `json` for a log pipeline: one object per line "
        "(see [operations.md](operations.md#logs))",
    )
    drain_seconds: float = Field(
        default=20.0,
        ge=0,
        description="on SIGTERM, how long accepted work may take to finish before the process "
        "exits anyway (see [operations.md](operations.md#stopping-and-upgrading))",
    )

    body_limit: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="the largest request body in bytes (the OpenAPI and every other path "
        "outside the console); larger ones are answered 413 and the connection closed, chunked "
        "or not",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="how long a request's headers may take to arrive, from the connection's "
        "start or the request's first byte; a connection past it is answered 408 and closed",
    )
    body_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="how far a request body may fall behind `body_min_bytes_per_second` (and "
        "so the longest pause in it); a body further behind is answered 408 and its "
        "connection closed",
    )
    body_min_bytes_per_second: int = Field(
        default=1024,
        ge=1,
        description="the slowest pace a request body may keep on average (API, console forms "
        "and uploads alike), with `body_timeout_seconds` of slack",
    )
    max_connections: int = Field(
        default=10_000,
        ge=1,
        description="open connections in all (HTTP, console and `/device` WebSockets); one more "
        "is answered 503 and closed. The server raises its open-file limit to fit, up to the "
        "hard limit",
    )
    max_connections_per_address: int = Field(
        default=1_000,
        ge=1,
        description="open connections from one client address; the `trusted_proxies` are held "
        "to `max_connections` only",
    )
    console_form_limit: int = Field(
        default=256 * 1024,
        ge=1024,
        description="the largest web console form in bytes (sign-in and every page's form)",
    )
    upload_limit: int = Field(
        default=2 * 1024 * 1024 + 64 * 1024,
        ge=1024,
        description="the largest web console multipart upload in bytes (the batch push's CSV, "
        "2 MiB, and the form around it)",
    )
    timestamp_skew_seconds: int = Field(
        default=900,
        ge=1,
        description="how far a request's timestamp may be from the server's clock",
    )
    nonce_ttl_seconds: int = Field(
        default=1800,
        ge=1,
        description="how long a signature nonce is remembered (twice the skew)",
    )
    key_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        description="how long AccessKeys, apps and templates are cached per process (when one "
        "lapses, the calls that miss it together share one read); a key disabled from the "
        "command line stops working within this time",
    )

    delivery_sweep_seconds: float = Field(
        default=10.0,
        gt=0,
        description="how often delivery looks for due tasks no wake-up announced (left by a "
        "crash, accepted elsewhere), expires deliveries and retries vendor sends, and "
        "revocation asks vendors again for recalls that are due: left unanswered (by a crash) "
        "for `recall_lease_seconds`, or whose vendor could not be reached",
    )
    recall_lease_seconds: float = Field(
        default=RECALL_LEASE_SECONDS,
        ge=10,
        le=86_400,
        description="how long a revocation (or a recall sweep) has to ask a vendor to take "
        "deliveries back and write its answer before a recall sweep may ask again: above what "
        "the largest revocation's recalls take (a vendor answers a few hundred a second), since "
        "a living asker asked over only asks the vendor twice; below it, the recalls a crashed "
        "process left wait this long. 10 s to a day",
    )
    device_heartbeat_seconds: int = Field(
        default=30,
        ge=5,
        description="the interval devices ping at; a device silent for 2.5 intervals is "
        "disconnected",
    )
    device_frame_limit: int = Field(
        default=64 * 1024,
        ge=1024,
        description="the largest message a device may send, in bytes; one announcing more "
        "closes its connection (1009) before its payload is read",
    )
    device_hello_seconds: float = Field(
        default=10.0,
        gt=0,
        description="how long a new device connection may take to send `register` or "
        "`resume`; then it is closed (4008)",
    )
    device_window: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="the most messages sent to one device and not yet acknowledged; the rest "
        "wait in the database and are read a page at a time as acks come back",
    )
    device_unread_limit: int = Field(
        default=1024 * 1024,
        ge=64 * 1024,
        description="bytes the server may hold for a device that does not read them; past it "
        "the connection is dropped, its unacknowledged messages kept for its next connection",
    )

    max_templates_per_app: int = Field(default=100, ge=1, description="templates an app may have")
    max_scheduled_tasks_per_app: int = Field(
        default=100,
        ge=1,
        description="scheduled and loop pushes an app may have waiting to run",
    )
    max_expired_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=1,
        description="the longest ExpiredSeconds a push may ask for (7 days)",
    )
    max_payload_bytes: int = Field(
        default=4096,
        ge=256,
        description="the most text one message may carry: title, content, URI and extension "
        "parameters, in UTF-8 bytes",
    )

    console_session_seconds: int = Field(
        default=8 * 3600,
        ge=60,
        description="how long a web console sign-in lasts (8 hours); see [console.md](console.md)",
    )
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or networks of reverse proxies whose "
        "`X-Forwarded-For` and `X-Forwarded-Proto` are believed (`*`: any); without it the "
        "connection's peer is the client, whatever those headers say",
    )

    webhook_batch_size: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="webhook events per request at most; see [webhooks.md](webhooks.md)",
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, description="how often each process looks for webhook events due"
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="how long to wait for a webhook endpoint's answer"
    )
    webhook_backoff_seconds: float = Field(
        default=5.0,
        gt=0,
        description="the first webhook retry's wait, doubling after each failure (with jitter)",
    )
    webhook_backoff_cap_seconds: float = Field(
        default=3600.0, gt=0, description="the longest wait between webhook retries"
    )
    webhook_retry_seconds: float = Field(
        default=3 * 86400.0,
        gt=0,
        description="how long a webhook event is retried before it is dropped (3 days)",
    )
    webhook_disable_seconds: float = Field(
        default=5 * 86400.0,
        gt=0,
        description="how long a webhook endpoint may fail without one success before it is "
        "disabled (5 days)",
    )

    sms_supplement_delay_seconds: float = Field(
        default=300.0,
        gt=0,
        le=7 * 86400.0,
        description="how long a push with SmsStrategy 1 has to arrive (a device's ack or a "
        "vendor's receipt) before its SMS is sent; see [sms.md](sms.md)",
    )
    sms_poll_seconds: float = Field(
        default=1.0, gt=0, description="how often each process looks for SMS supplements due"
    )

    # Retention (retention/): how long finished work is kept, and how pruning paces itself.
    retention_days: int = Field(
        default=30,
        description="how long finished tasks, their messages, deliveries and trace events are "
        f"kept; at least {REVOCABLE_DAYS} (revocation needs {REVOCABLE_DAYS} days); see "
        "[operations.md](operations.md#retention)",
    )
    analytics_retention_days: int = Field(
        default=400,
        description=f"how long analytics counters are kept; at least {ANALYTICS_WINDOW_DAYS} (the "
        "longest analytics query)",
    )
    retention_sweep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="how often each server process prunes what retention no longer keeps",
    )
    retention_batch_rows: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="rows pruning deletes, and deliveries the expiry sweep expires, per write "
        "transaction: smaller batches hold the database writer for less time",
    )
    retention_day_seconds: int = Field(
        default=86_400,
        ge=1,
        description="the length of a retention day; only the soak bench (`bench/soak.py`) "
        "shortens it, to run several retention periods in minutes",
    )

    @field_validator("retention_days", "analytics_retention_days")
    @classmethod
    def _keeps_what_features_need(cls, days: int, info: ValidationInfo) -> int:
        # pydantic names the setting (its field) in the error it raises from this ValueError.
        need, feature = RETENTION_FLOORS[info.field_name or ""]
        if days < need:
            raise ValueError(f"must be at least {need} days: {feature}")
        return days

    @field_validator("public_url")
    @classmethod
    def _is_a_base_url(cls, value: str | None) -> str | None:
        # pydantic names the setting (its field) in the error it raises from this ValueError.
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"must be an absolute http(s) URL, got {value!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"must have no query or fragment, got {value!r}")
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            InitSettingsSource(settings_cls, _from_file.get() or {}),
        )

    @property
    def database(self) -> str:
        """The SQLAlchemy URL: PostgreSQL when configured, else SQLite in the data directory."""
        if self.database_url:
            url = self.database_url
            for plain in ("postgresql://", "postgres://"):
                if url.startswith(plain):
                    return "postgresql+psycopg://" + url[len(plain) :]
            return url
        return f"sqlite:///{self.data_dir.resolve() / 'tidings.db'}"

    @property
    def embedded(self) -> bool:
        return self.database.startswith("sqlite")


class ConfigError(Exception):
    """Settings that cannot be used; the message names each key, where it came from and why."""


def env_name(key: str) -> str:
    return ENV_PREFIX + key.upper()


def config_file(explicit: Path | None, data_dir: Path) -> Path | None:
    """The TOML file to read: the one named (which must exist), else the data directory's."""
    named = explicit or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    if named is not None:
        if not named.is_file():
            raise ConfigError(f"config file {named} does not exist")
        return named
    default = data_dir / CONFIG_FILE_NAME
    return default if default.is_file() else None


def read_config_file(path: Path) -> dict[str, Any]:
    """The file's settings; a key that is no setting is an error, so a typo is not ignored."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(table) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(
            "\n".join(
                f"{path}: {key}: no such setting (see docs/configuration.md)" for key in unknown
            )
        )
    return table


def load_settings(config: Path | None = None, **flags: Any) -> Settings:
    """Settings from flags given on the command line (``None`` means not given), the
    environment and the config file, validated; :class:`ConfigError` names what is wrong."""
    given = {k: v for k, v in flags.items() if v is not None}
    data_dir = Path(given.get("data_dir") or os.environ.get(env_name("data_dir")) or "tidings-data")
    path = config_file(config, data_dir)
    from_file = read_config_file(path) if path is not None else {}

    token = _from_file.set(from_file)
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise ConfigError(
            "\n".join(_explain(error, given, path) for error in exc.errors())
        ) from None
    finally:
        _from_file.reset(token)


def _explain(error: Any, given: dict[str, Any], path: Path | None) -> str:
    """One validation error as ``key (source): problem``."""
    key = str(error["loc"][0]) if error["loc"] else "?"
    if key in given:
        source = f"--{key.replace('_', '-')}"
    elif env_name(key) in os.environ:
        source = env_name(key)
    elif path is not None:
        source = str(path)
    else:
        source = "default"
    return f"{key} ({source}): {error['msg']}"


def masked(settings: Settings) -> dict[str, str | int | float | None]:
    """The effective settings as they may be shown: secrets and URL passwords masked."""
    shown: dict[str, str | int | float | None] = {}
    for key in Settings.model_fields:
        value = getattr(settings, key)
        if isinstance(value, SecretStr):
            shown[key] = "***"
        elif isinstance(value, str) and "://" in value:
            shown[key] = mask_url(value)
        elif isinstance(value, Path):
            shown[key] = str(value)
        else:
            shown[key] = value
    return shown


def mask_url(url: str) -> str:
    """``scheme://user:***@host/...``: the password of a URL replaced, the rest kept."""
    scheme, _, rest = url.partition("://")
    credentials, at, location = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{location}"


def documentation_table() -> str:
    """docs/configuration.md's table of settings, from the fields' own definitions."""
    lines = ["| setting | environment | default | meaning |", "|---|---|---|---|"]
    for key, field in Settings.model_fields.items():
        if not field.description:
            raise ValueError(f"setting {key} has no description= in tidings/config.py")
        default = _default_text(field.default)
        lines.append(f"| `{key}` | `{env_name(key)}` | {default} | {field.description} |")
    return "\n".join(lines) + "\n"


def _default_text(default: Any) -> str:
    if default is None:
        return "(none)"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, float) and default.is_integer():
        return f"`{int(default)}`"
    return f"`{default}`"

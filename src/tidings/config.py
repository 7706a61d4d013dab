"""Settings: command-line flags over ``TIDINGS_*`` environment variables over a TOML file.

Every setting has a default that is safe for one machine, so ``tidings serve`` needs none. The
TOML file is ``tidings.toml`` in the data directory, or the file ``TIDINGS_CONFIG`` names.
docs/configuration.md lists them all.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tidings.analytics.queries import MAX_WINDOW_DAYS
from tidings.contract import REVOCABLE_DAYS

# The least each retention setting may be, and the feature that needs that much.
RETENTION_FLOORS = {
    "retention_days": (
        REVOCABLE_DAYS,
        f"revocation reaches messages pushed in the last {REVOCABLE_DAYS} days",
    ),
    "analytics_retention_days": (
        MAX_WINDOW_DAYS,
        f"analytics queries span up to {MAX_WINDOW_DAYS} days",
    ),
}

_toml_file: ContextVar[Path | None] = ContextVar("tidings_toml_file", default=None)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIDINGS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    data_dir: Path = Path("tidings-data")
    database_url: str | None = None
    redis_url: str | None = None
    redis_prefix: str = "tidings"
    secret_key: SecretStr | None = None
    log_level: str = "info"

    body_limit: int = Field(default=1024 * 1024, ge=1024)
    timestamp_skew_seconds: int = Field(default=900, ge=1)
    nonce_ttl_seconds: int = Field(default=1800, ge=1)
    key_cache_seconds: float = Field(default=1.0, ge=0)

    delivery_sweep_seconds: float = Field(default=10.0, gt=0)
    device_heartbeat_seconds: int = Field(default=30, ge=5)
    device_frame_limit: int = Field(default=64 * 1024, ge=1024)

    max_templates_per_app: int = Field(default=100, ge=1)
    max_scheduled_tasks_per_app: int = Field(default=100, ge=1)
    max_expired_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    max_payload_bytes: int = Field(default=4096, ge=256)

    console_session_seconds: int = Field(default=8 * 3600, ge=60)

    # Retention (retention/): how long finished work is kept, and how pruning paces itself.
    retention_days: int = 30
    analytics_retention_days: int = 400
    retention_sweep_seconds: float = Field(default=60.0, gt=0)
    retention_batch_rows: int = Field(default=500, ge=1, le=100_000)
    retention_day_seconds: int = Field(default=86_400, ge=1)

    @field_validator("retention_days", "analytics_retention_days")
    @classmethod
    def _keeps_what_features_need(cls, days: int, info: ValidationInfo) -> int:
        # pydantic names the setting (its field) in the error it raises from this ValueError.
        need, feature = RETENTION_FLOORS[info.field_name or ""]
        if days < need:
            raise ValueError(f"must be at least {need} days: {feature}")
        return days

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = _toml_file.get()
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

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


def load_settings(**flags: Any) -> Settings:
    """Settings from flags given on the command line (``None`` means not given)."""
    given = {k: v for k, v in flags.items() if v is not None}
    data_dir = Path(given.get("data_dir") or os.environ.get("TIDINGS_DATA_DIR") or "tidings-data")
    named = os.environ.get("TIDINGS_CONFIG")
    toml = Path(named) if named else data_dir / "tidings.toml"
    token = _toml_file.set(toml if toml.is_file() else None)
    try:
        return Settings(**given)
    finally:
        _toml_file.reset(token)

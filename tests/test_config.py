"""Settings: flags over environment over the TOML file, validated with errors naming the key,
secrets masked when shown, and docs/configuration.md made from the same definitions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest

from tidings.config import (
    ConfigError,
    Settings,
    documentation_table,
    env_name,
    load_settings,
    mask_url,
    masked,
)

DOC = Path(__file__).parent.parent / "docs" / "configuration.md"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in Settings.model_fields:
        monkeypatch.delenv(env_name(key), raising=False)
    monkeypatch.delenv("TIDINGS_CONFIG", raising=False)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_flag_over_environment_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = write(tmp_path / "t.toml", 'port = 7001\nbody_limit = 4096\nredis_prefix = "file"\n')
    monkeypatch.setenv("TIDINGS_PORT", "7002")
    monkeypatch.setenv("TIDINGS_REDIS_PREFIX", "env")
    settings = load_settings(toml, port=7003, data_dir=tmp_path)
    assert (settings.port, settings.redis_prefix, settings.body_limit) == (7003, "env", 4096)


def test_every_setting_can_come_from_the_file_and_from_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only the handful someone remembered to wire: each field, each way."""
    for key, field in Settings.model_fields.items():
        value = _another_value(key, field.annotation, field.default)
        toml = write(tmp_path / "t.toml", f"{key} = {_toml(value)}\n")
        assert _plain(getattr(load_settings(toml), key)) == value, key
        monkeypatch.setenv(env_name(key), str(value).lower() if value is True else str(value))
        assert _plain(getattr(load_settings(), key)) == value, env_name(key)
        monkeypatch.delenv(env_name(key))


def test_the_data_directory_file_is_read_and_tidings_config_names_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "tidings.toml", "port = 7101\n")
    assert load_settings(data_dir=tmp_path).port == 7101
    monkeypatch.setenv("TIDINGS_CONFIG", str(write(tmp_path / "other.toml", "port = 7102\n")))
    assert load_settings(data_dir=tmp_path).port == 7102


def test_errors_name_the_key_and_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = write(tmp_path / "t.toml", 'body_limit = 10\nlog_format = "xml"\n')
    monkeypatch.setenv("TIDINGS_PORT", "70000")
    with pytest.raises(ConfigError) as caught:
        load_settings(toml)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert any(line.startswith("port (TIDINGS_PORT): ") and "65535" in line for line in lines)
    assert any(line.startswith(f"body_limit ({toml}): ") and "1024" in line for line in lines)
    assert any(line.startswith(f"log_format ({toml}): ") for line in lines)


def test_the_recall_lease_is_a_setting_from_10_seconds_to_a_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().recall_lease_seconds == 600
    monkeypatch.setenv("TIDINGS_RECALL_LEASE_SECONDS", "90")
    assert load_settings().recall_lease_seconds == 90
    for wrong, said in (("5", "greater than or equal to 10"), ("86401", "less than or equal")):
        monkeypatch.setenv("TIDINGS_RECALL_LEASE_SECONDS", wrong)
        with pytest.raises(ConfigError) as caught:
            load_settings()
        assert str(caught.value).startswith("recall_lease_seconds (TIDINGS_RECALL_LEASE_SECONDS): ")
        assert said in str(caught.value)


def test_an_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    toml = write(tmp_path / "t.toml", "bodylimit = 2048\n")
    with pytest.raises(ConfigError, match=r"bodylimit: no such setting"):
        load_settings(toml)


def test_a_file_that_is_not_toml_or_not_there_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path / "t.toml", "port = = 1\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_secrets_are_masked_when_shown() -> None:
    settings = Settings(
        secret_key="c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk=",
        database_url="postgresql://tidings:hunter2@db/tidings",
        redis_url="redis://:swordfish@cache:6379/0",
    )
    shown = masked(settings)
    assert shown["secret_key"] == "***"
    assert shown["database_url"] == "postgresql://tidings:***@db/tidings"
    assert shown["redis_url"] == "redis://:***@cache:6379/0"
    assert "hunter2" not in repr(shown) and "swordfish" not in repr(shown)
    assert mask_url("postgresql://tidings@db/x") == "postgresql://tidings@db/x"


def test_the_documentation_lists_every_setting_as_defined() -> None:
    """docs/configuration.md's table is ``tidings config doc``: regenerate it on any change."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- settings:begin -->\n(.*)<!-- settings:end -->", text, re.S)
    assert found, "docs/configuration.md lost its settings markers"
    assert found.group(1) == documentation_table(), "run `tidings config doc` and paste it"
    for key in Settings.model_fields:
        assert f"| `{key}` |" in found.group(1)


def test_a_setting_without_a_description_cannot_be_documented(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Settings.model_fields["port"], "description", None)
    with pytest.raises(ValueError, match="port"):
        documentation_table()


def _another_value(key: str, annotation: object, default: object) -> object:
    """A valid value other than the default, of the field's type."""
    if get_origin(annotation) is Literal:
        return next(choice for choice in get_args(annotation) if choice != default)
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 1
    if isinstance(default, float):
        return default + 1.5
    if key == "secret_key":
        return "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk="
    if key.endswith("_url"):
        samples = {"database_url": "postgresql://u@h/d", "public_url": "https://push.example.com"}
        return samples.get(key, "redis://h:6379/1")
    return f"{key}-value"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return f'"{value}"'


def _plain(value: object) -> object:
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    return str(value) if isinstance(value, Path) else value

"""Secrets at rest: sealed under a key kept outside the database, refused under any other key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tidings.secretbox import KEY_FILE, SecretBox, SecretKeyError


def test_seal_and_open() -> None:
    box = SecretBox(Fernet.generate_key())
    sealed = box.seal("s3cr3t-秘密")
    assert b"s3cr3t" not in sealed
    assert sealed != box.seal("s3cr3t-秘密")  # a fresh IV every time
    assert box.open(sealed) == "s3cr3t-秘密"


def test_another_key_cannot_open() -> None:
    sealed = SecretBox(Fernet.generate_key()).seal("secret")
    with pytest.raises(SecretKeyError, match="cannot be decrypted with this secret key"):
        SecretBox(Fernet.generate_key()).open(sealed)
    with pytest.raises(SecretKeyError):
        SecretBox(Fernet.generate_key()).open(b"not a token")


@pytest.mark.parametrize("configured", [b"", b"short", b"x" * 44])
def test_malformed_key_is_explained(configured: bytes) -> None:
    with pytest.raises(SecretKeyError, match="TIDINGS_SECRET_KEY must be 32 url-safe base64"):
        SecretBox(configured)


def test_a_new_key_is_written_once_kept_in_a_private_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"
    first = SecretBox.load(None, data_dir)
    path = data_dir / KEY_FILE
    assert not path.exists()  # not before the database accepted it
    first.keep()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert SecretBox.load(None, data_dir).open(first.seal("x")) == "x"
    assert path.read_bytes() == path.read_bytes().strip()


def test_load_prefers_the_configured_key(tmp_path: Path) -> None:
    configured = Fernet.generate_key()
    box = SecretBox.load(configured.decode(), tmp_path)
    assert not (tmp_path / KEY_FILE).exists()
    assert SecretBox(configured).open(box.seal("x")) == "x"


def test_load_reads_a_key_file_with_a_trailing_newline(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    (tmp_path / KEY_FILE).write_bytes(key + b"\n")
    assert SecretBox(key).open(SecretBox.load(None, tmp_path).seal("x")) == "x"

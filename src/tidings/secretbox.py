"""Encryption at rest for secrets the server must read back (AccessKey secrets, vendor keys).

A signature check needs the AccessKey secret itself, so it cannot be hashed like a password; it is
sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key that lives outside the database:
``TIDINGS_SECRET_KEY``, or ``secret.key`` in the data directory, created on first use with mode
0600. Several processes sharing PostgreSQL must be given the same key. A new key is written only
once the database is known to be sealed with it (``keep``): a data directory copied without its
key refuses to start and keeps no new, wrong key behind.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE = "secret.key"


class SecretKeyError(RuntimeError):
    """The key is malformed, or is not the key this database was sealed with."""


class SecretBox:
    def __init__(self, key: bytes, unsaved: Path | None = None) -> None:
        self._key = key
        self._unsaved = unsaved  # where a key made by ``load`` goes once it proved right
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise SecretKeyError(
                "TIDINGS_SECRET_KEY must be 32 url-safe base64-encoded bytes "
                "(make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from exc

    @classmethod
    def load(cls, configured: str | None, data_dir: Path) -> SecretBox:
        if configured:
            return cls(configured.encode())
        path = data_dir / KEY_FILE
        if not path.exists():
            return cls(Fernet.generate_key(), unsaved=path)
        return cls(path.read_bytes().strip())

    def keep(self) -> None:
        """Write a key ``load`` made to the data directory, once the database accepted it."""
        if self._unsaved is None:
            return
        path, self._unsaved = self._unsaved, None
        if not _create_key_file(path, self._key):
            raise SecretKeyError(
                f"another process created {path} at the same moment; start this one again"
            )

    def seal(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def open(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret cannot be decrypted with this secret key; start every process "
                "with the key the database was created with (TIDINGS_SECRET_KEY or secret.key)"
            ) from None


def _create_key_file(path: Path, key: bytes) -> bool:
    """Write ``key`` beside ``path`` and link it into place, so that a process starting at the
    same moment sees either no key file or a whole one, never an empty one; False when another
    process linked a key there first."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(draft, path)
    except FileExistsError:
        return path.read_bytes().strip() == key
    finally:
        draft.unlink(missing_ok=True)
    return True

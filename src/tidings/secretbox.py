"""Encryption at rest for secrets the server must read back (AccessKey secrets, vendor keys).

A signature check needs the AccessKey secret itself, so it cannot be hashed like a password; it is
sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key that lives outside the database:
``TIDINGS_SECRET_KEY``, or ``secret.key`` in the data directory, created on first use with mode
0600. Several processes sharing PostgreSQL must be given the same key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE = "secret.key"


class SecretKeyError(RuntimeError):
    """The key is malformed, or is not the key this database was sealed with."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
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
            data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

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

"""The data directory: where the SQLite database and the generated keys live.

Keys are created on first use with mode 0600 so that a fresh install is secure without any
configuration, and stay stable across restarts (sessions and encrypted fields depend on them).
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


def data_dir() -> Path:
    """Return the data directory (``KEHU_DATA_DIR``, default ``./var``), creating it 0700."""
    path = Path(os.environ.get("KEHU_DATA_DIR", "var")).resolve()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def key_from_env_or_file(env_name: str, file_name: str, *, nbytes: int = 32) -> str:
    """Return the key from the environment, else from the data directory, creating it once.

    The file is created atomically with ``O_EXCL`` and mode 0600, so two processes starting at
    the same time agree on one key.
    """
    value = os.environ.get(env_name)
    if value:
        return value
    path = data_dir() / file_name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    key = base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode("ascii")
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key

"""The on-disk cache of compiled schema validators, and why its code can be trusted to run.

Loading a cached code object means executing it, so a cache file must be one this user's
reconciler wrote. Each file is signed with HMAC-SHA256 under a random key kept next to it, and
nothing is loaded (nor written) unless the folder, the key and the file belong to this user and
no one else may write them: another local user, or a shared ``XDG_CACHE_HOME``, cannot plant
code. A pull request cannot reach the cache at all (it lies outside the repository, which is all
a pull request controls). Whoever can write files as this user could run code as them anyway
(their shell profile); SECURITY.md says so. Any doubt means the validator is compiled again:
slower by ~40 ms, never wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import marshal
import os
import stat
from pathlib import Path
from typing import Any

_KEY_FILE = "key"
_KEY_BYTES = 32
_DIGEST_BYTES = hashlib.sha256().digest_size


def folder() -> Path:
    """``$XDG_CACHE_HOME/reconciler/`` (``~/.cache/reconciler/``), like pip's and mypy's."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reconciler"


def load(key: str) -> Any:
    """The cached code object for ``key``, or None when absent, unsigned or not ours."""
    body = load_signed(f"schema-{key}.marshal", key)
    if body is None:
        return None
    try:
        code = marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return None
    return code if type(code).__name__ == "code" else None


def store(key: str, code: Any) -> None:
    """Write signed and atomically, readable by the owner only; failing to is no error."""
    store_signed(f"schema-{key}.marshal", key, marshal.dumps(code))


def load_signed(name: str, key: str, limit: int | None = None) -> bytes | None:
    """The body of the cache file ``name`` when it is this user's, private, at most ``limit``
    bytes, and signed for ``key`` (another file's body copied here does not verify); else None.
    """
    signing_key = _signing_key(create=False)
    if signing_key is None:
        return None
    path = folder() / name
    try:
        if not _private(path):
            return None
        with path.open("rb") as file:
            data = file.read(-1 if limit is None else _DIGEST_BYTES + limit + 1)
    except OSError:
        return None
    if limit is not None and len(data) > _DIGEST_BYTES + limit:
        return None
    signature, body = data[:_DIGEST_BYTES], data[_DIGEST_BYTES:]
    if not hmac.compare_digest(signature, _sign(signing_key, key, body)):
        return None
    return body


def store_signed(name: str, key: str, body: bytes) -> None:
    """Write ``body`` signed for ``key`` as the cache file ``name``, atomically, readable by
    the owner only; failing to (no home, a read-only folder) is no error."""
    signing_key = _signing_key(create=True)
    if signing_key is None:
        return
    import tempfile  # writes are rare (a new schema or file): reads need none of it

    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder(), prefix=".tmp-")
    except OSError:
        return
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(_sign(signing_key, key, body) + body)
        os.replace(temporary, folder() / name)
    except OSError:
        Path(temporary).unlink(missing_ok=True)


def _sign(signing_key: bytes, key: str, body: bytes) -> bytes:
    return hmac.new(signing_key, key.encode() + b"\0" + body, hashlib.sha256).digest()


def _signing_key(*, create: bool) -> bytes | None:
    """This user's key, created (0600, in a 0700 folder) on the first write; None when the
    folder or the key is not private to this user."""
    path = folder() / _KEY_FILE
    try:
        if create:
            folder().mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder(), is_dir=True):
            return None
        if create and not path.exists():
            _create_key(path)
        if not _private(path):
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return data if len(data) == _KEY_BYTES else None


def _create_key(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another reconciler just made it: use theirs
        return
    import secrets

    with os.fdopen(descriptor, "wb") as file:
        file.write(secrets.token_bytes(_KEY_BYTES))


def _private(path: Path, *, is_dir: bool = False) -> bool:
    """Owned by this user, not a symlink, and writable by no one else."""
    info = path.lstat()
    kind = stat.S_ISDIR(info.st_mode) if is_dir else stat.S_ISREG(info.st_mode)
    owner = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return kind and owner and not info.st_mode & 0o022

"""Opening a sandbox store's SQLite file: read-only for plans, and never someone else's file.

``plan`` is read-only and a pull request chooses the sandbox ``path:``, so reading opens the file
with ``mode=ro`` (and ``immutable=1`` when no writer left a ``-wal`` file, so that SQLite creates
no ``-wal``/``-shm`` file either), and a missing or empty file is an empty store held in memory:
nothing is created on the disk. Writing (``apply``, the emulator) creates the file when needed.

Every store is marked with ``PRAGMA application_id``. A file that is not empty must carry the
mark, or be a store from a reconciler before the mark (recognised by its ``user_version`` and
its tables, and marked when next written); any other file (another program's SQLite database,
a text file) is refused before anything is written to it, and nothing of it is printed.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from reconciler.errors import ReconcilerError

#: "RCS1": the mark of a reconciler sandbox store (SQLite's application_id header field).
APPLICATION_ID = 0x52435331
#: The tables of every store, also of the stores written before the application id.
TABLES = frozenset({"users", "events", "companies", "memberships", "meta"})


class StoreError(ReconcilerError):
    """The SQLite file cannot be opened, is from a newer reconciler, or a statement failed."""


def connect(
    path: str,
    label: str,
    *,
    read_only: bool,
    version: int,
    create: Callable[[sqlite3.Connection], None],
) -> sqlite3.Connection:
    """An open connection to a checked store; ``create`` writes the schema of a new one.

    ``label`` names the file in messages (the path as reconciler.yaml writes it). ``version`` is
    the schema version this reconciler writes; ``create`` runs in write mode when the file is
    new, empty, or an older version (it must bring ``user_version`` up to ``version``).
    """
    new = path == ":memory:" or _is_empty(path)
    if read_only and new:
        return _in_memory(create)
    try:
        if read_only:
            conn = sqlite3.connect(
                _read_only_uri(path), uri=True, isolation_level=None, check_same_thread=False
            )
        else:
            if not new:
                _refuse_foreign(path, label, version)
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are explicit (UserStore._transaction).
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"sandbox store {label}: cannot open: {_reason(exc)}") from exc
    try:
        if read_only:
            _check_identity(conn, label, version)
            conn = _upgraded_copy(conn, version, create)
        else:
            _prepare(conn, version, create)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"sandbox store {label}: {_reason(exc)}") from exc
    except StoreError:
        conn.close()
        raise
    return conn


def _is_empty(path: str) -> bool:
    try:
        return os.stat(path).st_size == 0
    except FileNotFoundError:
        return True


def _in_memory(create: Callable[[sqlite3.Connection], None]) -> sqlite3.Connection:
    """A missing store reads as an empty one, without creating anything on the disk."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    create(conn)
    return conn


def _upgraded_copy(
    conn: sqlite3.Connection, version: int, create: Callable[[sqlite3.Connection], None]
) -> sqlite3.Connection:
    """A store of an older version is read through an upgraded copy in memory: reading must
    not migrate the file (that is apply's job), and the queries need this version's schema."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= version:
        return conn
    copy = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.backup(copy)
    conn.close()
    create(copy)
    return copy


def _read_only_uri(path: str) -> str:
    """``file:...?mode=ro``, immutable unless a writer's ``-wal`` file holds recent commits."""
    uri = Path(path).absolute().as_uri() + "?mode=ro"
    return uri if os.path.exists(path + "-wal") else uri + "&immutable=1"


def _refuse_foreign(path: str, label: str, version: int) -> None:
    """Check a file's identity through a read-only connection, before writing anything."""
    try:
        conn = sqlite3.connect(_read_only_uri(path), uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"sandbox store {label}: cannot open: {_reason(exc)}") from exc
    try:
        _check_identity(conn, label, version)
    except sqlite3.Error as exc:
        raise StoreError(f"sandbox store {label}: {_reason(exc)}") from exc
    finally:
        conn.close()


def _check_identity(conn: sqlite3.Connection, label: str, version: int) -> None:
    """Refuse a file that is not a reconciler store, or one from a newer reconciler."""
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    user_version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    legacy = application_id == 0 and 1 <= user_version <= version and tables >= TABLES
    if application_id != APPLICATION_ID and not legacy:
        raise StoreError(
            f"sandbox store {label}: the file is not a reconciler sandbox store (another "
            "program's data?): point path: at a new file; reconciler never changes this one"
        )
    if user_version > version:
        raise StoreError(
            f"sandbox store {label}: schema version {user_version} is newer than this "
            f"reconciler knows ({version}); upgrade reconciler"
        )


def _prepare(conn: sqlite3.Connection, version: int, create: Callable[..., None]) -> None:
    """WAL (readers in other processes while one writes), the schema and the mark."""
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    if conn.execute("PRAGMA user_version").fetchone()[0] < version:
        create(conn)
    if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _reason(exc: BaseException) -> str:
    """SQLite's or the system's reason, without the file's content or its full path."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    text = str(exc)
    if "file is not a database" in text:
        return "the file is not a reconciler sandbox store (not even SQLite)"
    return text[:200]

"""Opening a sandbox store's SQLite file: read-only for plans, and never someone else's file.

``plan`` is read-only and a pull request chooses the sandbox ``path:``, so reading opens the file
with ``mode=ro&immutable=1`` (SQLite then creates no ``-wal``/``-shm`` file), and a missing or
empty file is an empty store held in memory: nothing is created on the disk. A ``-wal`` file
next to the store (a writer's commits not yet in the file, or one committed to the repository)
is read from a private copy of both, so its commits are seen and the checkout is left as it is;
a ``-wal`` that is a symlink is ignored. Writing (``apply``, the emulator) creates the file when
needed.

Every store is marked with ``PRAGMA application_id``. A file that is not empty must carry the
mark, or be a store from a reconciler before the mark (recognised by its ``user_version`` and
its tables, and marked when next written); any other file (another program's SQLite database,
a text file) is refused before anything is written to it, and nothing of it is printed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from reconciler.errors import StoreError

#: "RCS1": the mark of a reconciler sandbox store (SQLite's application_id header field).
APPLICATION_ID = 0x52435331
#: The tables of every store, also of the stores written before the application id.
TABLES = frozenset({"users", "events", "companies", "memberships", "meta"})


#: Writes the schema of a new store, or brings an older one up to this version.
Create = Callable[[sqlite3.Connection], None]


def connect(
    path: str, label: str, *, read_only: bool, version: int, create: Create
) -> sqlite3.Connection:
    """An open connection to a checked store; ``create`` writes the schema of a new one.

    ``label`` names the file in messages (the path as reconciler.yaml writes it). ``version`` is
    the schema version this reconciler writes; ``create`` runs in write mode when the file is
    new, empty, or an older version (it must bring ``user_version`` up to ``version``).
    """
    new = path == ":memory:" or _is_empty(path)
    if read_only:
        return _in_memory(create) if new else _open_read_only(path, label, version, create)
    return _open_for_writing(path, label, version, create, new=new)


def _open_read_only(path: str, label: str, version: int, create: Create) -> sqlite3.Connection:
    """The store as it is, changing nothing next to it: opened ``immutable``, or, when a
    writer's ``-wal`` file holds commits the file lacks, read from a private copy of both."""
    if _is_regular(path + "-wal"):  # never a symlink: its frames would be read into the store
        with tempfile.TemporaryDirectory(prefix="reconciler-store-") as private:
            copy = os.path.join(private, "store.db")
            shutil.copyfile(path, copy)
            shutil.copyfile(path + "-wal", copy + "-wal")
            conn = _connect_read_only(copy, label, immutable=False)  # its -shm goes there
            with _closed_on_error(conn, label):
                _check_identity(conn, label, version)
                return _upgraded_copy(conn, version, create, always=True)
    conn = _connect_read_only(path, label, immutable=True)
    with _closed_on_error(conn, label):
        _check_identity(conn, label, version)
        return _upgraded_copy(conn, version, create)


def _connect_read_only(path: str, label: str, *, immutable: bool) -> sqlite3.Connection:
    uri = Path(path).absolute().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"sandbox store {label}: cannot open: {_reason(exc)}") from exc


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _open_for_writing(
    path: str, label: str, version: int, create: Create, *, new: bool
) -> sqlite3.Connection:
    try:
        if not new:
            _refuse_foreign(path, label, version)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            if new:
                _create_whole(path, label, version, create)
        # isolation_level=None: transactions are explicit (UserStore._transaction).
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"sandbox store {label}: cannot open: {_reason(exc)}") from exc
    with _closed_on_error(conn, label):
        _prepare(conn, version, create)
    return conn


def _create_whole(path: str, label: str, version: int, create: Create) -> None:
    """Write a new store under a temporary name beside ``path``, then move it into place.

    A creation that fails halfway (a full disk, a killed process) would otherwise leave a file
    without the mark, which every later run refuses as another program's data until someone
    deletes it by hand. Built aside, ``path`` appears only once the store is complete, and a
    failure removes what was written. The temporary store is written without WAL (one file,
    nothing left in a ``-wal`` to lose in the move); ``_prepare`` turns WAL on once in place.
    """
    folder, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{name}.{os.getpid()}.{threading.get_ident()}.new")
    _remove(temporary)
    try:
        conn = sqlite3.connect(temporary, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")
            create(conn)
            if conn.execute("PRAGMA user_version").fetchone()[0] < version:
                raise sqlite3.DatabaseError("the new store's schema was not written")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        finally:
            conn.close()
        _move_into_place(temporary, path)
    except BaseException:
        _remove(temporary)
        raise


def _move_into_place(temporary: str, path: str) -> None:
    """``temporary`` becomes ``path``, unless another writer created ``path`` meanwhile: then
    theirs is kept (and checked like any existing store)."""
    try:
        os.link(temporary, path)  # fails if path exists: never replaces another's store
    except FileExistsError:
        if _is_empty(path):
            os.replace(temporary, path)
    except OSError:  # a file system without hard links
        if _is_empty(path):
            os.replace(temporary, path)
    _remove(temporary)


def _remove(path: str) -> None:
    for leftover in (path, path + "-journal", path + "-wal", path + "-shm"):
        with suppress(FileNotFoundError):
            os.unlink(leftover)


@contextmanager
def _closed_on_error(conn: sqlite3.Connection, label: str) -> Iterator[None]:
    """Close ``conn`` when the block fails; SQLite's errors become StoreErrors naming ``label``."""
    try:
        yield
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"sandbox store {label}: {_reason(exc)}") from exc
    except StoreError:
        conn.close()
        raise


def _is_empty(path: str) -> bool:
    try:
        return os.stat(path).st_size == 0
    except FileNotFoundError:
        return True


def _in_memory(create: Create) -> sqlite3.Connection:
    """A missing store reads as an empty one, without creating anything on the disk."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    create(conn)
    return conn


def _upgraded_copy(
    conn: sqlite3.Connection, version: int, create: Create, *, always: bool = False
) -> sqlite3.Connection:
    """A store of an older version is read through an upgraded copy in memory: reading must
    not migrate the file (that is apply's job), and the queries need this version's schema.
    ``always``: copied whatever the version (``conn``'s file is about to be removed)."""
    if not always and conn.execute("PRAGMA user_version").fetchone()[0] >= version:
        return conn
    copy = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.backup(copy)
    conn.close()
    create(copy)
    return copy


def _refuse_foreign(path: str, label: str, version: int) -> None:
    """Check a file's identity through a read-only connection, before writing anything.

    Not immutable: a writer is about to open the file (and its ``-shm``) anyway, and a store
    whose header so far lives only in its ``-wal`` (written by a running emulator, or left by
    a killed writer) must be recognised as ours, not refused as foreign.
    """
    conn = _connect_read_only(path, label, immutable=False)
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


def _prepare(conn: sqlite3.Connection, version: int, create: Create) -> None:
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

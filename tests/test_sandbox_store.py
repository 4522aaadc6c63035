"""The SQLite user store against a real file in tmp_path."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.model import Company, Event, EventStats, Membership, Upsert
from reconciler.sandbox import storefile
from reconciler.sandbox.store import SCHEMA_VERSION, StoreError, UserStore
from reconciler.sandbox.storefile import APPLICATION_ID

NS = "sandbox"
T1 = 1_626_448_859_836
T2 = T1 + 60_000
T3 = T2 + 60_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[UserStore]:
    clock = iter(range(1_700_000_000_000, 1_800_000_000_000))
    with UserStore(tmp_path / "nested" / "folder" / "sandbox.db", clock=lambda: next(clock)) as s:
        yield s


def test_creates_parent_folders_wal_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.db"
    UserStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_reopening_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with UserStore(path) as first:
        first.upsert(NS, Upsert("u1", {"plan": "pro"}))
    with UserStore(path) as second:
        assert second.get_users(NS, ["u1"])["u1"].attributes == {"plan": "pro"}


def test_refuses_a_file_from_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        UserStore(path)


def test_a_schema_1_file_is_upgraded_keeping_its_memberships(tmp_path: Path) -> None:
    """Schema 2 added memberships.created_at (Usertour answers a membership's createdAt)."""
    path = tmp_path / "store.db"
    with UserStore(path, clock=lambda: T1) as first:
        first.upsert(NS, Upsert("u1", companies=(Company("acme"),)))
    conn = sqlite3.connect(path)
    conn.executescript("ALTER TABLE memberships DROP COLUMN created_at; PRAGMA user_version = 1;")
    conn.close()
    with UserStore(path, clock=lambda: T2) as second:
        second.upsert(NS, Upsert("u2", companies=(Company("acme"),)))
        assert second.relation_times(NS, ["u1", "u2"]) == {
            ("u1", "acme"): (0, T1),
            ("u2", "acme"): (T2, T1),
        }
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    conn.close()


def test_listing_cursors_before_and_after(store: UserStore) -> None:
    for n in range(5):
        store.upsert(NS, Upsert(f"u{n}", companies=(Company("acme"),) if n % 2 == 0 else ()))
    cursor = store.user_cursor(NS, "u3")
    assert cursor is not None and store.has_cursor(NS, cursor)
    assert [store.user_cursor(NS, u) for u in ("u1", "u2")] == store.cursors_before(
        NS, cursor, limit=2
    )
    assert store.first_cursor(NS, company_id="acme") == store.user_cursor(NS, "u0")
    newest = store.list_users(NS, limit=2, newest_first=True)
    assert [u.id for u in newest.users] == ["u4", "u3"]
    older = store.list_users(NS, limit=2, after=newest.next_cursor, newest_first=True)
    assert [u.id for u in older.users] == ["u2", "u1"]
    assert store.cursors_before(NS, older.next_cursor, limit=1, newest_first=True) == [
        store.user_cursor(NS, "u2")
    ]
    assert store.first_cursor(NS, newest_first=True) == store.user_cursor(NS, "u4")
    store.delete_user(NS, "u3")
    assert not store.has_cursor(NS, cursor) and not store.has_cursor(NS, "junk")
    assert store.known_companies(NS, ["acme", "globex"]) == {"acme"}


def test_a_creation_that_fails_halfway_leaves_nothing_behind(tmp_path: Path) -> None:
    """Issue 21: the disk fills while the schema is written. Before, the half-made file stayed
    and every later run refused it as "another program's data?" until deleted by hand."""
    path = tmp_path / "store.db"

    def disk_fills(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE users (id TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO users VALUES ('x')")
        raise sqlite3.OperationalError("database or disk is full")

    with pytest.raises(StoreError, match="database or disk is full"):
        storefile.connect(
            str(path), "store.db", read_only=False, version=SCHEMA_VERSION, create=disk_fills
        )
    assert list(tmp_path.iterdir()) == []
    with UserStore(path) as store:  # space freed: the next run creates it
        store.upsert(NS, Upsert("u1", {"plan": "pro"}))


@pytest.mark.subprocess
def test_a_full_disk_while_creating_the_store_leaves_nothing_behind(tmp_path: Path) -> None:
    """The same with a real write failure: a process whose files may not exceed 8 KiB
    (RLIMIT_FSIZE), far less than a new store's schema."""
    path = tmp_path / "store.db"
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))\n"
        "from reconciler.sandbox.store import UserStore, StoreError\n"
        "try:\n"
        "    UserStore(sys.argv[1]).close()\n"
        "except StoreError as error:\n"
        "    print(error)\n"
        "    sys.exit(3)\n"
    )
    root = Path(__file__).resolve().parents[1]
    environ = {**os.environ, "PYTHONPATH": str(root)}
    ran = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 3, ran.stderr
    assert "sandbox store" in ran.stdout
    assert list(tmp_path.iterdir()) == []
    UserStore(path).close()


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"store\.db"):
        UserStore(path)


def test_value_types_round_trip_exactly(store: UserStore) -> None:
    values = {
        "int": 12,
        "float": 12.0,
        "small": 0.1 + 0.2,
        "big": 2**70,
        "true": True,
        "false": False,
        "zero": 0,
        "str": "12",
        "unicode": "Zoë ✓",
        "list": ["a", "b"],
        "mixed": [1, 1.5, "x", False],
        "empty": [],
    }
    store.upsert(NS, Upsert("u1", values))
    stored = store.get_users(NS, ["u1"])["u1"].attributes
    assert stored == values
    for name, value in values.items():
        assert type(stored[name]) is type(value), name
    assert type(stored["mixed"][1]) is float


def test_unknown_ids_are_absent(store: UserStore) -> None:
    store.upsert(NS, Upsert("u1"))
    assert set(store.get_users(NS, ["u1", "nobody"])) == {"u1"}
    assert store.get_users(NS, []) == {}
    assert store.get_user(NS, "nobody") is None


def test_attributes_merge_and_null_deletes(store: UserStore) -> None:
    store.upsert(NS, Upsert("u1", {"plan": "free", "seats": 1, "legacy": True}))
    user = store.upsert(NS, Upsert("u1", {"plan": "pro", "legacy": None, "absent": None}))
    assert user.attributes == {"plan": "pro", "seats": 1}
    assert store.get_user(NS, "u1") == user


def test_email_is_set_when_given_and_kept_otherwise(store: UserStore) -> None:
    assert store.upsert(NS, Upsert("u1")).email is None
    assert store.upsert(NS, Upsert("u1", email="a@example.com")).email == "a@example.com"
    assert store.upsert(NS, Upsert("u1", {"x": 1})).email == "a@example.com"
    assert store.upsert(NS, Upsert("u1", email="b@example.com")).email == "b@example.com"


def test_created_at_and_order_survive_updates(store: UserStore) -> None:
    first = store.upsert(NS, Upsert("u1"))
    store.upsert(NS, Upsert("u2"))
    again = store.upsert(NS, Upsert("u1", {"x": 1}))
    assert again.created_at == first.created_at
    assert [u.id for u in store.list_users(NS).users] == ["u1", "u2"]


def test_events_aggregate_per_name(store: UserStore) -> None:
    events = (Event("login", T2), Event("login", T1), Event("signup", T1))
    user = store.upsert(NS, Upsert("u1", events=events))
    assert user.events == {"login": EventStats(2, T1, T2), "signup": EventStats(1, T1, T1)}

    user = store.upsert(NS, Upsert("u1", events=(Event("login", T3), Event("login", T3))))
    assert user.events["login"] == EventStats(4, T1, T3)
    assert user.events["signup"] == EventStats(1, T1, T1)

    # An older event still counts and moves "first" back, as appended history does.
    user = store.upsert(NS, Upsert("u1", events=(Event("signup", T1 - 5),)))
    assert user.events["signup"] == EventStats(2, T1 - 5, T1)


def test_companies_make_memberships_without_attributes(store: UserStore) -> None:
    user = store.upsert(NS, Upsert("u1", companies=(Company("acme", {"name": "Acme"}),)))
    assert user.memberships == {"acme": Membership(Company("acme", {"name": "Acme"}), {})}


def test_company_attributes_are_shared_and_merged(store: UserStore) -> None:
    store.upsert(NS, Upsert("u1", companies=(Company("acme", {"name": "Acme", "tier": 1}),)))
    store.upsert(NS, Upsert("u2", companies=(Company("acme", {"tier": 2, "name": None}),)))
    users = store.get_users(NS, ["u1", "u2"])
    assert users["u1"].memberships["acme"].company.attributes == {"tier": 2}
    assert users["u2"].memberships["acme"].company.attributes == {"tier": 2}


def test_membership_attributes_merge_and_are_kept_by_companies(store: UserStore) -> None:
    acme = Company("acme", {"name": "Acme"})
    store.upsert(NS, Upsert("u1", memberships=(Membership(acme, {"role": "admin", "x": 1}),)))
    store.upsert(NS, Upsert("u1", memberships=(Membership(Company("acme"), {"x": None}),)))
    # Listing the company again must not wipe the membership's own attributes.
    user = store.upsert(NS, Upsert("u1", companies=(Company("globex"), Company("acme"))))
    assert user.memberships["acme"] == Membership(acme, {"role": "admin"})
    assert user.memberships["globex"] == Membership(Company("globex"), {})


def test_namespaces_are_isolated(store: UserStore) -> None:
    store.upsert("a", Upsert("u1", {"x": 1}, events=(Event("login", T1),)))
    store.upsert("a", Upsert("u1", companies=(Company("acme", {"n": "a"}),)))
    store.upsert("b", Upsert("u1", {"y": 2}, companies=(Company("acme", {"n": "b"}),)))
    a, b = store.get_user("a", "u1"), store.get_user("b", "u1")
    assert a is not None and b is not None
    assert (a.attributes, b.attributes) == ({"x": 1}, {"y": 2})
    assert (a.events, b.events) == ({"login": EventStats(1, T1, T1)}, {})
    assert a.memberships["acme"].company.attributes == {"n": "a"}
    assert b.memberships["acme"].company.attributes == {"n": "b"}
    store.delete_user("a", "u1")
    assert store.count_users("a") == 0
    assert store.count_users("b") == 1
    assert store.list_user_ids("c") == []


def test_cursor_pagination_covers_every_user_once(store: UserStore) -> None:
    ids = [f"user-{n:03}" for n in range(57)]
    for user_id in reversed(ids):
        store.upsert(NS, Upsert(user_id))
    store.upsert("other", Upsert("intruder"))
    seen: list[str] = []
    cursor = None
    while True:
        page = store.list_users(NS, limit=10, after=cursor)
        seen += [user.id for user in page.users]
        assert len(page.users) <= 10
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(ids))  # creation order


def test_exact_multiple_of_limit_has_no_empty_last_page(store: UserStore) -> None:
    for n in range(4):
        store.upsert(NS, Upsert(f"u{n}"))
    first = store.list_users(NS, limit=2)
    second = store.list_users(NS, limit=2, after=first.next_cursor)
    assert [u.id for u in second.users] == ["u2", "u3"]
    assert second.next_cursor is None


def test_pagination_survives_deleting_the_cursor_user(store: UserStore) -> None:
    for n in range(4):
        store.upsert(NS, Upsert(f"u{n}"))
    first = store.list_users(NS, limit=2)
    store.delete_user(NS, "u1")
    store.upsert(NS, Upsert("u4"))
    rest = store.list_users(NS, limit=10, after=first.next_cursor)
    assert [u.id for u in rest.users] == ["u2", "u3", "u4"]


def test_list_filters_and_bad_arguments(store: UserStore) -> None:
    store.upsert(NS, Upsert("u1", email="a@example.com", companies=(Company("acme"),)))
    store.upsert(NS, Upsert("u2", email="b@example.com", companies=(Company("acme"),)))
    store.upsert(NS, Upsert("u3", email="a@example.com"))
    assert [u.id for u in store.list_users(NS, email="a@example.com").users] == ["u1", "u3"]
    assert [u.id for u in store.list_users(NS, company_id="acme").users] == ["u1", "u2"]
    with pytest.raises(ValueError, match="cursor"):
        store.list_users(NS, after="not-a-cursor")
    with pytest.raises(ValueError, match="limit"):
        store.list_users(NS, limit=0)


def test_delete_removes_user_events_and_memberships(store: UserStore) -> None:
    upsert = Upsert("u1", {"x": 1}, events=(Event("login", T1),), companies=(Company("acme"),))
    store.upsert(NS, upsert)
    store.upsert(NS, Upsert("u2", companies=(Company("acme", {"name": "Acme"}),)))
    assert store.delete_user(NS, "u1") is True
    assert store.delete_user(NS, "u1") is False
    assert store.get_user(NS, "u1") is None
    assert store.list_users(NS, company_id="acme").users[0].id == "u2"
    # Re-created, it starts from nothing: no old events, no old memberships.
    assert store.upsert(NS, Upsert("u1")).events == {}
    assert store.get_user(NS, "u1").memberships == {}  # type: ignore[union-attr]


def test_delete_membership(store: UserStore) -> None:
    store.upsert(NS, Upsert("u1", companies=(Company("acme"), Company("globex"))))
    assert store.delete_membership(NS, "u1", "acme") is True
    assert store.delete_membership(NS, "u1", "acme") is False
    assert set(store.get_user(NS, "u1").memberships) == {"globex"}  # type: ignore[union-attr]


def test_count_and_sorted_ids(store: UserStore) -> None:
    for user_id in ["b", "a", "c", "B"]:
        store.upsert(NS, Upsert(user_id))
    assert store.count_users(NS) == 4
    assert store.list_user_ids(NS) == ["B", "a", "b", "c"]


def test_batch_read_of_20k_users(store: UserStore) -> None:
    ids = [f"user/{n}?é" for n in range(20_000)]
    upserts = (
        Upsert(
            user_id,
            {"n": n},
            events=(Event("login", T1 + n),),
            companies=(Company(f"c{n % 7}"),),
        )
        for n, user_id in enumerate(ids)
    )
    assert store.upsert_many(NS, upserts) == 20_000
    users = store.get_users(NS, [*ids, "missing"])
    assert len(users) == 20_000
    assert users[ids[12_345]].attributes == {"n": 12_345}
    assert users[ids[12_345]].events == {"login": EventStats(1, T1 + 12_345, T1 + 12_345)}
    assert set(users[ids[12_345]].memberships) == {f"c{12_345 % 7}"}


def test_concurrent_upserts_lose_no_writes(store: UserStore) -> None:
    threads, per_thread = 8, 50
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(per_thread):
                event = Event("ping", T1 + n)
                store.upsert(NS, Upsert("shared", {f"w{worker}": n}, events=(event,)))
                store.upsert(NS, Upsert(f"own-{worker}-{n}", {"n": n}))
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(worker,)) for worker in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    shared = store.get_user(NS, "shared")
    assert shared is not None
    assert shared.attributes == {f"w{w}": per_thread - 1 for w in range(threads)}
    assert shared.events["ping"] == EventStats(threads * per_thread, T1, T1 + per_thread - 1)
    assert store.count_users(NS) == 1 + threads * per_thread


def test_meta_keeps_the_first_value_per_key(store: UserStore) -> None:
    assert store.setdefault_meta(NS, {"type:plan": "string"}) == {"type:plan": "string"}
    claimed = store.setdefault_meta(NS, {"type:plan": "number", "type:seats": "number"})
    assert claimed == {"type:plan": "string", "type:seats": "number"}
    assert store.setdefault_meta("other", {"type:plan": "number"}) == {"type:plan": "number"}


def test_failed_upsert_writes_nothing(store: UserStore) -> None:
    store.upsert(NS, Upsert("u1", {"x": 1}))
    with pytest.raises(ValueError):
        store.upsert(
            NS, Upsert("u1", {"x": 2}, companies=(Company("acme", {"bad": float("nan")}),))
        )
    user = store.get_user(NS, "u1")
    assert user is not None
    assert user.attributes == {"x": 1}
    assert user.memberships == {}


def test_closed_store_raises_store_error(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "s.db")
    store.close()
    store.close()
    with pytest.raises(StoreError):
        store.count_users(NS)

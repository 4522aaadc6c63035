"""load/journal.py: the write-ahead record replayed, appended, cleared, compacted, bounded."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from reconciler.errors import ConfigError, NotSent
from reconciler.load.journal import Journal, journal_path, read_state
from reconciler.model import Event

LOGIN1, LOGIN2, SIGNUP = Event("login", 1), Event("login", 2), Event("signup", 1)


def _journal(tmp_path: Path, run: str = "run1") -> Journal:
    return Journal(journal_path(tmp_path, "prod"), "prod", run)


def test_no_file_is_no_record_and_nothing_is_written_by_reading(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    assert journal.started is None and journal.inflight() == {}
    assert not journal.covers(1e12, 0)
    assert not (tmp_path / ".reconciler").exists()


def test_a_write_is_on_disk_before_it_leaves_and_a_new_run_reads_it(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    journal.sending("u1", (LOGIN1, LOGIN2))
    # Not closed, not compacted: a run killed here leaves this on disk.
    again = _journal(tmp_path, "run2")
    (record,) = again.inflight()["u1"]
    assert record.events == (LOGIN1, LOGIN2) and record.run == "run1"
    assert again.started is not None
    assert "login x2 sent " in record.describe() and "by run run1" in record.describe()


def test_clear_forgets_the_events_seen_and_keeps_the_rest(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    journal.sending("u1", (LOGIN1, SIGNUP))
    journal.sending("u2", (LOGIN1,))
    journal.clear("u1", (SIGNUP,))
    journal.clear("u2")
    replayed = _journal(tmp_path).inflight()
    assert list(replayed) == ["u1"] and replayed["u1"][0].events == (LOGIN1,)


def test_a_torn_last_line_is_ignored_and_never_ends_up_in_the_middle(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    journal.sending("u1", (LOGIN1,))
    journal.close()
    path = journal_path(tmp_path, "prod")
    with path.open("a") as handle:
        handle.write('{"op": "sent", "user": "u2", "ev')  # killed mid-line
    second = _journal(tmp_path, "run2")
    assert list(second.inflight()) == ["u1"]
    second.sending("u3", (LOGIN1,))
    assert sorted(_journal(tmp_path).inflight()) == ["u1", "u3"]


def test_a_damaged_line_names_file_and_line_and_what_to_do(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    journal.sending("u1", (LOGIN1,))
    path = journal_path(tmp_path, "prod")
    path.write_text(path.read_text() + '{"op": "explode", "user": "u"}\n')
    with pytest.raises(ConfigError, match=r"prod\.jsonl:3: the write-ahead record is damaged"):
        read_state(path, "prod")


def test_another_targets_record_is_refused(tmp_path: Path) -> None:
    _journal(tmp_path).sending("u1", (LOGIN1,))
    os.replace(journal_path(tmp_path, "prod"), journal_path(tmp_path, "other"))
    with pytest.raises(ConfigError, match="belongs to target 'prod'"):
        read_state(journal_path(tmp_path, "other"), "other")


def test_a_symlinked_record_is_refused_never_followed(tmp_path: Path) -> None:
    """The attacker plants .reconciler/inflight/prod.jsonl -> a file of theirs elsewhere."""
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text("secret\n")
    path = journal_path(tmp_path, "prod")
    path.parent.mkdir(parents=True)
    path.symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="must not be a symlink"):
        _journal(tmp_path)
    assert elsewhere.read_text() == "secret\n"


def test_compaction_keeps_only_what_is_in_flight_and_the_start(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    journal.sending("u1", (LOGIN1,))
    journal.sending("u2", (LOGIN1,))
    journal.clear("u2")
    journal.prove("u3")
    started = journal.started
    journal.compact()
    lines = [json.loads(line) for line in journal_path(tmp_path, "prod").read_text().splitlines()]
    assert lines[0]["started"] == started
    assert [(line.get("op"), line.get("user")) for line in lines[1:]] == [
        ("proved", "u3"),
        ("sent", "u1"),
    ]
    assert _journal(tmp_path).proved("u3")


def test_expire_forgets_writes_older_than_the_settle_time(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    journal.sending("u1", (LOGIN1,))
    (record,) = journal.inflight()["u1"]
    assert journal.expire(record.at + 10, settle=60) == []
    assert journal.expire(record.at + 60, settle=60) == [record]
    assert _journal(tmp_path).inflight() == {}


def test_assume_settled_backdates_the_start_so_the_record_covers(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    journal.start()
    assert journal.started is not None and not journal.covers(journal.started + 1, 3600)
    journal.start(since=journal.started - 3600)
    assert journal.covers(journal.started + 3600, 3600)
    assert _journal(tmp_path).covers(journal.started + 3600, 3600)


def test_after_compaction_nothing_is_appended_and_nothing_leaves_unrecorded(
    tmp_path: Path,
) -> None:
    """An interrupted run's worker that outlives the run: its clear is dropped (the record errs
    on the side of "in flight"), and a write it would start is refused before it leaves."""
    journal = _journal(tmp_path)
    journal.sending("u1", (LOGIN1,))
    journal.compact()
    journal.clear("u1")
    assert list(_journal(tmp_path).inflight()) == ["u1"]
    with pytest.raises(NotSent):
        journal.sending("u2", (LOGIN1,))


def test_after_compaction_a_barrier_is_refused_before_it_leaves_unrecorded(
    tmp_path: Path,
) -> None:
    """A barrier is evidence only if its record is on disk before it leaves: once the run's
    record is closed, recording one refuses (it returned as if written, and the barrier went)."""
    journal = _journal(tmp_path)
    journal.compact()
    with pytest.raises(NotSent):
        journal.sent_barrier("u1", "d1")
    assert "u1" not in journal._state.barriers


def test_a_line_nested_beyond_json_depth_is_a_damaged_line_not_a_traceback(
    tmp_path: Path,
) -> None:
    journal = _journal(tmp_path)
    journal.sending("u1", (LOGIN1,))
    journal.close()
    path = journal_path(tmp_path, "prod")
    path.write_text(path.read_text() + "[" * 200_000 + "]" * 200_000 + "\n")
    with pytest.raises(ConfigError, match=r"prod\.jsonl:3: the write-ahead record is damaged"):
        read_state(path, "prod")


def test_concurrent_appends_share_fsyncs_and_none_returns_before_its_line_is_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit: 16 workers record their writes at once. Each ``sending`` returns only
    once an fsync that began after its line was written has ended (what reached the disk is
    taken as the file's size when the fsync began), and they share fsyncs instead of queueing
    one each (5 ms apiece on this machine: one POST per 5 ms for the whole target)."""
    journal = _journal(tmp_path)
    journal.start()
    on_disk = [0]  # bytes of the record known on disk
    fsyncs = [0]
    real_fsync = os.fsync
    guard = threading.Lock()

    def slow_fsync(fd: int) -> None:
        size = os.fstat(fd).st_size
        time.sleep(0.02)
        real_fsync(fd)
        with guard:
            fsyncs[0] += 1
            on_disk[0] = max(on_disk[0], size)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    fsyncs[0] = 0
    late: list[str] = []
    path = journal_path(tmp_path, "prod")

    def worker(number: int) -> None:
        user = f"u{number}"
        journal.sending(user, (LOGIN1,))
        text = path.read_bytes()
        end = text.index(f'"user": "{user}"'.encode())
        if end >= on_disk[0]:
            late.append(user)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert late == []
    assert len(journal.inflight()) == 16
    assert fsyncs[0] < 16


def test_clearing_many_users_is_one_fsync_and_a_new_run_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verification clears every user it saw at the end of a run: one fsync for them all
    (it was one each, 5 ms apiece, in one thread), and a clear never seen by the disk errs
    on the side of "in flight" anyway."""
    journal = _journal(tmp_path)
    for number in range(10):
        journal.sending(f"u{number}", (LOGIN1, SIGNUP))
    fsyncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd)))
    journal.clear_all([("u0", None), ("u1", (LOGIN1,)), ("nobody", None)])
    journal.clear_all((f"u{number}", None) for number in range(2, 9))
    assert len(fsyncs) == 2
    again = _journal(tmp_path, "run2")
    assert set(again.inflight()) == {"u1", "u9"}
    assert again.inflight()["u1"][0].events == (SIGNUP,)

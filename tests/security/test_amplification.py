"""One aliased scalar must not amplify a file (issue 23.7): a pull request that writes a 1 MB
string once and aliases it from 300 users would make every plan print 301 MB (7,000 aliases
were killed by the kernel at 23.7 GB). validate and plan refuse it at the alias, printing
neither the value nor its copies."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from tests.security.attacker_outputs import reconciler, write_files
from tests.test_yamlload import aliased_text

CONFIG = 'targets:\n  local:\n    provider: sandbox\nusers: ["users/"]\n'


def test_a_long_aliased_string_is_refused_before_anything_prints_it(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path / "repo",
        {"reconciler.yaml": CONFIG, "users/bomb.yaml": aliased_text(300, 1 << 20)},
    )
    tracemalloc.start()
    try:
        for command in ("validate", "plan"):
            result = reconciler(command, cwd=repo)
            assert result.code == 1, command
            assert "users/bomb.yaml:25:18: users[11].attributes.bio: aliases expand" in (
                result.stderr
            )
            assert len(result.stdout) + len(result.stderr) < 10_000  # no copy of the value
            assert "x" * 100 not in result.stdout + result.stderr
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024, peak  # a few copies of 1 MB at most, never 301

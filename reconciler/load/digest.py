"""The inputs' digest: SHA-256 over reconciler.yaml and every declaration file (names and bytes).

Computed once, when the workspace is loaded: a saved plan records it and ``apply FILE`` compares
it with the files it loads, so that a plan made from other declarations is stale. Nothing after
the load stage reads a file for it (the renderers only print it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def inputs_digest(config_path: Path, files: Iterable[Path]) -> str:
    """SHA-256 over ``config_path`` and ``files`` (sorted), each as name, length and bytes."""
    digest = hashlib.sha256()
    for path in [config_path, *sorted(files)]:
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()

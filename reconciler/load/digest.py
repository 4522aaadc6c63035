"""The inputs' digest: SHA-256 over reconciler.yaml and every declaration file (names and bytes).

Computed once, at the end of loading the workspace, from the files the load accepted (each read
once more, bounded like the first read): a saved plan records it and ``apply FILE`` compares it
with the files it loads, so that a plan made from other declarations is stale. Nothing after
the load stage reads a file for it (the renderers only print it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from reconciler.load.confine import MAX_CONFIG_BYTES, MAX_FILE_BYTES, read_bounded


def inputs_digest(config_path: Path, files: Iterable[Path]) -> str:
    """SHA-256 over ``config_path`` and ``files`` (sorted), each as name, length and bytes."""
    digest = hashlib.sha256()
    limits = [(config_path, MAX_CONFIG_BYTES), *((path, MAX_FILE_BYTES) for path in sorted(files))]
    for path, limit in limits:
        data = read_bounded(path, limit)
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()

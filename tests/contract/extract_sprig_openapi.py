"""Extract Sprig's OpenAPI document from the vendor's API pages into sprig_openapi.json.

    cd tests/contract && python extract_sprig_openapi.py SEEDS/000_*.txt SEEDS/002_*.txt

(SEEDS: the shared seeds folder.)

Each page (docs.sprig.com's "Upsert a User" and "Retrieve a User") embeds the same document
cut down to one operation, as YAML; their paths and components are merged into one document,
kept otherwise as the vendor wrote it (its tag V1 appears three times: the loader in
sprig_openapi.py de-duplicates tags, the file does not).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
_BLOCK = re.compile(r"````yaml [^\n]*\n(.*?)\n````", re.DOTALL)


def extract(page: str) -> dict[str, Any]:
    match = _BLOCK.search(page)
    if match is None:
        raise SystemExit("no ````yaml block in the page")
    document: dict[str, Any] = yaml.safe_load(match.group(1))
    return document


def merge(documents: list[dict[str, Any]]) -> dict[str, Any]:
    merged = {**documents[0], "paths": {}, "components": {}}
    for document in documents:
        merged["paths"].update(document.get("paths", {}))
        for kind, entries in document.get("components", {}).items():
            merged["components"].setdefault(kind, {}).update(entries)
    return merged


def main(argv: list[str]) -> int:
    documents = [extract(Path(name).read_text(encoding="utf-8")) for name in argv]
    text = json.dumps(merge(documents), indent=1, ensure_ascii=False) + "\n"
    (HERE / "sprig_openapi.json").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

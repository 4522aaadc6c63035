"""Is a PR comment well-formed once GitHub renders it? Rendered with cmarkgfm (GitHub's engine).

A cut in the middle of a plan leaves a code fence or a ``<details>`` open: GitHub then renders
everything after it (the checksum line, the next shard's plan) inside the code block or the
collapsed block. :func:`assert_well_formed` checks the source's fences pair up, and that in the
rendered HTML every ``<details>`` is closed and each ``landmark`` (text that must stay visible,
such as ``Plan checksum:`` or a checksum; each within one run of text) is outside every code
block and every ``<details>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def render(markdown: str) -> str:
    """HTML as GitHub renders a comment (raw HTML such as ``<details>`` kept)."""
    html: str = cmarkgfm.github_flavored_markdown_to_html(
        markdown, options=Options.CMARK_OPT_UNSAFE
    )
    return html


def open_fence(markdown: str) -> int | None:
    """The line (1-based) of a code fence that is never closed, or None (CommonMark's rule:
    a closing fence has the opener's character, at least its length, and no info string)."""
    opened: tuple[int, str] | None = None
    for number, line in enumerate(markdown.splitlines(), 1):
        match = FENCE.match(line)
        if match is None:
            continue
        fence, rest = match.groups()
        if opened is None:
            opened = (number, fence)
        elif fence[0] == opened[1][0] and len(fence) >= len(opened[1]) and not rest.strip():
            opened = None
    return None if opened is None else opened[0]


class _Structure(HTMLParser):
    def __init__(self, landmarks: Iterable[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.landmarks = list(landmarks)
        self.depth = {"details": 0, "pre": 0}
        self.problems: list[str] = []
        self.seen: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self.depth:
            self.depth[tag] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.depth:
            if self.depth[tag] == 0:
                self.problems.append(f"</{tag}> without <{tag}>")
            self.depth[tag] = max(0, self.depth[tag] - 1)

    def handle_data(self, data: str) -> None:
        for landmark in self.landmarks:
            if landmark in data:
                self.seen.append(landmark)
                if self.depth["pre"] or self.depth["details"]:
                    self.problems.append(f"{landmark!r} is inside {self.depth}")


def assert_well_formed(markdown: str, landmarks: Iterable[str] = ()) -> None:
    """Every fence and ``<details>`` closed; every landmark visible, outside both."""
    line = open_fence(markdown)
    assert line is None, f"the code fence of line {line} is never closed"
    wanted = list(landmarks)
    structure = _Structure(wanted)
    structure.feed(render(markdown))
    structure.close()
    assert not structure.problems, structure.problems
    assert structure.depth == {"details": 0, "pre": 0}, f"left open: {structure.depth}"
    assert sorted(set(structure.seen)) == sorted(set(wanted)), f"missing: {wanted}"


class _Outside(HTMLParser):
    def __init__(self, everything: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.everything = everything
        self.details = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.details += tag == "details"

    def handle_endtag(self, tag: str) -> None:
        self.details -= tag == "details"

    def handle_data(self, data: str) -> None:
        if self.everything or not self.details:
            self.text.append(data)


def outside_details(markdown: str) -> str:
    """The text a reader sees without expanding anything: the rendered HTML's text outside
    every ``<details>`` (code blocks included: they are shown)."""
    parser = _Outside()
    parser.feed(render(markdown))
    parser.close()
    return "".join(parser.text)


def rendered_text(markdown: str) -> str:
    """All the rendered HTML's text, collapsed blocks included (no tags)."""
    parser = _Outside(everything=True)
    parser.feed(render(markdown))
    parser.close()
    return "".join(parser.text)

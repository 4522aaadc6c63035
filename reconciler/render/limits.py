"""GitHub's size limits on what the Markdown forms write: a module of their own so that parsing
``--markdown-limit`` (every command's arguments) does not import the Markdown renderer."""

from __future__ import annotations

#: GitHub refuses comments over 65,536 characters; stay a little below it.
COMMENT_LIMIT = 65_000
#: GitHub keeps at most 1 MiB of step summary per step; characters may take several bytes.
STEP_SUMMARY_LIMIT = 250_000

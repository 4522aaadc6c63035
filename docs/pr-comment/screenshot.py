"""Render each comment with cmark-gfm (GitHub's engine, as tests/markdown_check.py does) into a
page styled roughly like a GitHub comment, for headless chromium to screenshot."""

import sys
from pathlib import Path

sys.path.insert(0, "/work/wt/review")
from tests.markdown_check import render

STYLE = """
body { font: 14px -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 16px;
       max-width: 900px; color: #1f2328; }
pre { background: #f6f8fa; padding: 12px; overflow: auto; font-size: 12px; }
code { background: rgba(175,184,193,0.2); padding: 0 3px; border-radius: 4px; font-size: 12px; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; } td, th { border: 1px solid #d0d7de; padding: 4px 10px; }
details { margin: 6px 0; } summary { cursor: pointer; }
"""

for source in sys.argv[1:]:
    markdown = Path(source).read_text()
    html = f"<!doctype html><meta charset=utf-8><style>{STYLE}</style>{render(markdown)}"
    Path(source).with_suffix(".html").write_text(html)

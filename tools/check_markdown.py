"""Checks that every Markdown file of the repository renders whole.

A CommonMark parser (markdown-it-py) reads each file; the check fails for
a code fence that is never closed (it swallows the rest of the file, as a
stray four-backtick fence once swallowed half the README) and for a line
that looks like a heading (`## Title`) but renders inside a code block.

    python tools/check_markdown.py [ROOT]
"""

import re
import subprocess
import sys
from pathlib import Path

from markdown_it import MarkdownIt

HEADING_LIKE = re.compile(r"^#{2,6} \S")


def problems(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type != "fence" or token.map is None:
            continue
        start, end = token.map
        closing = lines[end - 1].strip() if end - 1 > start else ""
        fence = token.markup
        if not (closing.startswith(fence[0] * len(fence)) and set(closing) <= {fence[0]}):
            found.append(f"{path}:{start + 1}: the code fence {fence!r} is never closed")
            continue
        for number in range(start + 1, end - 1):
            if HEADING_LIKE.match(lines[number]) and token.info not in ("console", "sh", "bash", "text"):
                found.append(
                    f"{path}:{number + 1}: {lines[number]!r} renders inside the code block "
                    f"opened at line {start + 1}"
                )
    return found


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    listed = subprocess.run(
        ["git", "ls-files", "*.md"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.split()
    found = [p for name in listed for p in problems(root / name)]
    for problem in found:
        print(problem, file=sys.stderr)
    print(f"check_markdown: {len(listed)} files, {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

"""The README's picture of the code is the code: every folder and module it names exists, and every
package of hybrid_search is in it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "hybrid_search"


def picture() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## The code\n", 1)[1].split("```", 2)[1]
    lines = block.splitlines()
    start = lines.index("hybrid_search/")
    return [line for line in lines[start + 1 :] if line.startswith("  ")]


def leading_path(line: str) -> str | None:
    """The path a line of the picture starts with (under hybrid_search/); None on a continued line."""
    return line.split()[0] if line[2:3].strip() else None


def test_every_path_the_picture_names_exists():
    named, package = [], ""
    for line in picture():
        if path := leading_path(line):
            named.append(path)
            package = path if path.endswith("/") else ""
        # a module or folder in parentheses is its line's package's (``workers/`` is the repository's)
        for name in re.findall(r"\(([\w/]+(?:\.py|/))[:)]", line):
            named.append(f"../{name}" if name.startswith("workers/") else f"{package}{name}")
    assert named, "no picture of the code in the README"
    missing = [name for name in named if not (PACKAGE / name).exists()]
    assert not missing, missing


def test_every_package_is_in_the_picture():
    shown = {leading_path(line) for line in picture()}
    packages = {f"{p.name}/" for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    stores = {f"stores/{p.name}/" for p in (PACKAGE / "stores").iterdir() if (p / "__init__.py").exists()}
    assert packages - {"stores/"} <= shown and stores <= shown, (packages | stores) - shown

"""Generated files that are committed and kept current by a test: write them, or check them (``--check``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def is_current(path: Path, text: str) -> bool:
    """Whether ``path`` holds exactly ``text``; False when it is missing or differs."""
    try:
        return path.read_bytes() == text.encode("utf-8")
    except FileNotFoundError:
        return False


def write(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` (creating its folder); True when the content changed."""
    if is_current(path, text):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return True


def cli(
    argv: Sequence[str] | None,
    *,
    description: str,
    default_path: Path,
    render: Callable[[], str],
    stale_hint: str,
) -> int:
    """The command line of a generator: write the file, or with ``--check`` exit 1 when it is stale."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is missing or stale")
    parser.add_argument("--path", type=Path, default=default_path, help="the file (default: %(default)s)")
    args = parser.parse_args(argv)
    path: Path = args.path
    text = render()
    if args.check:
        if is_current(path, text):
            return 0
        sys.stderr.write(f"{path} is out of date; {stale_hint}\n")
        return 1
    changed = write(path, text)
    sys.stdout.write(f"{'wrote' if changed else 'unchanged'}: {path}\n")
    return 0

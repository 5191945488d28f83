"""Write the event catalog's JSON Schema to schema/catalog.schema.json, or check that it is current.

Run from the repository root with the layer on the path:

    PYTHONPATH=layers/shared .venv/bin/python -m scripts.export_catalog_schema          # write
    PYTHONPATH=layers/shared .venv/bin/python -m scripts.export_catalog_schema --check  # 1 if stale

The output is deterministic (sorted keys, two-space indent, UTF-8, one trailing newline), so the
committed file changes only when the catalog (or the pydantic version rendering it) does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from toolboxai_realtime.catalog import json_schema

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "catalog.schema.json"


def render() -> str:
    """The schema document as the exact text committed to the repository."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def is_current(path: Path = SCHEMA_PATH) -> bool:
    """Whether ``path`` holds exactly ``render()``; False when it is missing or differs."""
    try:
        return path.read_bytes() == render().encode("utf-8")
    except FileNotFoundError:
        return False


def write(path: Path = SCHEMA_PATH) -> bool:
    """Write the schema to ``path`` (creating its folder); True when the content changed."""
    if is_current(path):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render().encode("utf-8"))
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status (1: ``--check`` found a stale file)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is missing or stale")
    parser.add_argument("--path", type=Path, default=SCHEMA_PATH, help="schema file (default: %(default)s)")
    args = parser.parse_args(argv)
    path: Path = args.path
    if args.check:
        if is_current(path):
            return 0
        sys.stderr.write(
            f"{path} is out of date with toolboxai_realtime.catalog; regenerate it with "
            "`PYTHONPATH=layers/shared python -m scripts.export_catalog_schema`.\n"
        )
        return 1
    changed = write(path)
    sys.stdout.write(f"{'wrote' if changed else 'unchanged'}: {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

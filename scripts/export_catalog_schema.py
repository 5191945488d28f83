"""Write the event catalog's JSON Schema to schema/catalog.schema.json, or check that it is current.

Run from the repository root with the layer on the path:

    PYTHONPATH=layers/shared .venv/bin/python -m scripts.export_catalog_schema          # write
    PYTHONPATH=layers/shared .venv/bin/python -m scripts.export_catalog_schema --check  # 1 if stale

The output is deterministic (sorted keys, two-space indent, UTF-8, one trailing newline), so the
committed file changes only when the catalog (or the pydantic version rendering it) does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from scripts import _generated
from toolboxai_realtime.catalog import json_schema

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "catalog.schema.json"


def render() -> str:
    """The schema document as the exact text committed to the repository."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def is_current(path: Path = SCHEMA_PATH) -> bool:
    """Whether ``path`` holds exactly ``render()``; False when it is missing or differs."""
    return _generated.is_current(path, render())


def write(path: Path = SCHEMA_PATH) -> bool:
    """Write ``render()`` to ``path``; True when the content changed."""
    return _generated.write(path, render())


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status (1: ``--check`` found a stale file)."""
    return _generated.cli(
        argv,
        description=(__doc__ or "").splitlines()[0],
        default_path=SCHEMA_PATH,
        render=render,
        stale_hint="regenerate it with `make schema`.",
    )


if __name__ == "__main__":
    raise SystemExit(main())

"""Layering rules of the shared layer and the functions, read from the source (issue 12, goal 1).

Only ``toolboxai_realtime.aws`` and ``toolboxai_realtime.stores`` talk to AWS through boto3/botocore;
the stores' error code is spelled once, in the DynamoDB toolkit (``stores/_dynamodb.py``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "shared" / "toolboxai_realtime"
SOURCES = sorted([*PACKAGE.rglob("*.py"), *(ROOT / "functions").rglob("*.py")])
AWS_LIBRARIES = {"boto3", "botocore"}


def allowed_to_use_aws(path: Path) -> bool:
    return path == PACKAGE / "aws.py" or (PACKAGE / "stores") in path.parents


def aws_imports(path: Path) -> list[str]:
    """The boto3/botocore modules ``path`` imports at run time (``if TYPE_CHECKING:`` blocks aside: the
    type stubs ``mypy_boto3_*`` are not these libraries anyway)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found += [name for name in names if name.split(".")[0] in AWS_LIBRARIES]
    return found


def test_the_sources_are_found():
    assert PACKAGE / "aws.py" in SOURCES
    assert any(path.parent.name == "stores" for path in SOURCES)
    assert any((ROOT / "functions") in path.parents for path in SOURCES)


def test_the_import_check_sees_every_spelling(tmp_path):
    path = tmp_path / "sample.py"
    path.write_text("import boto3\nimport botocore.session as s\nfrom botocore.exceptions import Stub\n")
    assert aws_imports(path) == ["boto3", "botocore.session", "botocore.exceptions"]


def test_only_aws_and_the_stores_import_boto3_or_botocore():
    offenders = {
        str(path.relative_to(ROOT)): imports
        for path in SOURCES
        if not allowed_to_use_aws(path) and (imports := aws_imports(path))
    }
    assert offenders == {}


def test_the_stores_error_code_is_spelled_once():
    # A word match: ``idempotency_store_unavailable`` is a code of its own.
    spelled = {
        str(path.relative_to(ROOT)): hits
        for path in SOURCES
        if (hits := len(re.findall(r"\bstore_unavailable\b", path.read_text())))
    }
    assert spelled == {"layers/shared/toolboxai_realtime/stores/_dynamodb.py": 1}

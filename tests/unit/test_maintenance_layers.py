"""The maintenance package's layering: the pure schedule and its unit tests need no AWS library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import toolboxai_realtime.maintenance as maintenance

ROOT = Path(__file__).resolve().parents[2]
PURE = ("records", "schedule", "models", "views")
# Importing any of these (or the store, which imports botocore) fails in the subprocesses below.
BLOCK = (
    "import sys\n"
    "for name in ('boto3', 'botocore', 'moto', 'aioboto3', 'aiobotocore'):\n"
    "    sys.modules[name] = None\n"
)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + code],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'layers' / 'shared'}:{ROOT}", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_block_works_boto_cannot_be_imported_and_so_neither_can_the_store():
    result = run_python("import toolboxai_realtime.stores.maintenance\n")
    assert result.returncode != 0
    assert "ModuleNotFoundError" in result.stderr or "ImportError" in result.stderr


def test_the_pure_modules_import_without_aws_libraries_or_the_stores():
    imports = "".join(f"import toolboxai_realtime.maintenance.{name}\n" for name in PURE)
    check = (
        "prefixes = ('toolboxai_realtime.stores', 'toolboxai_realtime.aws', 'boto')\n"
        "loaded = sorted(m for m, mod in sys.modules.items() if mod is not None and m.startswith(prefixes))\n"
        "assert not loaded, loaded\n"
        "print('ok')\n"
    )
    result = run_python(imports + check)
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr


def test_the_schedule_unit_tests_pass_without_aws_libraries():
    # Without tests/conftest.py (it builds moto tables): these tests must need nothing of it.
    result = run_python(
        "import pytest\n"
        "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '--noconftest', "
        "'tests/unit/test_maintenance_plan.py']))\n"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
    assert "failed" not in result.stdout
    assert "error" not in result.stdout


def test_every_exported_name_is_the_one_its_module_defines():
    for name in maintenance.__all__:
        home = maintenance._HOME[name]
        module = __import__(f"toolboxai_realtime.maintenance.{home}", fromlist=[name])
        assert getattr(maintenance, name) is getattr(module, name), name
    assert set(maintenance._HOME) == set(maintenance.__all__)
    assert set(maintenance.__all__) <= set(dir(maintenance))

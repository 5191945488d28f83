"""Lambda SnapStart: what the snapshot should already hold (README, "Cold starts").

Imports are lazy (issue 15): a module loads what it needs on its first call, so a function that never
signs never pays for the Pusher SDK. With SnapStart that would be the wrong trade for the request
path: whatever ``import app`` leaves out is imported after every restore, on a user's request, instead
of once, before the snapshot. ``prime(...)`` registers those imports as a before-snapshot runtime hook
(``snapshot_restore_py``, part of Lambda's Python managed runtime) when Lambda initialises the function
for a snapshot (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``, a reserved variable). When Lambda
initialises a provisioned-concurrency instance (``provisioned-concurrency``: before any traffic reaches
it, which is the point of the template's ``AuthProvisionedConcurrency``/``TriggerProvisionedConcurrency``)
``prime`` imports them at once, for the same reason. Otherwise (on-demand instances, ``make dev``, the
tests) ``prime`` does nothing and the imports stay lazy.

Nothing unique is made before the snapshot: event ids, ULIDs and retry jitter come from
``os.urandom`` at call time, clients and secrets are created on first use (after the restore), and
deadlines are read from each invocation's context.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any


def _register() -> Callable[..., Any] | None:
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "snap-start":
        return None
    try:
        from snapshot_restore_py import register_before_snapshot  # type: ignore[import-not-found]
    except ImportError:  # a SnapStart init outside Lambda's managed runtime: nothing runs the hooks
        return None
    register: Callable[..., Any] = register_before_snapshot
    return register


def _import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)


def prime(*modules: str) -> bool:
    """Import ``modules`` (dotted names) before Lambda takes this function's SnapStart snapshot, or now
    when this is a provisioned-concurrency initialisation.

    Returns whether they are imported ahead of traffic (False for on-demand instances and outside Lambda).
    The SnapStart hook runs only when Lambda snapshots a published version; it raises ``ImportError``
    there, failing the version's publication, if a module does not exist (at a provisioned
    initialisation, the init fails the same way).
    """
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "provisioned-concurrency":
        _import_all(modules)
        return True
    register = _register()
    if register is None:
        return False
    register(_import_all, modules)
    return True

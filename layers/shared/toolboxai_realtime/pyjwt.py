"""PyJWT for ``identity``, imported without ``cryptography`` when the deployment verifies HMAC tokens only.

PyJWT decides once, when ``jwt`` is first imported, whether it can verify RS*/PS*/ES*/EdDSA: if the
``cryptography`` package is installed it imports it (``jwt.algorithms``, ``jwt.utils``: x509 and every
asymmetric key type, about 75 ms of a cold start, issue 15) and registers those algorithms
(``jwt.algorithms.has_crypto``); whether any of them will ever be used does not matter. Our layer has
to ship ``cryptography`` (``PyJWT[crypto]``) for deployments that verify tokens against a JWKS.

In Lambda (``LAMBDA_TASK_ROOT`` set) the environment is the deployment's configuration and does not
change for the life of the process, so when ``JWT_ALGORITHMS`` (read as ``settings.Settings`` reads
it) names only HS256/HS384/HS512, ``jwt`` is imported with ``cryptography`` hidden (a ``None`` entry in
``sys.modules``, Python's documented way to make an import fail; PyJWT's own fallback for a missing
``cryptography``), and the entry is removed again at once. When any other algorithm is configured, or
outside Lambda (tests and the local stack change the settings within one process), ``jwt`` is imported
as usual. Either way an HS* token is verified by the same PyJWT code (``hmac``, ``hashlib``).
``tests/unit/test_cold_imports.py`` checks both cases.

PyJWT offers no switch for this (it would take a lazy ``jwt.algorithms``); this module is that switch,
the only one that imports ``jwt`` in the layer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

HMAC_ONLY = frozenset({"HS256", "HS384", "HS512"})


def hmac_only(environ: Mapping[str, str]) -> bool:
    """True in Lambda when ``JWT_ALGORITHMS`` (comma-separated; default ``HS256``) lists HS* only.

    ``Settings.from_env`` matches names case-insensitively, so every spelling of the name counts, and
    all of them must be HMAC-only.
    """
    if not environ.get("LAMBDA_TASK_ROOT"):
        return False
    values = [value for key, value in environ.items() if key.lower() == "jwt_algorithms"] or ["HS256"]
    for value in values:
        configured = {part.strip() for part in value.split(",") if part.strip()}
        if not configured or not configured <= HMAC_ONLY:
            return False
    return True


_hide = hmac_only(os.environ) and "cryptography" not in sys.modules and "jwt" not in sys.modules
if _hide:
    sys.modules["cryptography"] = None  # type: ignore[assignment]
try:
    import jwt
finally:
    if _hide:
        del sys.modules["cryptography"]

from jwt.exceptions import InvalidJTIError, InvalidSubjectError  # noqa: E402  (after the import above)

__all__ = ["HMAC_ONLY", "InvalidJTIError", "InvalidSubjectError", "hmac_only", "jwt"]

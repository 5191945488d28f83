"""One reset for every per-process cache of the layer (tests and benchmarks change the environment).

The layer builds its settings, clients, secrets, publishers and JWKS clients once, on first use, with
``functools.lru_cache``. ``reset_caches`` clears every such cache of every loaded module of the package,
found by looking rather than listed by hand (a new cache cannot be forgotten, and nothing is imported just
to be cleared), and Powertools' parameter cache (the secrets).
"""

from __future__ import annotations

import sys

__all__ = ["reset_caches"]

_PACKAGE = __name__.rpartition(".")[0]


def reset_caches() -> None:
    """Forget every cached value of the layer, so that the next call reads the environment afresh."""
    for name, module in list(sys.modules.items()):
        if name != _PACKAGE and not name.startswith(f"{_PACKAGE}."):
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name:
                clear()
    if "aws_lambda_powertools.utilities.parameters" in sys.modules:
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated

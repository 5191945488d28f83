"""``reset_caches`` forgets every cache of the layer: tests never reach into a module's private cache."""

import importlib
import pkgutil

import toolboxai_realtime
from toolboxai_realtime.caches import reset_caches
from toolboxai_realtime.settings import get_settings


def _layer_caches() -> dict[str, object]:
    found: dict[str, object] = {}
    for info in pkgutil.walk_packages(toolboxai_realtime.__path__, f"{toolboxai_realtime.__name__}."):
        module = importlib.import_module(info.name)
        for attr, value in vars(module).items():
            if hasattr(value, "cache_info") and getattr(value, "__module__", None) == info.name:
                found[f"{info.name}.{attr}"] = value
    return found


def test_every_cache_of_the_layer_is_emptied():
    caches = _layer_caches()
    assert "toolboxai_realtime.settings.get_settings" in caches
    get_settings()
    assert get_settings.cache_info().currsize == 1
    reset_caches()
    full = {name for name, cache in caches.items() if cache.cache_info().currsize}  # type: ignore[attr-defined]
    assert full == set()


def test_settings_are_read_afresh_after_a_reset(monkeypatch):
    before = get_settings()
    monkeypatch.setenv("JWT_ISSUER", "https://issuer.example")
    assert get_settings() is before
    reset_caches()
    assert get_settings().jwt_issuer == "https://issuer.example"

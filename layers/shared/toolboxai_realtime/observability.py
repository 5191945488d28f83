"""The one Logger, Tracer and Metrics of the layer, shared by every function.

Service name and metrics namespace come from ``POWERTOOLS_SERVICE_NAME`` and
``POWERTOOLS_METRICS_NAMESPACE`` (set in template.yaml Globals). ``REALTIME_DEBUG=true`` turns on debug
logging everywhere without code changes.

Tracing costs nothing when it is off (``POWERTOOLS_TRACE_DISABLED=true``, or outside Lambda: Powertools'
own rule): ``tracer`` then hands the decorated functions back unchanged and the X-Ray SDK is never
imported (issue 15: Powertools' ``Tracer()`` imports it, about 150 ms of a cold start, even disabled).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["MetricUnit", "count", "logger", "metrics", "security_event", "tracer"]

# An invocation that counted nothing (a reconcile with no drift, a health check) is normal here;
# Powertools warns about it on every such flush, as a Python warning in the function's log.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def _level() -> str:
    if os.environ.get("REALTIME_DEBUG", "").lower() in {"1", "true", "yes"}:
        return "DEBUG"
    return os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO")


class _EMFProvider(AmazonCloudWatchEMFProvider):
    """Powertools' EMF provider, except that the ColdStart metric honours POWERTOOLS_METRICS_DISABLED.

    Powertools emits ColdStart with ``single_metric``, which prints whatever that variable says: with
    metrics off (``make dev``, the tests) its raw EMF JSON still landed in the terminal.
    """

    def add_cold_start_metric(self, context: LambdaContext) -> None:
        if not is_metrics_disabled():
            super().add_cold_start_metric(context)


_F = TypeVar("_F", bound=Callable[..., Any])


class LazyTracer:
    """Powertools' ``Tracer``, created on first use and only when tracing is on.

    ``capture_lambda_handler`` and ``capture_method`` decide when they decorate (at import): with
    tracing off they return the function itself, so neither the X-Ray SDK nor a wrapper is on the
    request path. With tracing on they are Powertools' own (the ``Tracer`` is built by the first of
    them, still at import, so its patching of botocore precedes every client). Any other attribute is
    the real ``Tracer``'s.
    """

    def __init__(self) -> None:
        self._tracer: Tracer | None = None

    @staticmethod
    def enabled() -> bool:
        """Powertools' rule, read now: off with ``POWERTOOLS_TRACE_DISABLED`` or outside Lambda."""
        return not Tracer._is_tracer_disabled()

    @property
    def real(self) -> Tracer:
        if self._tracer is None:
            self._tracer = Tracer()
        return self._tracer

    def capture_lambda_handler(self, handler: _F) -> _F:
        if not self.enabled():
            return handler
        return cast("_F", self.real.capture_lambda_handler(handler))

    def capture_method(self, method: _F) -> _F:
        if not self.enabled():
            return method
        return self.real.capture_method(method)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


logger = Logger(level=_level())
tracer = LazyTracer()
metrics = Metrics()
# The same shared sets Metrics() gave its own provider (Powertools keeps them at class level).
metrics.provider = _EMFProvider(
    metric_set=metrics.metric_set,
    dimension_set=metrics.dimension_set,
    metadata_set=metrics.metadata_set,
    default_dimensions=metrics.default_dimensions,
)


def security_event(event: str, *, reason: str, level: str = "warning", **fields: Any) -> None:
    """Log one structured security event (a denial, a forged signature) and count it.

    Callers pass identifiers (user, channel, source IP), never tokens, signatures or secrets.
    """
    log = logger.warning if level == "warning" else logger.info
    log("security event", extra={"security_event": event, "reason": reason, **fields})
    count("SecurityEvent", event=event, reason=reason)


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    """Add one metric; with dimensions it is emitted on its own so they do not leak onto other metrics."""
    if not dimensions:
        metrics.add_metric(name=name, unit=unit, value=value)
        return
    if is_metrics_disabled():  # single_metric prints at once and ignores POWERTOOLS_METRICS_DISABLED
        return
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace=metrics.namespace,
        default_dimensions=metrics.default_dimensions,
    ) as metric:
        for key, dim in dimensions.items():
            metric.add_dimension(name=key, value=dim)

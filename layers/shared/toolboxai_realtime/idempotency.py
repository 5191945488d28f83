"""Retries without duplicates: a request carrying an ``Idempotency-Key`` is carried out at most once.

``run_once`` wraps an action in Powertools' idempotency utility, persisted in IdempotencyTable:

* The record is keyed on ``(scope, key, owner)``, so one caller cannot replay (or block) another caller's
  key, and the trigger and batch endpoints keep separate key spaces.
* The first request with a key runs the action and stores its result for ``EXPIRES_AFTER_SECONDS``;
  a retry with the same key and the same payload gets that result back without running it again.
* The same key with a *different* payload is refused (422, ``idempotency_key_reused``); a retry that
  arrives while the first request is still running gets 409 (``idempotency_key_in_progress``) with
  ``Retry-After``. A failed action stores nothing, so a retry after a failure runs again.
* Keys are 1-255 printable ASCII characters without spaces (a UUID is a good key).
* **Event ids outlive failures.** ``event_ids_for`` gives the action the event ids kept under its key
  (``stores.idempotency_records.reserve_event_ids``): minted by the first attempt, read back by every
  retry within the hour, even after a failure (Powertools keeps nothing then). So the retry of a publish
  whose outcome was unknown (504 ``publish_outcome_unknown``) goes out under the same event ids, and
  receivers that got the first attempt drop the second.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from .bodies import compact_json
from .errors import BadRequest, Conflict, UpstreamUnavailable, ValidationFailed
from .event_ids import Reuse, new_event_ids
from .observability import count, logger
from .stores.idempotency_records import fingerprint, persistence_layer, reserve_event_ids

__all__ = [
    "EXPIRES_AFTER_SECONDS",
    "HEADER",
    "KEY_PATTERN",
    "MAX_KEY_LENGTH",
    "Outcome",
    "event_ids_for",
    "run_once",
    "validate_key",
]

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEY_PATTERN = r"^[\x21-\x7e]+$"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")

EXPIRES_AFTER_SECONDS = 3600
"""How long a key is remembered: retries within the hour get the first result."""

IN_PROGRESS_RETRY_AFTER = 1


@dataclass(frozen=True)
class Outcome[ResultT: BaseModel]:
    """The result of ``run_once``, and whether it is a stored result (``replayed``) or a fresh one."""

    result: ResultT
    replayed: bool = False


class _Replay:
    """Marks a result that came from the store (Powertools' response hook wraps it in this)."""

    def __init__(self, result: Any) -> None:
        self.result = result


def _mark_replay(response: Any, idempotent_data: DataRecord) -> _Replay:
    return _Replay(response)


def validate_key(key: str) -> str:
    """``key`` unchanged if it is a usable idempotency key.

    Raises ``BadRequest`` (code ``invalid_idempotency_key``) unless it is 1-255 printable ASCII
    characters without spaces.
    """
    if not _KEY.fullmatch(key):
        raise BadRequest(
            f"The {HEADER} header must be 1-{MAX_KEY_LENGTH} printable ASCII characters without spaces.",
            code="invalid_idempotency_key",
        )
    return key


@lru_cache(maxsize=8)
def _config(scope: str) -> IdempotencyConfig:
    # One config per scope: it carries the current invocation's Lambda context (for the in-progress expiry).
    return IdempotencyConfig(
        event_key_jmespath="[scope, key, owner]",
        payload_validation_jmespath="payload",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
        response_hook=_mark_replay,
    )


@lru_cache(maxsize=8)
def _idempotent(scope: str, model: type[BaseModel]) -> Callable[..., Any]:
    """The idempotent runner of ``scope``: built on first use, with its own persistence layer."""

    def run(*, request: dict[str, Any], action: Callable[[], BaseModel]) -> BaseModel:
        return action()

    runner: Callable[..., Any] = idempotent_function(
        run,
        data_keyword_argument="request",
        persistence_store=persistence_layer(scope),
        config=_config(scope),
        output_serializer=PydanticSerializer(model),
        key_prefix=f"toolboxai-realtime.{scope}",
    )
    return runner


def run_once[ResultT: BaseModel](
    *,
    scope: str,
    key: str,
    owner: str,
    payload: Mapping[str, Any],
    action: Callable[[], ResultT],
    model: type[ResultT],
    lambda_context: LambdaContext | None = None,
) -> Outcome[ResultT]:
    """Run ``action`` at most once per ``(scope, key, owner)``; a repeat returns the stored result.

    ``payload`` (JSON values) is what the key promises: a repeat with a different payload is refused.
    ``lambda_context`` lets an interrupted first attempt expire when its invocation would have timed out.

    Raises ``BadRequest`` (400, ``invalid_idempotency_key``) for a malformed key; ``ValidationFailed``
    (422, ``idempotency_key_reused``) when the key was used with another payload; ``Conflict`` (409,
    ``idempotency_key_in_progress``, ``Retry-After``) while the first request runs;
    ``UpstreamUnavailable`` (503, ``idempotency_store_unavailable``) when IdempotencyTable fails; and
    whatever ``action`` raises (nothing is stored then).
    """
    validate_key(key)
    config = _config(scope)
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)
    request = {"scope": scope, "key": key, "owner": owner, "payload": dict(payload)}
    try:
        out = _idempotent(scope, model)(request=request, action=action)
    except IdempotencyValidationError as exc:
        raise ValidationFailed(
            f"This {HEADER} was already used with a different request; use a new key for a new request.",
            code="idempotency_key_reused",
        ) from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict(
            f"A request with this {HEADER} is still being processed; retry shortly.",
            code="idempotency_key_in_progress",
            headers={"Retry-After": str(IN_PROGRESS_RETRY_AFTER)},
        ) from exc
    except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
        logger.error("idempotency store failed", extra={"scope": scope, "error_type": type(exc).__name__})
        count("IdempotencyStoreFailures", scope=scope)
        raise UpstreamUnavailable(
            "The idempotency store is unavailable; retry shortly.", code="idempotency_store_unavailable"
        ) from exc
    if isinstance(out, _Replay):
        logger.info("idempotent replay", extra={"scope": scope, "owner": owner})
        count("IdempotentReplays", scope=scope)
        return Outcome(result=model.model_validate(out.result), replayed=True)
    return Outcome(result=model.model_validate(out), replayed=False)


def event_ids_for(
    *, scope: str, key: str, owner: str, payload: Mapping[str, Any]
) -> Callable[[int], list[str]]:
    """An id source for ``Publisher`` that reuses the event ids kept under ``(scope, key, owner)``.

    Called with the number of events, it mints that many ids and keeps them under the key unless ids are
    already kept there, and returns the kept ones (then marked ``reused``: an earlier attempt may have
    delivered them). Raises ``ValidationFailed`` (422, ``idempotency_key_reused``) when the kept ids
    belong to another payload, and ``UpstreamUnavailable`` (503, ``idempotency_store_unavailable``).
    """
    return _KeptIds(scope, compact_json([scope, key, owner], ensure_ascii=True), fingerprint(dict(payload)))


class _KeptIds(Reuse):
    def __init__(self, scope: str, name: str, payload_hash: str) -> None:
        super().__init__([], reused=False)
        self.scope, self.name, self.payload_hash = scope, name, payload_hash

    def __call__(self, size: int) -> list[str]:
        fresh = new_event_ids(size)
        kept = reserve_event_ids(
            self.name, self.payload_hash, fresh, expires_after_seconds=EXPIRES_AFTER_SECONDS
        )
        if kept.payload_hash != self.payload_hash or len(kept.event_ids) != size:
            raise ValidationFailed(
                f"This {HEADER} was already used with a different request; use a new key for a new request.",
                code="idempotency_key_reused",
            )
        self.ids = kept.event_ids
        self.reused = kept.event_ids != fresh
        if self.reused:  # a retry after a failure: publish again under the first ids
            logger.info("event ids reused", extra={"scope": self.scope, "event_ids": kept.event_ids})
            count("EventIdsReused", scope=self.scope)
        return list(kept.event_ids)

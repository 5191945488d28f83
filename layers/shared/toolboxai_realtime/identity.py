"""Who is calling: bearer tokens (JWT) in, a typed ``Principal`` out.

The contract (CONTRACT.md, "Bearer tokens") in code:

* ``Authorization: Bearer <jwt>``; ``bearer_token`` takes the header value apart.
* Algorithms are pinned to ``JWT_ALGORITHMS``. HS256/384/512 are verified with the shared secret
  (``secrets.jwt_secret``); RS*/PS*/ES* with the key the JWKS at ``JWT_JWKS_URL`` publishes under the
  token's ``kid``. The token's own header never chooses a key source: ``jku``/``x5u``/``jwk`` headers are
  ignored, ``alg: none`` and algorithms outside the configured list are refused before any key is read,
  and a JWKS key only verifies the algorithm it is bound to. That is what defeats algorithm confusion
  (an HS256 token "signed" with the RSA public key).
* ``exp`` and ``sub`` are required; ``nbf`` and ``iat`` are honoured with ``JWT_LEEWAY_SECONDS`` of
  leeway; ``iss`` and ``aud`` are checked only when ``JWT_ISSUER`` / ``JWT_AUDIENCE`` are set.
* Every failure is an ``Unauthorized`` with its own ``code`` and a fixed message. Library messages and
  the token itself never reach a response.

Nothing happens at import time: the JWKS client is built on first use and cached per URL.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError

from . import deadlines
from .errors import ConfigurationError, Unauthorized, UpstreamUnavailable
from .observability import count, logger
from .pyjwt import InvalidJTIError, InvalidSubjectError, jwt  # no cryptography when HS* only (Lambda)
from .settings import Settings, get_settings

__all__ = [
    "HMAC_ALGORITHMS",
    "JWKS_ALGORITHMS",
    "MAX_TOKEN_LENGTH",
    "TRIGGER_SCOPE",
    "Principal",
    "Role",
    "UserId",
    "authenticate",
    "bearer_token",
]

Role = Literal["student", "teacher", "admin"]

TRIGGER_SCOPE = "realtime:trigger"
"""The scope that lets a (service) token trigger events without the admin role."""

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
"""Verified with the shared secret (``JWT_SECRET`` / ``JWT_SECRET_NAME``)."""

JWKS_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})
"""Verified with a public key from ``JWT_JWKS_URL``."""

MAX_TOKEN_LENGTH = 8192
"""Longer bearer values are refused before any parsing (real tokens are well under 2 KB)."""

_JWKS_TIMEOUT_SECONDS = 3.0  # a Lambda must answer pusher-js quickly; PyJWT's default is 30 s
_JWKS_LIFESPAN_SECONDS = 300.0

# RFC 6750 b64token: what may follow "Bearer ".
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


# --------------------------------------------------------------------------------------------- principal


def _id_string(value: object) -> object:
    # JSON numbers are accepted as ids and used as their decimal string; bool is an int in Python,
    # but `true` is not an id.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _channel_ids(claim: str, param: str) -> Callable[[object], object]:
    """The validator of a list claim whose elements fill ``{param}`` of channel templates.

    The claim must be a list (anything else is ``invalid_claims``), but an element that can name no
    channel of any family (``channels.param_max_length``: Pusher's 164 characters minus the longest-
    allowing family's prefix; the channel alphabet; a string or integer) is dropped and logged, not a
    reason to refuse the whole token: the user's other channels keep working.
    """

    def validate(value: object) -> object:
        from .channels import PARAM_PATTERN, param_max_length  # channels imports this module

        if value is None:
            return frozenset()
        # A bare string must not be taken as a collection of one-character ids.
        if not isinstance(value, list | tuple | set | frozenset):
            raise ValueError("must be a list of ids")
        limit, pattern = param_max_length(param), re.compile(PARAM_PATTERN)
        kept: set[str] = set()
        lengths: list[int] = []  # of the ignored elements (-1: not a string or integer); never values
        for item in value:
            text = _id_string(item)
            if isinstance(text, str) and len(text) <= limit and pattern.fullmatch(text):
                kept.add(text)
            else:
                lengths.append(len(text) if isinstance(text, str) else -1)
        if dropped := len(lengths):
            lengths = sorted(lengths)[:10]
            logger.warning(
                "claim elements ignored",
                extra={"claim": claim, "ignored": dropped, "lengths": lengths, "max_length": limit},
            )
            count("ClaimElementsIgnored", value=dropped, claim=claim)
        return frozenset(kept)

    return validate


def _scope_set(value: object) -> object:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(value)
    raise ValueError("must be a space-separated string")


def _default_role(value: object) -> object:
    return "student" if value is None else value


UserId = Annotated[str, BeforeValidator(_id_string), StringConstraints(min_length=1, max_length=128)]
"""A user id: the token's ``sub`` as a string of 1-128 characters (numbers become decimal strings)."""

_Id = Annotated[str, StringConstraints(min_length=1)]  # already a string of the channel alphabet
_ClassIds = Annotated[frozenset[_Id], BeforeValidator(_channel_ids("class_ids", "class_id"))]
_LessonIds = Annotated[frozenset[_Id], BeforeValidator(_channel_ids("lesson_ids", "lesson_id"))]
_Scopes = Annotated[frozenset[Annotated[str, StringConstraints(min_length=1)]], BeforeValidator(_scope_set)]

# Principal field -> the claim it comes from, to name claims (not fields) in error messages.
_CLAIM_OF_FIELD = {"user_id": "sub", "scopes": "scope"}


def _whole_seconds(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return math.floor(value)
    return value


class Principal(BaseModel):
    """The authenticated caller, built only from verified token claims."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: UserId
    role: Annotated[Role, BeforeValidator(_default_role)] = "student"
    name: str | None = None
    avatar_url: str | None = None
    class_ids: _ClassIds = frozenset()
    lesson_ids: _LessonIds = frozenset()
    scopes: _Scopes = frozenset()
    issued_at: int | None = None
    """The token's ``iat`` in whole seconds (rounded down), ``None`` when the token has none: revocations
    apply to tokens issued at or before them (``toolboxai_realtime.revocations``)."""

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """The principal described by (already verified) JWT ``claims``.

        Raises ``Unauthorized`` (code ``invalid_claims``) naming the claims that have the wrong type or
        value: a missing or empty ``sub``, an unknown ``role``, ``class_ids`` that is not a list, ...
        """
        try:
            return cls.model_validate(
                {
                    "user_id": claims.get("sub"),
                    "role": claims.get("role"),
                    "name": claims.get("name"),
                    "avatar_url": claims.get("avatar_url"),
                    "class_ids": claims.get("class_ids"),
                    "lesson_ids": claims.get("lesson_ids"),
                    "scopes": claims.get("scope"),
                    "issued_at": _whole_seconds(claims.get("iat")),
                }
            )
        except ValidationError as exc:
            fields = {str(err["loc"][0]) for err in exc.errors(include_input=False) if err["loc"]}
            names = ", ".join(sorted(_CLAIM_OF_FIELD.get(f, f) for f in fields)) or "claims"
            raise Unauthorized(f"The token's claims are not valid: {names}.", code="invalid_claims") from exc

    @property
    def is_admin(self) -> bool:
        """True for the ``admin`` role."""
        return self.role == "admin"

    def has_scope(self, scope: str) -> bool:
        """True when the token's ``scope`` claim lists ``scope``."""
        return scope in self.scopes

    @property
    def can_trigger(self) -> bool:
        """Admins, and tokens with the ``realtime:trigger`` scope, may trigger events."""
        return self.is_admin or self.has_scope(TRIGGER_SCOPE)


# ------------------------------------------------------------------------------------------------ header


def bearer_token(headers_value: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value (the scheme is case-insensitive).

    Raises ``Unauthorized`` with code ``missing_token`` when the value is absent or blank, and
    ``malformed_token`` when it is not ``Bearer`` followed by one token.
    """
    if headers_value is None or not headers_value.strip():
        raise Unauthorized(
            "A bearer token is required (Authorization: Bearer <token>).", code="missing_token"
        )
    scheme, _, token = headers_value.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized(
            "The Authorization header must use the Bearer scheme: 'Bearer <token>'.", code="malformed_token"
        )
    token = token.strip()
    if not token:
        raise Unauthorized("The Authorization header has no token after 'Bearer'.", code="missing_token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized(
            f"The bearer token is longer than {MAX_TOKEN_LENGTH} characters.", code="malformed_token"
        )
    if not _TOKEN68.fullmatch(token):
        raise Unauthorized(
            "The bearer token contains characters a token cannot contain.", code="malformed_token"
        )
    return token


# --------------------------------------------------------------------------------------------- verifying


class _InvalidClaim(jwt.InvalidTokenError):
    """A registered claim of the wrong type; ``message`` is ours and safe to return."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Decoder(jwt.PyJWT):
    """PyJWT with our claim-type checks between signature verification and claim validation.

    PyJWT reports a non-numeric ``exp`` with the same ``DecodeError`` as a token that is not JWT at all,
    and refuses a numeric ``sub``. ``_decode_payload`` is PyJWT's documented extension point and runs
    right after the signature is verified, so the checks here only ever see authentic claims.
    """

    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        payload = super()._decode_payload(decoded)
        for claim in ("exp", "nbf", "iat"):
            value = payload.get(claim)
            if value is not None and not _is_numeric_date(value):
                raise _InvalidClaim(f"The {claim} claim must be a number of seconds since the epoch.")
        sub = payload.get("sub")
        if isinstance(sub, int) and not isinstance(sub, bool):
            payload["sub"] = str(sub)
        elif sub is not None and not isinstance(sub, str):
            raise _InvalidClaim("The sub claim must be a string or an integer.")
        return payload


def _is_numeric_date(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_DECODER = _Decoder()

# Library exception -> (code, message), first match wins (subclasses before their bases).
_FAILURES: tuple[tuple[type[jwt.PyJWTError], str, str], ...] = (
    (jwt.ExpiredSignatureError, "token_expired", "The token has expired."),
    (
        jwt.ImmatureSignatureError,
        "token_not_yet_valid",
        "The token is not valid yet (its nbf or iat is in the future).",
    ),
    (jwt.InvalidIssuerError, "invalid_issuer", "The token was not issued by the expected issuer."),
    (jwt.InvalidAudienceError, "invalid_audience", "The token is not meant for this service (aud)."),
    (jwt.InvalidSignatureError, "invalid_signature", "The token signature is not valid."),
    (jwt.InvalidAlgorithmError, "unsupported_algorithm", "The token's signing algorithm is not accepted."),
    (jwt.InvalidIssuedAtError, "invalid_claims", "The iat claim must be a number of seconds since epoch."),
    (InvalidSubjectError, "invalid_claims", "The sub claim must be a string or an integer."),
    (InvalidJTIError, "invalid_claims", "The jti claim must be a string."),
    (jwt.InvalidTokenError, "malformed_token", "The bearer token is not a well-formed JWT."),
)


def authenticate(token: str, settings: Settings | None = None) -> Principal:
    """Verify ``token`` and return the ``Principal`` its claims describe.

    Raises ``Unauthorized`` with one of these codes: ``missing_token`` (empty), ``malformed_token``
    (not a JWT, or a JWKS-verified token without ``kid``), ``unsupported_algorithm`` (``alg: none`` or
    an algorithm outside ``JWT_ALGORITHMS`` or without configured key material), ``invalid_signature``
    (wrong key, unknown ``kid``, an algorithm that does not match its JWKS key), ``token_expired``,
    ``token_not_yet_valid`` (``nbf``/``iat`` in the future), ``invalid_issuer``, ``invalid_audience``
    ``invalid_claims`` (``exp``/``sub`` missing, wrong claim types, unknown role, ...) and
    ``token_lifetime_too_long`` (``exp`` more than ``MAX_TOKEN_LIFETIME_SECONDS`` after ``iat``).

    Raises ``ConfigurationError`` when ``JWT_ALGORITHMS`` names an unsupported algorithm, when no key
    material is configured for any accepted algorithm, or when the secret or JWKS URL is unusable; and
    ``UpstreamUnavailable`` when the JWKS cannot be fetched (503) or holds no usable keys (502).
    """
    s = settings or get_settings()
    if not token:
        raise Unauthorized("A bearer token is required.", code="missing_token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized(
            f"The bearer token is longer than {MAX_TOKEN_LENGTH} characters.", code="malformed_token"
        )
    keys = _key_material(s)
    key: str | jwt.PyJWK
    if keys.jwks_url is None and keys.secret:
        # Only the shared secret can verify (HS* alone): the token's header has no key to choose, so
        # PyJWT reads it once, while decoding, and refuses an ``alg`` outside the accepted ones there
        # (``alg: none`` included). Reading it beforehand too parsed every token twice (issue 15).
        key, algorithms = keys.secret, sorted(keys.accepted)
    else:
        header = _unverified_header(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in keys.accepted:
            raise _unsupported_algorithm(alg)
        if alg in HMAC_ALGORITHMS and keys.secret:
            key = keys.secret
        elif alg in JWKS_ALGORITHMS and keys.jwks_url:
            key = _jwks_key(header, alg, keys.jwks_url)
        else:  # unreachable: _key_material accepts an algorithm only together with its key material
            raise _unsupported_algorithm(alg)
        algorithms = [alg]

    try:
        claims = _DECODER.decode(
            token,
            key,
            algorithms=algorithms,
            options={"require": ["exp", "sub"], "verify_aud": s.jwt_audience is not None},
            audience=s.jwt_audience,
            issuer=s.jwt_issuer,
            leeway=s.jwt_leeway_seconds,
        )
    except jwt.InvalidAlgorithmError as exc:
        # The same answer as a refusal before decoding (the header is read again only on this path).
        raise _unsupported_algorithm(_unverified_header(token).get("alg")) from exc
    except jwt.InvalidKeyError as exc:
        raise ConfigurationError(
            "The token verification key configured on the server is not usable.", code="jwt_not_configured"
        ) from exc
    except jwt.PyJWTError as exc:
        raise _unauthorized(exc) from exc
    _check_lifetime(claims, s)
    return Principal.from_claims(claims)


def _check_lifetime(claims: Mapping[str, Any], s: Settings) -> None:
    """Refuse a token that lives longer than ``MAX_TOKEN_LIFETIME_SECONDS``, when that is set (from
    ``iat``, or from now when it has none): a revocation is kept that long, so a longer-lived token
    would outlive it."""
    if s.max_token_lifetime_seconds is None:
        return
    issued = claims.get("iat")
    start = issued if isinstance(issued, int | float) else time.time()
    if claims["exp"] - start > s.max_token_lifetime_seconds + s.jwt_leeway_seconds:
        raise Unauthorized(
            f"The token lives longer than {s.max_token_lifetime_seconds} s; issue shorter-lived tokens.",
            code="token_lifetime_too_long",
        )


class _KeyMaterial(NamedTuple):
    accepted: frozenset[str]  # configured algorithms that have key material
    secret: str | None  # for HS*
    jwks_url: str | None  # for RS*, PS*, ES*


def _key_material(s: Settings) -> _KeyMaterial:
    """The configured algorithms that can actually be verified, with their keys (or key source)."""
    configured = frozenset(s.jwt_algorithms)
    if not configured or configured - (HMAC_ALGORITHMS | JWKS_ALGORITHMS):
        raise ConfigurationError(
            "JWT_ALGORITHMS must list algorithms from "
            f"{', '.join(sorted(HMAC_ALGORITHMS | JWKS_ALGORITHMS))}.",
            code="jwt_not_configured",
        )
    from .secrets import jwt_secret  # not at import: it loads boto3, which the pure modules never need

    secret = jwt_secret(s) if configured & HMAC_ALGORITHMS else None
    jwks_url = s.jwt_jwks_url if configured & JWKS_ALGORITHMS else None
    accepted = (configured & HMAC_ALGORITHMS if secret else frozenset()) | (
        configured & JWKS_ALGORITHMS if jwks_url else frozenset()
    )
    if not accepted:
        raise ConfigurationError(
            "No key is configured for the accepted token algorithms: set JWT_SECRET (HS*) "
            "or JWT_JWKS_URL (RS*, PS*, ES*).",
            code="jwt_not_configured",
        )
    return _KeyMaterial(accepted, secret or None, jwks_url)


def _unverified_header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized("The bearer token is not a well-formed JWT.", code="malformed_token") from exc


def _unsupported_algorithm(alg: object) -> Unauthorized:
    if isinstance(alg, str) and alg.lower() == "none":
        return Unauthorized("Unsigned tokens (alg: none) are not accepted.", code="unsupported_algorithm")
    # The algorithm name comes from the caller: it stays out of the message.
    return Unauthorized(
        "The token's signing algorithm is not accepted by this server.", code="unsupported_algorithm"
    )


def _unauthorized(exc: jwt.PyJWTError) -> Unauthorized:
    if isinstance(exc, _InvalidClaim):
        return Unauthorized(exc.message, code="invalid_claims")
    if isinstance(exc, jwt.MissingRequiredClaimError):
        # exc.claim is one of the names we asked PyJWT to require (exp, sub, iss, aud), never input.
        code = {"iss": "invalid_issuer", "aud": "invalid_audience"}.get(exc.claim, "invalid_claims")
        return Unauthorized(f"The token has no {exc.claim} claim.", code=code)
    for kind, code, message in _FAILURES:
        if isinstance(exc, kind):
            return Unauthorized(message, code=code)
    return Unauthorized("The bearer token is not valid.", code="malformed_token")


@lru_cache(maxsize=8)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    """One client per JWKS URL, built on first use; it caches the key set for five minutes."""
    try:
        return jwt.PyJWKClient(url, lifespan=_JWKS_LIFESPAN_SECONDS, timeout=_JWKS_TIMEOUT_SECONDS)
    except jwt.PyJWKClientError as exc:
        raise ConfigurationError("JWT_JWKS_URL must be an http(s) URL.", code="jwt_not_configured") from exc


def _jwks_key(header: Mapping[str, Any], alg: str, url: str) -> jwt.PyJWK:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthorized("The token does not name its signing key (kid header).", code="malformed_token")
    client = _jwks_client(url)
    # A fetch (at most every five minutes) fits the invocation's time budget (toolboxai_realtime.deadlines).
    client.timeout = deadlines.call_timeout(_JWKS_TIMEOUT_SECONDS)
    # Load the key set first so that an unreachable or broken JWKS (our problem) is told apart from a
    # kid that is not in it (the caller's problem).
    try:
        client.get_signing_keys()
    except (jwt.PyJWKClientConnectionError, OSError) as exc:
        raise UpstreamUnavailable(
            "The token signing keys (JWKS) could not be fetched.", code="jwks_unavailable"
        ) from exc
    except (jwt.PyJWKClientError, jwt.PyJWKSetError, jwt.PyJWKError, ValueError) as exc:
        raise UpstreamUnavailable(
            "The JWKS endpoint returned no usable signing keys.", code="jwks_invalid", status=502
        ) from exc
    try:
        key = client.get_signing_key(kid)
    except (jwt.PyJWKClientConnectionError, OSError) as exc:
        raise UpstreamUnavailable(
            "The token signing keys (JWKS) could not be fetched.", code="jwks_unavailable"
        ) from exc
    except (jwt.PyJWKClientError, jwt.PyJWKSetError, jwt.PyJWKError, ValueError) as exc:
        raise Unauthorized(
            "The token was signed by a key this server does not know.", code="invalid_signature"
        ) from exc
    if key.algorithm_name != alg:
        raise Unauthorized("The token's algorithm does not match its signing key.", code="invalid_signature")
    return key

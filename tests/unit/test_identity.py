"""Bearer tokens: parsing the header, verifying JWTs (HS256 and JWKS), mapping failures to 401 codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from local_stack.token import mint_dev_token
from toolboxai_realtime import identity
from toolboxai_realtime.caches import reset_caches
from toolboxai_realtime.errors import ConfigurationError, Unauthorized, UpstreamUnavailable
from toolboxai_realtime.identity import Principal, authenticate, bearer_token

SECRET = "unit-test-secret-that-is-long-enough-for-hs256!!"
OTHER_SECRET = "another-secret-that-is-also-long-enough-for-hs256"
JWKS_URL = "https://idp.example.test/.well-known/jwks.json"
JWT_ENV = (
    "JWT_SECRET",
    "JWT_SECRET_NAME",
    "JWT_ALGORITHMS",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "JWT_JWKS_URL",
    "JWT_LEEWAY_SECONDS",
)


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def configure(monkeypatch):
    """Start every test from HS256 with SECRET; ``configure(NAME=value or None)`` changes the env."""

    def apply(**env: str | None) -> None:
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        reset_caches()

    for name in JWT_ENV:
        monkeypatch.delenv(name, raising=False)
    apply(JWT_SECRET=SECRET, JWT_ALGORITHMS="HS256")
    yield apply
    reset_caches()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def jwks(monkeypatch, rsa_key, ec_key):
    """Serve a JWKS with an RSA key (kid "rsa-1") and an EC key (kid "ec-1") instead of the network."""
    rsa_jwk = {**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "rsa-1", "use": "sig"}
    ec_jwk = {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "ec-1", "use": "sig"}
    calls: list[str] = []

    def fetch_data(self: jwt.PyJWKClient) -> dict[str, Any]:
        calls.append(self.uri)
        return {"keys": [rsa_jwk, ec_jwk]}

    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", fetch_data)
    return calls


# -------------------------------------------------------------------------------------------- helpers


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": "user_12345", "iat": now, "exp": now + 600}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def hs256(payload: dict[str, Any], key: str = SECRET, headers: dict[str, Any] | None = None) -> str:
    return jwt.encode(payload, key, algorithm="HS256", headers=headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def by_hand(header: dict[str, Any], payload: dict[str, Any], hmac_key: bytes | None = None) -> str:
    """A token assembled without PyJWT, so that it can carry what PyJWT refuses to produce."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = b""
    if hmac_key is not None:
        signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def rejected(token: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        authenticate(token)
    error = caught.value
    assert error.status == 401
    assert token not in error.message
    assert error.headers["WWW-Authenticate"].startswith("Bearer ")
    return error


# -------------------------------------------------------------------------------------- bearer header


def test_bearer_token_returns_the_token_after_the_bearer_scheme():
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"


@pytest.mark.parametrize("value", ["bearer abc.def.ghi", "BEARER abc.def.ghi", "  Bearer   abc.def.ghi  "])
def test_bearer_token_accepts_any_case_of_the_scheme_and_surrounding_spaces(value):
    assert bearer_token(value) == "abc.def.ghi"


@pytest.mark.parametrize("value", [None, "", "   ", "Bearer", "Bearer    "])
def test_bearer_token_without_a_token_is_missing_token(value):
    with pytest.raises(Unauthorized) as caught:
        bearer_token(value)
    assert caught.value.code == "missing_token"
    assert 'error="invalid_request"' in caught.value.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "value",
    [
        "abc.def.ghi",
        "Basic dXNlcjpwYXNz",
        "Token abc.def.ghi",
        "Bearer abc def",
        "Bearer abc\tdef",
        "Bearer <script>",
        "Bearer " + "a" * (identity.MAX_TOKEN_LENGTH + 1),
    ],
)
def test_bearer_token_that_is_not_bearer_and_one_token_is_malformed(value):
    with pytest.raises(Unauthorized) as caught:
        bearer_token(value)
    assert caught.value.code == "malformed_token"


# ------------------------------------------------------------------------------------------- HS256


def test_valid_hs256_token_gives_the_principal_its_claims_describe():
    issued = claims(
        sub="user_12345",
        role="teacher",
        name="Ms. Frizzle",
        avatar_url="https://cdn.example.test/a.png",
        class_ids=["class_1", "class_2"],
        lesson_ids=["lesson_9"],
        scope="realtime:trigger profile",
    )
    token = hs256(issued)

    principal = authenticate(token)

    assert principal == Principal(
        user_id="user_12345",
        role="teacher",
        name="Ms. Frizzle",
        avatar_url="https://cdn.example.test/a.png",
        class_ids=frozenset({"class_1", "class_2"}),
        lesson_ids=frozenset({"lesson_9"}),
        scopes=frozenset({"realtime:trigger", "profile"}),
        issued_at=issued["iat"],
    )


def test_numeric_sub_and_ids_become_their_decimal_strings():
    principal = authenticate(hs256(claims(sub=12345, class_ids=[7, "8"], lesson_ids=[42])))

    assert principal.user_id == "12345"
    assert principal.class_ids == frozenset({"7", "8"})
    assert principal.lesson_ids == frozenset({"42"})


def test_token_without_role_is_a_student_with_no_classes_lessons_or_scopes():
    principal = authenticate(hs256(claims()))

    assert principal.role == "student"
    assert principal.class_ids == principal.lesson_ids == principal.scopes == frozenset()
    assert principal.name is None


def test_expired_token_is_token_expired_and_chains_the_library_error():
    error = rejected(hs256(claims(exp=int(time.time()) - 120)))

    assert error.code == "token_expired"
    assert isinstance(error.__cause__, jwt.ExpiredSignatureError)


def test_token_expired_within_the_leeway_is_still_accepted(configure):
    configure(JWT_LEEWAY_SECONDS="30")

    assert authenticate(hs256(claims(exp=int(time.time()) - 5))).user_id == "user_12345"


def test_token_whose_nbf_is_in_the_future_is_not_yet_valid():
    assert rejected(hs256(claims(nbf=int(time.time()) + 600))).code == "token_not_yet_valid"


def test_token_whose_iat_is_in_the_future_is_not_yet_valid():
    assert rejected(hs256(claims(iat=int(time.time()) + 600))).code == "token_not_yet_valid"


def test_token_whose_nbf_has_passed_is_accepted():
    assert authenticate(hs256(claims(nbf=int(time.time()) - 10))).user_id == "user_12345"


def test_token_signed_with_another_key_is_invalid_signature():
    error = rejected(hs256(claims(), key=OTHER_SECRET))

    assert error.code == "invalid_signature"
    assert isinstance(error.__cause__, jwt.InvalidSignatureError)


def test_token_whose_payload_was_changed_after_signing_is_invalid_signature():
    header, _, signature = hs256(claims(role="student")).split(".")
    forged_payload = b64url(json.dumps(claims(role="admin")).encode())

    assert rejected(f"{header}.{forged_payload}.{signature}").code == "invalid_signature"


# ------------------------------------------------------------------------------- algorithm pinning


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_unsigned_alg_none_token_is_refused_as_unsupported_algorithm(alg):
    token = by_hand({"alg": alg, "typ": "JWT"}, claims(role="admin"))

    error = rejected(token)

    assert error.code == "unsupported_algorithm"
    assert "none" in error.message


def test_token_without_alg_header_is_unsupported_algorithm():
    assert rejected(by_hand({"typ": "JWT"}, claims(), SECRET.encode())).code == "unsupported_algorithm"


def test_hs256_token_signed_with_the_rsa_public_key_is_refused_when_only_rs256_is_configured(
    configure, rsa_key, jwks
):
    configure(JWT_ALGORITHMS="RS256", JWT_SECRET=None, JWT_JWKS_URL=JWKS_URL)
    token = by_hand({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims(role="admin"), public_pem(rsa_key))

    assert rejected(token).code == "unsupported_algorithm"
    assert jwks == []  # refused before any key was looked up


def test_hs256_token_signed_with_the_rsa_public_key_fails_the_signature_when_both_are_configured(
    configure, rsa_key, jwks
):
    configure(JWT_ALGORITHMS="HS256,RS256", JWT_JWKS_URL=JWKS_URL)
    token = by_hand({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims(role="admin"), public_pem(rsa_key))

    assert rejected(token).code == "invalid_signature"


def test_rs256_token_is_refused_when_only_hs256_is_configured(rsa_key):
    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})

    assert rejected(token).code == "unsupported_algorithm"


def test_hs512_token_is_refused_when_only_hs256_is_configured():
    token = jwt.encode(claims(), SECRET + SECRET, algorithm="HS512")

    assert rejected(token).code == "unsupported_algorithm"


@pytest.fixture
def token_reads(monkeypatch) -> list[str]:
    """Every time PyJWT takes a token apart (``PyJWS._load``: base64 and JSON of its header and payload)."""
    reads: list[str] = []
    load = jwt.api_jws.PyJWS._load

    def counting(self: jwt.api_jws.PyJWS, token: str | bytes) -> Any:
        reads.append("read")
        return load(self, token)

    monkeypatch.setattr(jwt.api_jws.PyJWS, "_load", counting)
    return reads


def test_an_hs256_token_is_taken_apart_once_per_authentication(token_reads):
    authenticate(hs256(claims()))

    assert len(token_reads) == 1


def test_a_refused_algorithm_keeps_its_answer_when_the_token_is_read_only_while_decoding(token_reads):
    error = rejected(by_hand({"alg": "none", "typ": "JWT"}, claims(role="admin")))

    assert (error.code, error.message) == (
        "unsupported_algorithm",
        "Unsigned tokens (alg: none) are not accepted.",
    )
    assert len(token_reads) == 2  # the header read again on the refusal's path only


# -------------------------------------------------------------------------------------------- JWKS


def test_valid_rs256_token_is_verified_with_the_jwks_key_named_by_its_kid(configure, rsa_key, jwks):
    configure(JWT_ALGORITHMS="RS256", JWT_SECRET=None, JWT_JWKS_URL=JWKS_URL)
    token = jwt.encode(
        claims(sub="svc", scope="realtime:trigger"), rsa_key, "RS256", headers={"kid": "rsa-1"}
    )

    principal = authenticate(token)

    assert principal.user_id == "svc"
    assert principal.can_trigger
    assert jwks == [JWKS_URL]


def test_valid_es256_token_is_verified_with_the_jwks_key_named_by_its_kid(configure, ec_key, jwks):
    configure(JWT_ALGORITHMS="ES256", JWT_SECRET=None, JWT_JWKS_URL=JWKS_URL)
    token = jwt.encode(claims(sub="svc"), ec_key, algorithm="ES256", headers={"kid": "ec-1"})

    assert authenticate(token).user_id == "svc"


def test_jwks_is_fetched_once_for_many_tokens(configure, rsa_key, jwks):
    configure(JWT_ALGORITHMS="RS256", JWT_SECRET=None, JWT_JWKS_URL=JWKS_URL)
    for sub in ("a", "b", "c"):
        authenticate(jwt.encode(claims(sub=sub), rsa_key, "RS256", headers={"kid": "rsa-1"}))

    assert jwks == [JWKS_URL]


def test_rs256_token_signed_by_an_unknown_key_is_invalid_signature(configure, jwks):
    configure(JWT_ALGORITHMS="RS256", JWT_SECRET=None, JWT_JWKS_URL=JWKS_URL)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    wrong_kid = jwt.encode(claims(), stranger, algorithm="RS256", headers={"kid": "stranger"})
    right_kid = jwt.encode(claims(), stranger, algorithm="RS256", headers={"kid": "rsa-1"})

    assert rejected(wrong_kid).code == "invalid_signature"
    assert rejected(right_kid).code == "invalid_signature"


def test_rs256_token_without_kid_is_malformed_when_keys_come_from_jwks(configure, rsa_key, jwks):
    configure(JWT_ALGORITHMS="RS256", JWT_SECRET=None, JWT_JWKS_URL=JWKS_URL)

    assert rejected(jwt.encode(claims(), rsa_key, algorithm="RS256")).code == "malformed_token"


def test_token_whose_alg_does_not_match_the_jwks_key_type_is_invalid_signature(configure, rsa_key, jwks):
    configure(JWT_ALGORITHMS="RS256,ES256", JWT_SECRET=None, JWT_JWKS_URL=JWKS_URL)
    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "ec-1"})

    assert rejected(token).code == "invalid_signature"


def test_unreachable_jwks_is_upstream_unavailable_not_a_401(configure, rsa_key, monkeypatch):
    configure(JWT_ALGORITHMS="RS256", JWT_SECRET=None, JWT_JWKS_URL=JWKS_URL)

    def down(self: jwt.PyJWKClient) -> dict[str, Any]:
        raise jwt.PyJWKClientConnectionError("connection refused")

    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", down)
    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})

    with pytest.raises(UpstreamUnavailable) as caught:
        authenticate(token)
    assert caught.value.code == "jwks_unavailable"
    assert caught.value.http_status == 503


def test_hs256_tokens_never_build_a_jwks_client(configure, monkeypatch):
    configure(JWT_ALGORITHMS="HS256,RS256", JWT_JWKS_URL=JWKS_URL)

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the JWKS client must not be built for an HS256 token")

    monkeypatch.setattr(jwt.PyJWKClient, "__init__", forbidden)

    assert authenticate(hs256(claims())).user_id == "user_12345"


# ------------------------------------------------------------------------------------- issuer, audience


def test_issuer_and_audience_are_accepted_when_they_match(configure):
    configure(JWT_ISSUER="https://toolboxai.example", JWT_AUDIENCE="realtime")

    token = hs256(claims(iss="https://toolboxai.example", aud=["other", "realtime"]))

    assert authenticate(token).user_id == "user_12345"


@pytest.mark.parametrize("iss", ["https://evil.example", None])
def test_wrong_or_missing_issuer_is_invalid_issuer_when_an_issuer_is_configured(configure, iss):
    configure(JWT_ISSUER="https://toolboxai.example")

    assert rejected(hs256(claims(iss=iss))).code == "invalid_issuer"


@pytest.mark.parametrize("aud", ["someone-else", ["a", "b"], None])
def test_wrong_or_missing_audience_is_invalid_audience_when_an_audience_is_configured(configure, aud):
    configure(JWT_AUDIENCE="realtime")

    assert rejected(hs256(claims(aud=aud))).code == "invalid_audience"


def test_issuer_and_audience_are_not_checked_when_not_configured():
    token = hs256(claims(iss="https://anyone.example", aud="anything"))

    assert authenticate(token).user_id == "user_12345"


# ------------------------------------------------------------------------------------------- claims


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"sub": None}, "sub"),
        ({"exp": None}, "exp"),
        ({"sub": ""}, "sub"),
        ({"sub": True}, "sub"),
        ({"sub": 1.5}, "sub"),
        ({"sub": ["x"]}, "sub"),
        ({"sub": "u" * 129}, "sub"),
        ({"exp": "9999999999"}, "exp"),
        ({"exp": True}, "exp"),
        ({"nbf": "soon"}, "nbf"),
        ({"iat": [1]}, "iat"),
        ({"role": "superuser"}, "role"),
        ({"role": 1}, "role"),
        ({"class_ids": "class_1"}, "class_ids"),
        ({"lesson_ids": {"a": 1}}, "lesson_ids"),
        ({"scope": 7}, "scope"),
        ({"name": 7}, "name"),
    ],
)
def test_missing_or_mistyped_claims_are_invalid_claims_naming_the_claim(overrides, named):
    error = rejected(hs256(claims(**overrides)))

    assert error.code == "invalid_claims"
    assert named in error.message


@pytest.mark.parametrize(
    ("overrides", "kept"),
    [
        # The quoted case: private-class- plus 150 characters is a legal 164-character channel name.
        ({"class_ids": ["c" * 150, "7"]}, {"class_ids": {"c" * 150, "7"}}),
        ({"class_ids": ["c" * 151, "7"]}, {"class_ids": {"7"}}),  # can name no class channel
        ({"lesson_ids": ["l" * 148]}, {"lesson_ids": {"l" * 148}}),  # presence-lesson- + 148 = 164
        ({"lesson_ids": ["l" * 149, "l1"]}, {"lesson_ids": {"l1"}}),
        ({"class_ids": [True, None, 1.5, {"a": 1}, ["x"], "", "a b", "é", "8"]}, {"class_ids": {"8"}}),
        ({"lesson_ids": [""]}, {"lesson_ids": set()}),
    ],
)
def test_claim_elements_that_can_name_no_channel_are_ignored_not_refused(overrides, kept):
    principal = authenticate(hs256(claims(**overrides)))
    for claim, ids in kept.items():
        assert getattr(principal, claim) == frozenset(ids)


def test_ignored_claim_elements_are_logged_with_lengths_not_values(caplog):
    with caplog.at_level("WARNING"):
        authenticate(hs256(claims(class_ids=["c" * 151, "7"])))
    records = [r for r in caplog.records if r.getMessage() == "claim elements ignored"]
    assert len(records) == 1
    assert (records[0].claim, records[0].ignored, records[0].lengths) == ("class_ids", 1, [151])


def test_sub_of_128_characters_is_accepted():
    assert authenticate(hs256(claims(sub="u" * 128))).user_id == "u" * 128


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b",
        "a.b.c",
        "eyJhbGciOiJIUzI1NiJ9.!!!.abc",
        by_hand({"alg": "HS256"}, {}, SECRET.encode()).replace(".", ".xx", 1),  # 5-char payload segment
        "W10.e30.",  # header is a JSON array
    ],
)
def test_token_that_is_not_a_jwt_is_malformed(token):
    assert rejected(token).code == "malformed_token"


def test_signed_payload_that_is_not_json_is_malformed():
    signing_input = f"{b64url(json.dumps({'alg': 'HS256'}).encode())}.{b64url(b'not json')}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()

    assert rejected(f"{signing_input}.{b64url(signature)}").code == "malformed_token"


def test_empty_token_is_missing_token():
    with pytest.raises(Unauthorized) as caught:
        authenticate("")
    assert caught.value.code == "missing_token"


def test_error_messages_never_echo_the_token_or_library_text():
    token = hs256(claims(exp=int(time.time()) - 3600))

    error = rejected(token)

    assert error.message == "The token has expired."
    assert str(error.__cause__) not in error.message


# ----------------------------------------------------------------------------------- configuration


def test_hs256_without_a_secret_is_a_configuration_error(configure):
    configure(JWT_SECRET=None)

    with pytest.raises(ConfigurationError) as caught:
        authenticate(hs256(claims()))
    assert caught.value.status == 503


def test_rs256_without_a_jwks_url_is_a_configuration_error(configure, rsa_key):
    configure(JWT_ALGORITHMS="RS256", JWT_SECRET=None)

    with pytest.raises(ConfigurationError):
        authenticate(jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"}))


@pytest.mark.parametrize("algorithms", ["none", "HS256,none", "hs256"])
def test_unsupported_configured_algorithm_is_a_configuration_error(configure, algorithms):
    configure(JWT_ALGORITHMS=algorithms)

    with pytest.raises(ConfigurationError):
        authenticate(hs256(claims()))


def test_configured_algorithm_without_key_material_is_unsupported_when_another_has_keys(configure, rsa_key):
    configure(JWT_ALGORITHMS="HS256,RS256")  # a secret, but no JWKS URL

    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})

    assert rejected(token).code == "unsupported_algorithm"


# ------------------------------------------------------------------------------------------ principal


@pytest.mark.parametrize(
    ("role", "scope", "can_trigger"),
    [
        ("admin", None, True),
        ("student", "realtime:trigger", True),
        ("teacher", "realtime:read realtime:trigger", True),
        ("teacher", None, False),
        ("student", "realtime:triggers", False),
    ],
)
def test_only_admins_and_the_trigger_scope_can_trigger(role, scope, can_trigger):
    principal = authenticate(hs256(claims(role=role, scope=scope)))

    assert principal.can_trigger is can_trigger
    assert principal.is_admin is (role == "admin")


def test_principal_has_scope_matches_whole_scopes_only():
    principal = Principal(user_id="1", scopes=frozenset({"realtime:trigger"}))

    assert principal.has_scope("realtime:trigger")
    assert not principal.has_scope("realtime")


def test_principal_is_immutable():
    principal = Principal(user_id="1")

    with pytest.raises(ValueError, match="frozen"):
        principal.role = "admin"  # type: ignore[misc]


# ----------------------------------------------------------------------------------------- dev tokens


def test_dev_token_round_trips_through_authenticate():
    token = mint_dev_token(
        42, role="teacher", name="T", class_ids=[7], lesson_ids=["l1"], scopes=["realtime:trigger"]
    )

    principal = authenticate(token)
    assert principal == Principal(
        user_id="42",
        role="teacher",
        name="T",
        class_ids=frozenset({"7"}),
        lesson_ids=frozenset({"l1"}),
        scopes=frozenset({"realtime:trigger"}),
        issued_at=principal.issued_at,
    )
    assert principal.issued_at is not None
    assert abs(principal.issued_at - time.time()) < 5


def test_dev_token_carries_the_configured_issuer_and_audience(configure):
    configure(JWT_ISSUER="https://toolboxai.example", JWT_AUDIENCE="realtime")

    assert authenticate(mint_dev_token("u1")).user_id == "u1"


def test_dev_token_with_negative_ttl_is_expired():
    assert rejected(mint_dev_token("u1", ttl_seconds=-120)).code == "token_expired"


def test_dev_token_extra_claims_are_added_and_override():
    token = mint_dev_token("u1", avatar_url="https://a.example/x.png", nbf=int(time.time()) + 600)

    assert rejected(token).code == "token_not_yet_valid"
    assert jwt.decode(token, options={"verify_signature": False})["avatar_url"] == "https://a.example/x.png"


def test_dev_token_with_an_explicit_secret_is_signed_with_it():
    token = mint_dev_token("u1", secret=OTHER_SECRET)

    assert rejected(token).code == "invalid_signature"


def test_dev_token_without_any_secret_is_a_configuration_error(configure):
    configure(JWT_SECRET=None)

    with pytest.raises(ConfigurationError):
        mint_dev_token("u1")


def test_iat_is_kept_in_whole_seconds_and_missing_iat_is_none():
    issued = int(time.time()) - 100
    assert authenticate(hs256(claims(iat=issued + 0.9))).issued_at == issued
    assert authenticate(hs256(claims(iat=None))).issued_at is None


def test_a_token_living_longer_than_the_configured_bound_is_refused(configure):
    configure(MAX_TOKEN_LIFETIME_SECONDS="3600")
    now = int(time.time())
    assert authenticate(hs256(claims(iat=now, exp=now + 3600))).user_id == "user_12345"
    for too_long in (claims(iat=now, exp=now + 3600 + 31), claims(iat=None, exp=now + 7200)):
        with pytest.raises(Unauthorized) as caught:
            authenticate(hs256(too_long))
        assert caught.value.code == "token_lifetime_too_long"


def test_without_a_bound_long_lived_tokens_are_accepted():
    now = int(time.time())
    assert authenticate(hs256(claims(iat=now, exp=now + 10 * 365 * 86400))).user_id == "user_12345"

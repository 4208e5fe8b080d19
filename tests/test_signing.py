"""Signatures: the vectors of the protocol notes (section 3.3) and the REST/WS rules."""

from __future__ import annotations

import json
import random
import string
from decimal import Decimal

import pytest

from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.signing import (
    NONCE_ALPHABET,
    compact_json,
    new_nonce,
    now_ms,
    now_seconds,
    query_values,
    rest_headers,
    rest_query_string,
    rest_sign,
    sha256_hex,
    verify_rest,
    verify_ws_login,
    verify_ws_login_args,
    ws_login_args,
    ws_login_sign,
)

# ------------------------------------------------------------------ vectors (section 3.3)


@pytest.mark.parametrize(
    ("text", "digest"),
    [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("hello world", "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"),
        (
            "nonce123456timestamp123apiKey123params123body123",
            "da89a660059394f78b8729241ceec3955950be0d28140f0e7d5a8ec17da30b2b",
        ),
    ],
)
def test_sha256_hex_vectors(text: str, digest: str) -> None:
    assert sha256_hex(text) == digest


def test_official_rest_vector() -> None:
    sign = rest_sign(
        api_key="11111111111111111",
        secret_key="22222222222222222",
        nonce="33333333333333333",
        timestamp="1747104711262",
        query_params="marginCoinUSDT",
        body="",
    )
    assert sign == "40e87256554e263e39201a3979469b7fbb640d1c7c41759abf5c6a18f937f922"


def test_official_rest_vector_through_headers() -> None:
    headers = rest_headers(
        Credentials("11111111111111111", "22222222222222222"),
        nonce="33333333333333333",
        timestamp_ms=1747104711262,
        params={"marginCoin": "USDT"},
    )
    assert headers == {
        "api-key": "11111111111111111",
        "nonce": "33333333333333333",
        "timestamp": "1747104711262",
        "sign": "40e87256554e263e39201a3979469b7fbb640d1c7c41759abf5c6a18f937f922",
        "Content-Type": "application/json",
        "language": "en-US",
    }


def test_doc_rest_example_vector() -> None:
    body = '{"uid":"2899","arr":[{"id":1,"name":"maple"},{"id":2,"name":"lily"}]}'
    payload = "123456" + "20241120123045" + "yourApiKey" + "id1uid200" + body
    assert sha256_hex(payload) == (
        "75099831ac6803e9c5b79dd3cde2c3c529b4750bd3508186afdde0dd13599b38"
    )
    sign = rest_sign("yourApiKey", "yourSecretKey", "123456", "20241120123045", "id1uid200", body)
    assert sign == "00397cd1e52c7dce3258067324363b6361fabc9178a0912b330c138db8745655"
    # The body helper produces exactly that text from the equivalent object.
    obj = {"uid": "2899", "arr": [{"id": 1, "name": "maple"}, {"id": 2, "name": "lily"}]}
    assert compact_json(obj) == body
    assert rest_query_string({"uid": 200, "id": 1}) == "id1uid200"


def test_mcp_rest_vector() -> None:
    sign = rest_sign(
        "testApiKey", "testSecretKey", "123456", "20241120123045", "id1uid200", '{"uid":"2899"}'
    )
    assert sign == "93246fc147d2a539ddd3de306a6c71ac828d117908cd9d28d4ffff1a20cbb820"


def test_rb_rest_vector() -> None:
    sign = rest_sign("AK", "SK", "nonce123", "1610000000000", "a1b2", '{"x":1}')
    assert sign == "aad5f581619cdb972337ab3c7babbd067a3f4a687dc74e4811afdf99ddc3d402"
    headers = rest_headers(
        Credentials("AK", "SK"),
        nonce="nonce123",
        timestamp_ms=1610000000000,
        params={"b": 2, "a": 1},
        body=compact_json({"x": 1}),
    )
    assert headers["sign"] == sign


WS_SIGN = "a3bfb87edfc362b67c66042164e4321715b063d31cfb7b8bb44fbcaffd2ea44c"
WS_NONCE = "o9jnhu8ijko2nbhy36fgt0mnjuyhgtsh"


def test_ws_login_vector() -> None:
    assert ws_login_sign("yourApiKey", "yourSecretKey", WS_NONCE, 1747402389) == WS_SIGN


def test_ws_login_args_shape() -> None:
    args = ws_login_args(
        Credentials("yourApiKey", "yourSecretKey"), nonce=WS_NONCE, timestamp=1747402389
    )
    assert args == {
        "apiKey": "yourApiKey",
        "timestamp": 1747402389,
        "nonce": WS_NONCE,
        "sign": WS_SIGN,
    }
    assert type(args["timestamp"]) is int
    assert list(args) == ["apiKey", "timestamp", "nonce", "sign"]
    # It serialises with the timestamp as a JSON integer.
    assert '"timestamp":1747402389' in compact_json({"op": "login", "args": [args]})


def test_ws_login_is_the_rest_formula_with_nothing_else() -> None:
    assert ws_login_sign("k", "s", "n", 123) == rest_sign("k", "s", "n", "123", "", "")


def test_signatures_are_lowercase_hex() -> None:
    sign = rest_sign("k", "s", "n", "1", "", "")
    assert len(sign) == 64
    assert set(sign) <= set(string.hexdigits.lower())


# ------------------------------------------------------------------ query string


def test_query_sorted_by_key_without_separators() -> None:
    params = {"symbol": "BTCUSDT", "limit": 10, "marginCoin": "USDT", "Z": "z"}
    # ASCII order: uppercase before lowercase.
    assert rest_query_string(params) == "Zzlimit10marginCoinUSDTsymbolBTCUSDT"


def test_query_values_unescaped() -> None:
    assert rest_query_string({"symbols": "BTCUSDT,ETHUSDT"}) == "symbolsBTCUSDT,ETHUSDT"
    assert rest_query_string({"q": "a b&c=d/é"}) == "qa b&c=d/é"


def test_query_none_skipped_empty_kept() -> None:
    params = {"b": None, "a": "1", "c": ""}
    assert rest_query_string(params) == "a1c"
    assert query_values(params) == {"a": "1", "c": ""}
    assert rest_query_string({}) == ""
    assert rest_query_string(None) == ""
    assert query_values(None) == {}


def test_query_value_forms_match_httpx() -> None:
    params = {"a": True, "b": False, "c": 5, "d": 1.5, "e": Decimal("0.00000010")}
    assert query_values(params) == {
        "a": "true",
        "b": "false",
        "c": "5",
        "d": "1.5",
        "e": "0.00000010",
    }
    assert list(query_values({"z": 1, "a": 2})) == ["a", "z"]


def test_query_rejects_unsupported_values() -> None:
    with pytest.raises(TypeError, match="'a'"):
        rest_query_string({"a": [1, 2]})
    with pytest.raises(TypeError, match="names must be str"):
        rest_query_string({1: "x"})  # type: ignore[dict-item]


# ------------------------------------------------------------------ bodies


def test_compact_json() -> None:
    assert compact_json({"a": [1, 2], "b": {"c": None}}) == '{"a":[1,2],"b":{"c":null}}'
    assert compact_json({"qty": Decimal("1E-7"), "p": Decimal("100.50")}) == (
        '{"qty":"0.0000001","p":"100.50"}'
    )
    # Key order is kept: the signature covers the bytes as sent.
    assert compact_json({"z": 1, "a": 2}) == '{"z":1,"a":2}'
    with pytest.raises(ValueError, match="Out of range float"):
        compact_json({"x": float("nan")})
    with pytest.raises(ValueError, match="non-finite"):
        compact_json({"x": Decimal("NaN")})
    with pytest.raises(TypeError, match="set"):
        compact_json({"x": {1}})


def test_body_signed_exactly_as_sent() -> None:
    creds = Credentials("key-1234567890", "secret-1234567890")
    spaced = json.dumps({"symbol": "BTCUSDT", "qty": "1"})
    compact = compact_json({"symbol": "BTCUSDT", "qty": "1"})
    assert spaced != compact
    h_spaced = rest_headers(creds, nonce="n", timestamp_ms=1, body=spaced)
    h_compact = rest_headers(creds, nonce="n", timestamp_ms=1, body=compact)
    assert h_spaced["sign"] != h_compact["sign"]
    assert h_spaced["sign"] == rest_sign(creds.api_key, creds.secret_key, "n", "1", "", spaced)
    assert verify_rest(creds, headers=h_spaced, body=spaced.encode())
    assert not verify_rest(creds, headers=h_spaced, body=compact.encode())


# ------------------------------------------------------------------ nonces and clocks


def test_new_nonce_seeded_is_reproducible() -> None:
    a = new_nonce(random.Random(7))
    assert a == new_nonce(random.Random(7))
    assert len(a) == 32
    assert set(a) <= set(NONCE_ALPHABET)
    rng = random.Random(7)
    assert new_nonce(rng) != new_nonce(rng)


def test_new_nonce_default_uses_secrets() -> None:
    nonces = {new_nonce() for _ in range(20)}
    assert len(nonces) == 20
    assert all(len(n) == 32 and n.isalnum() and n.isascii() for n in nonces)


def test_clock_helpers() -> None:
    assert now_seconds(lambda: 1747402389.987) == 1747402389
    assert now_ms(lambda: 1747104711.262) in (1747104711261, 1747104711262)
    assert now_ms(lambda: 2.5) == 2500
    assert isinstance(now_ms(), int)
    assert isinstance(now_seconds(), int)


# ------------------------------------------------------------------ server-side checks

CREDS = Credentials("yourApiKey", "yourSecretKey")


def test_verify_ws_login_accepts_what_the_client_sends() -> None:
    args = ws_login_args(CREDS, nonce=WS_NONCE, timestamp=1747402389)
    assert verify_ws_login_args(CREDS, args)
    assert verify_ws_login(
        CREDS, api_key="yourApiKey", timestamp=1747402389, nonce=WS_NONCE, sign=WS_SIGN
    )


def test_verify_ws_login_accepts_millisecond_timestamps() -> None:
    args = ws_login_args(CREDS, nonce="n", timestamp=1747402389000)
    assert verify_ws_login_args(CREDS, args, now=1747402390.0, max_skew=5.0)
    assert not verify_ws_login_args(CREDS, args, now=1747402400.0, max_skew=5.0)


def test_verify_ws_login_freshness() -> None:
    args = ws_login_args(CREDS, nonce="n", timestamp=1000)
    assert verify_ws_login_args(CREDS, args, now=1030.0, max_skew=30.0)
    assert not verify_ws_login_args(CREDS, args, now=1031.0, max_skew=30.0)
    assert verify_ws_login_args(CREDS, args, now=5000.0)  # no window: no check


@pytest.mark.parametrize(
    "change",
    [
        {"apiKey": "otherKey"},
        {"timestamp": 1747402390},
        {"timestamp": "1747402389"},
        {"timestamp": True},
        {"nonce": WS_NONCE.upper()},
        {"nonce": None},
        {"sign": WS_SIGN.upper()},
        {"sign": WS_SIGN[:-1]},
        {"sign": "é" * 64},
        {"sign": 5},
    ],
)
def test_verify_ws_login_rejects(change: dict[str, object]) -> None:
    args = ws_login_args(CREDS, nonce=WS_NONCE, timestamp=1747402389)
    args.update(change)
    assert not verify_ws_login_args(CREDS, args)


def test_verify_ws_login_rejects_other_secret() -> None:
    args = ws_login_args(CREDS, nonce=WS_NONCE, timestamp=1747402389)
    assert not verify_ws_login_args(Credentials("yourApiKey", "otherSecret"), args)
    assert not verify_ws_login_args(CREDS, {})


def test_verify_rest_round_trip() -> None:
    params = {"symbols": "BTCUSDT,ETHUSDT", "limit": 5, "skip": None}
    headers = rest_headers(CREDS, nonce="abc", timestamp_ms=1610000000000, params=params)
    # What the server sees: string values, no None, any header case.
    received_params = {"limit": "5", "symbols": "BTCUSDT,ETHUSDT"}
    upper = {name.upper(): value for name, value in headers.items()}
    assert verify_rest(CREDS, headers=headers, params=received_params)
    assert verify_rest(CREDS, headers=upper, params=received_params, body=b"")
    assert verify_rest(
        CREDS,
        headers=headers,
        params=received_params,
        now_ms=1610000004000,
        max_skew_ms=5000,
    )
    assert not verify_rest(
        CREDS,
        headers=headers,
        params=received_params,
        now_ms=1610000006000,
        max_skew_ms=5000,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"api-key": "otherKey"},
        {"nonce": "abd"},
        {"nonce": ""},
        {"timestamp": "1610000000001"},
        {"timestamp": "16100000000.0"},
        {"timestamp": "¹"},
        {"sign": "0" * 64},
        {"sign": "é"},
    ],
)
def test_verify_rest_rejects_changed_headers(change: dict[str, str]) -> None:
    headers = rest_headers(CREDS, nonce="abc", timestamp_ms=1610000000000, body='{"x":1}')
    headers.update(change)
    assert not verify_rest(CREDS, headers=headers, body='{"x":1}')


@pytest.mark.parametrize("missing", ["api-key", "nonce", "timestamp", "sign"])
def test_verify_rest_rejects_missing_header(missing: str) -> None:
    headers = rest_headers(CREDS, nonce="abc", timestamp_ms=1)
    del headers[missing]
    assert not verify_rest(CREDS, headers=headers)


def test_verify_rest_rejects_changed_request() -> None:
    headers = rest_headers(CREDS, nonce="abc", timestamp_ms=1, params={"a": "1"}, body="{}")
    assert verify_rest(CREDS, headers=headers, params={"a": "1"}, body="{}")
    assert not verify_rest(CREDS, headers=headers, params={"a": "2"}, body="{}")
    assert not verify_rest(CREDS, headers=headers, params={}, body="{}")
    assert not verify_rest(CREDS, headers=headers, params={"a": "1"}, body="{ }")
    assert not verify_rest(CREDS, headers=headers, params={"a": "1"}, body=b"\xff")
    assert not verify_rest(CREDS, headers=headers, params={"a": ["1"]}, body="{}")

"""``ivrkit.speedups``: the orjson path decodes and encodes exactly as the stdlib.

Each test runs the orjson-backed decoder (``_orjson_loads`` with the real orjson,
whatever ``IVRKIT_SPEEDUPS`` says) against the stdlib reference on the
texts where the two libraries differ (docs/decisions.md "Optional speed-ups"), and on
random ones. "The same" means the same value with the same types (``1`` is not ``1.0``;
NaN equals NaN) or the same exception with the same message.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivrkit import speedups


@pytest.fixture(autouse=True)
def _real_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speedups, "_orjson", orjson)


def typed(value: Any) -> Any:
    """A value with its types spelled out, so 1 != 1.0 and NaN == NaN."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def outcome(decode: Any, text: str | bytes) -> Any:
    try:
        return ("ok", typed(decode(text)))
    except Exception as exc:  # the comparison is the point: same kind, same words
        return ("error", type(exc).__name__, str(exc))


# texts on which orjson alone would answer differently from json.loads
DIFFERING = [
    '"\\ud800"',  # lone surrogates: orjson refuses, json.loads gives the code point
    '{"id": "\\udfff", "n": 1}',
    '"\\udc00\\ud800"',
    str(2**64),  # beyond 64 bits: orjson gives a float
    str(-(2**63) - 1),
    '{"duration": 123456789012345678901234567890}',
    "[1, 2, 18446744073709551616]",
    "1e400",  # overflow: orjson refuses, json.loads gives inf
    "-1e400",
    "NaN",
    "-Infinity",
    '{"a": Infinity}',
    "[" * 600 + "]" * 600,  # deep: orjson stops at 1,024 levels, json.loads elsewhere
    "[" * 5000 + "]" * 5000,
    '{"a": 1, "a": 2}',  # duplicate keys: the last wins
    '{"a": 1, "b": 2, "a": 3}',
    "\ufeff{}",
    b'{"a": "\xff"}',  # bytes that are not UTF-8
    '{"a": 1}'.encode("utf-16"),  # json.loads detects UTF-16 in bytes, orjson does not
    '{"a": "\\u0000"}',
    "",
    "  ",
    '{"a": 1} x',
    "[1,]",
    '"\x01"',
    "-0",
    "-0.0",
    "1E-400",
    "0.30000000000000004",
    "1234567890123456789.5",
    '"caller 0044123456789012345678"',  # 19 digits in a string: the stdlib decodes it
]


@pytest.mark.parametrize("text", DIFFERING, ids=range(len(DIFFERING)))
def test_loads_gives_what_json_loads_gives(text: str | bytes) -> None:
    assert outcome(speedups._orjson_loads, text) == outcome(json.loads, text)


def test_the_cases_above_are_ones_where_orjson_alone_differs() -> None:
    """Without the fallbacks these cases would fail: the list tests something."""
    differ = [t for t in DIFFERING if outcome(orjson.loads, t) != outcome(json.loads, t)]
    assert len(differ) >= 15, differ


def test_an_ordinary_event_is_decoded_by_orjson_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path is taken for what Asterisk sends (else there is nothing to gain)."""
    frame = json.dumps(
        {
            "type": "ChannelDtmfReceived",
            "digit": "1",
            "duration_ms": 100,
            "channel": {"id": "1733080000.123", "name": "PJSIP/alice-00000001"},
        }
    )
    monkeypatch.setattr(speedups.json, "loads", None)  # any use of the stdlib would fail
    assert speedups._orjson_loads(frame)["channel"]["id"] == "1733080000.123"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(),  # lone surrogates included
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values, st.booleans())
def test_random_documents_decode_the_same(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert outcome(speedups._orjson_loads, text) == outcome(json.loads, text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from('{}[]",:0123456789-+.eE \\utrnulfasNIy\ud800')))
def test_random_near_json_texts_decode_the_same(text: str) -> None:
    assert outcome(speedups._orjson_loads, text) == outcome(json.loads, text)


@pytest.mark.parametrize(
    ("value", "wanted", "problem"),
    [
        (None, {"orjson", "uvloop"}, None),
        ("1", {"orjson", "uvloop"}, None),
        (" ALL ", {"orjson", "uvloop"}, None),
        ("0", set(), None),
        ("off", set(), None),
        ("orjson", {"orjson"}, None),
        ("uvloop, orjson", {"orjson", "uvloop"}, None),
        ("orjson,ujson", set(), "IVRKIT_SPEEDUPS='orjson,ujson' names 'ujson'; expected"),
    ],
)
def test_the_switch(value: str | None, wanted: set[str], problem: str | None) -> None:
    got, why = speedups.parse_choice(value)
    assert got == wanted
    if problem is None:
        assert why is None
    else:
        assert why is not None
        assert why.startswith(problem)


def test_an_error_is_the_stdlibs_alone_without_orjsons_as_its_context() -> None:
    """A traceback must read the same with or without orjson installed."""
    with pytest.raises(json.JSONDecodeError) as decoding:
        speedups._orjson_loads('{"a": NaN} x')
    assert decoding.value.__context__ is None

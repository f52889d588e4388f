"""Request metrics are labelled by route template (ivrkit.ari._operations), never by URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivrkit.ari._operations import ROUTES, operation

API_DOCS = Path(__file__).resolve().parents[2].parent / "shared" / "ari-api-docs" / "api-docs"


def test_the_route_list_is_every_path_of_the_api_docs() -> None:
    paths = set()
    for doc in API_DOCS.glob("*.json"):
        for api in json.loads(doc.read_text(encoding="utf-8")).get("apis", []):
            paths.add(api["path"])
    assert len(paths) > 70
    assert set(ROUTES) == paths


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/channels/1796.3/play/1796.3-p2", "POST /channels/{channelId}/play/{playbackId}"),
        ("POST", "/channels/create", "POST /channels/create"),
        ("POST", "/channels", "POST /channels"),
        ("DELETE", "/channels/ch-ab12-7", "DELETE /channels/{channelId}"),
        ("POST", "/bridges/b-1/addChannel", "POST /bridges/{bridgeId}/addChannel"),
        ("GET", "/applications/channel-aa", "GET /applications/{applicationName}"),
        (
            "POST",
            "/endpoints/PJSIP/alice/sendMessage",
            "POST /endpoints/{tech}/{resource}/sendMessage",
        ),
        ("POST", "/endpoints/sendMessage", "POST /endpoints/sendMessage"),
        ("GET", "/asterisk/info?only=build", "GET /asterisk/info"),
        ("GET", "/channels/x/no-such-thing", "GET other"),
        ("GET", "/nowhere", "GET other"),
        ("GET", "/channels//play", "GET other"),
    ],
)
def test_a_path_is_named_by_its_route(method: str, path: str, expected: str) -> None:
    assert operation(method, path) == expected

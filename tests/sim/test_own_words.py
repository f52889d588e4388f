"""The simulator's API description says things in its own words.

Facts carry over from Asterisk's description (``shared/ari-api-docs``): names, types,
allowed values, status codes. Its sentences do not. This test walks the description the
simulator serves and fails when one of our prose strings (resource descriptions,
operation ``summary``/``notes``, parameter descriptions, error ``reason``, model and
field descriptions):

1. equals, ignoring case and whitespace, Asterisk's string in the same slot (same
   operation, parameter, error code, model field) or any other prose string of
   Asterisk's description; or
2. is longer than :data:`LONG` characters and appears verbatim anywhere in Asterisk's
   description files.

An api entry's ``description`` that is its own path is a name, not prose, and is skipped.
Runtime ``{"message": ...}`` bodies are not part of the description; they are Asterisk's
facts and are compared with the traces elsewhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from _trace import API_DOCS

from ivrkit.sim.front._apidocs import render
from ivrkit.sim.front._routetable import RESOURCES

#: Strings longer than this may not appear anywhere in Asterisk's files.
LONG = 40

PROSE_KEYS = ("summary", "notes", "description", "reason")

#: (where, our string, Asterisk's string in the same slot or None)
Entry = tuple[str, str, str | None]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _asterisk_docs() -> dict[str, dict[str, Any]]:
    docs = {"resources": json.loads((API_DOCS / "resources.json").read_text(encoding="utf-8"))}
    for file in sorted((API_DOCS / "api-docs").glob("*.json")):
        docs[file.stem] = json.loads(file.read_text(encoding="utf-8"))
    return docs


def _ours() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for name in ("resources", *(name for name, _ in RESOURCES)):
        doc = render(name, "http://127.0.0.1:8088/ari")
        assert doc is not None, name
        docs[name] = doc
    return docs


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _prose(value: object) -> Iterator[str]:
    """Every string under a prose key, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in PROSE_KEYS and isinstance(item, str):
                yield item
            else:
                yield from _prose(item)
    elif isinstance(value, list):
        for item in value:
            yield from _prose(item)


def _entries(ours: dict[str, dict[str, Any]], theirs: dict[str, dict[str, Any]]) -> list[Entry]:
    """Our prose strings, each paired with Asterisk's string in the same slot."""
    out: list[Entry] = []
    their_resources = {a["path"]: a for a in theirs["resources"].get("apis", [])}
    for api in ours["resources"]["apis"]:
        their_desc = their_resources.get(api["path"], {}).get("description")
        out.append((f"resources.json {api['path']}", api.get("description", ""), their_desc))
    for name, doc in ours.items():
        if name == "resources":
            continue
        their_doc = theirs.get(name, {})
        their_apis = {a["path"]: a for a in their_doc.get("apis", [])}
        for api in doc.get("apis", []):
            their_api = their_apis.get(api["path"], {})
            if api.get("description", api["path"]) != api["path"]:
                out.append((f"{api['path']}", api["description"], their_api.get("description")))
            their_ops = {o["httpMethod"]: o for o in their_api.get("operations", [])}
            for op in api["operations"]:
                where = f"{op['httpMethod']} {api['path']}"
                their_op = their_ops.get(op["httpMethod"], {})
                for key in ("summary", "notes"):
                    if key in op:
                        out.append((f"{where} {key}", op[key], their_op.get(key)))
                their_params = {p["name"]: p for p in their_op.get("parameters", [])}
                for param in op.get("parameters", []):
                    if "description" in param:
                        their_param = their_params.get(param["name"], {})
                        out.append(
                            (
                                f"{where} parameter {param['name']}",
                                param["description"],
                                their_param.get("description"),
                            )
                        )
                their_errors = {e["code"]: e["reason"] for e in their_op.get("errorResponses", [])}
                for error in op.get("errorResponses", []):
                    out.append(
                        (
                            f"{where} error {error['code']}",
                            error["reason"],
                            their_errors.get(error["code"]),
                        )
                    )
        their_models: dict[str, Any] = {}
        for their in theirs.values():
            their_models.update(their.get("models", {}))
        for model_name, model in doc.get("models", {}).items():
            their_model = their_models.get(model_name, {})
            if "description" in model:
                out.append(
                    (f"model {model_name}", model["description"], their_model.get("description"))
                )
            for field, spec in model.get("properties", {}).items():
                if "description" in spec:
                    their_field = their_model.get("properties", {}).get(field, {})
                    out.append(
                        (
                            f"model {model_name}.{field}",
                            spec["description"],
                            their_field.get("description"),
                        )
                    )
    return out


def copied(ours: dict[str, dict[str, Any]], theirs: dict[str, dict[str, Any]]) -> list[str]:
    """One line per prose string of ``ours`` that copies ``theirs`` (empty: none)."""
    their_prose = {_norm(text) for doc in theirs.values() for text in _prose(doc)}
    their_text = _norm("\n".join(s for doc in theirs.values() for s in _strings(doc)))
    problems: list[str] = []
    for where, text, their_same in _entries(ours, theirs):
        norm = _norm(text)
        if not norm:
            continue
        if their_same is not None and norm == _norm(their_same):
            problems.append(f"{where}: {text!r} is Asterisk's own wording for this slot")
        elif norm in their_prose:
            problems.append(f"{where}: {text!r} is a sentence of Asterisk's description")
        elif len(norm) > LONG and norm in their_text:
            problems.append(f"{where}: {text!r} appears verbatim in Asterisk's description")
    return problems


def test_our_description_copies_no_asterisk_prose() -> None:
    ours, theirs = _ours(), _asterisk_docs()
    entries = _entries(ours, theirs)
    # The walk must see the strings it is meant to judge (every operation has a summary).
    assert sum(1 for where, _, _ in entries if where.endswith(" summary")) >= 40
    assert sum(1 for where, _, _ in entries if " error " in where) >= 60
    assert all(text.strip() for where, text, _ in entries), "empty prose string"
    problems = copied(ours, theirs)
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_copied_description() -> None:
    """Asterisk's description judged against itself: every prose kind is flagged."""
    theirs = _asterisk_docs()
    problems = copied(theirs, theirs)
    for kind in ("summary", "parameter", "error", "resources.json"):
        assert any(kind in line for line in problems), kind


def test_the_check_catches_a_long_sentence_lifted_from_notes() -> None:
    theirs = _asterisk_docs()
    notes = next(
        text for doc in theirs.values() for text in _prose(doc) if len(_norm(text)) > 3 * LONG
    )
    lifted = notes[: LONG + 20]
    ours = _ours()
    ours["asterisk"] = json.loads(json.dumps(ours["asterisk"]))
    ours["asterisk"]["apis"][0]["operations"][0]["summary"] = lifted
    assert any("verbatim" in line for line in copied(ours, theirs))

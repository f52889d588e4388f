"""Helpers for comparing the simulator with the recorded Asterisk traces (pure, no I/O).

The traces (``shared/asterisk-traces/*.jsonl``) are what a real Asterisk 20.20.1 sent.
Values that legitimately differ between two runs (ids Asterisk generates, channel
name counters, timestamps) are compared by *format*; everything else by value or by
shape (the recursive set of keys and the JSON type of each value).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
TRACES = SHARED / "asterisk-traces"
API_DOCS = SHARED / "ari-api-docs"

Record = dict[str, Any]

#: Formats of values that differ between runs, by key. A key listed here is compared by
#: the first pattern its recorded value matches (the simulator's value must match the
#: same pattern); keys not listed are compared by JSON type only (shape), except
#: :data:`EXACT_KEYS`.
FORMATS: dict[str, tuple[str, ...]] = {
    "timestamp": (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}",),
    "creationtime": (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}",),
    "startup_time": (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}",),
    "last_reload_time": (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}",),
    "date": (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC",),
    "id": (
        r"\d{10}\.\d+",  # Asterisk's own channel ids: <epoch>.<counter>
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",  # uuid4
        r".+",
    ),
    "name": (
        r"Local/[^@]+@[^-]+-[0-9a-f]{8};[12]",
        r"[A-Z]+/[^-]+-[0-9a-f]{8}",
        r".*",
    ),
    "asterisk_id": (r"[0-9a-f]{2}(:[0-9a-f]{2}){5}",),
    "entity_id": (r"[0-9a-f]{2}(:[0-9a-f]{2}){5}",),
}

#: Keys whose values must be equal (after id mapping) wherever they appear.
EXACT_KEYS = frozenset(
    {
        "type",
        "state",
        "media_uri",
        "next_media_uri",
        "language",
        "digit",
        "duration_ms",
        "dialstatus",
        "cause",
        "cause_txt",
        "soft",
        "variable",
        "args",
        "dialplan_app",
        "message",
        "error",
        "status_code",
        "reason_phrase",
        "content_type",
        "technology",
        "bridge_type",
        "bridge_class",
        "context",
        "exten",
        "priority",
        "app_name",
        "caller",
        "connected",
        "eventname",
    }
)

_LOCAL_COUNTER = re.compile(r"-[0-9a-f]{8}(;[12])?$")


def load(name: str) -> list[Record]:
    """The records of ``name``.jsonl, in file (= time) order."""
    with (TRACES / f"{name}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def role(channel_name: str) -> str:
    """A channel name without its per-run counter: ``Local/1000@default-N;2``."""
    return _LOCAL_COUNTER.sub(lambda m: "-N" + (m.group(1) or ""), channel_name)


def fmt_of(key: str, value: str) -> str | None:
    """The first :data:`FORMATS` pattern of ``key`` that ``value`` matches."""
    for pattern in FORMATS.get(key, ()):
        if re.fullmatch(pattern, value):
            return pattern
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null"


@dataclass(frozen=True, slots=True)
class Diff:
    """One difference between a recorded value and the simulator's, at a JSON path."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def compare(
    recorded: Any, simulated: Any, where: str = "$", ids: dict[str, str] | None = None
) -> list[Diff]:
    """Shape, format and exact-value differences between two JSON values.

    ``ids`` maps recorded ids to the simulator's (applied to values of ``EXACT_KEYS`` and
    to ``id``-like strings before comparing).
    """
    out: list[Diff] = []
    _compare(recorded, simulated, where, "", ids or {}, out)
    return out


def _compare(
    rec: Any, sim: Any, where: str, key: str, ids: dict[str, str], out: list[Diff]
) -> None:
    if _kind(rec) != _kind(sim):
        out.append(Diff(where, f"type {_kind(rec)} recorded, {_kind(sim)} simulated ({sim!r})"))
        return
    if isinstance(rec, dict):
        missing = [k for k in rec if k not in sim]
        extra = [k for k in sim if k not in rec]
        if missing:
            out.append(Diff(where, f"missing keys {missing}"))
        if extra:
            out.append(Diff(where, f"extra keys {extra}"))
        for k in rec:
            if k in sim:
                _compare(rec[k], sim[k], f"{where}.{k}", k, ids, out)
        return
    if isinstance(rec, list):
        if key in EXACT_KEYS and [ids.get(x, x) if isinstance(x, str) else x for x in rec] != sim:
            out.append(Diff(where, f"{rec!r} recorded, {sim!r} simulated"))
            return
        if _all_have_ids(rec) and _all_have_ids(sim):
            # lists of objects (channels, bridges): Asterisk's order is its hash order,
            # so pair the elements by (mapped) id
            by_id = {item["id"]: item for item in sim}
            wanted = [ids.get(item["id"], item["id"]) for item in rec]
            missing = [i for i in wanted if i not in by_id]
            extra = [i for i in by_id if i not in wanted]
            if missing or extra:
                out.append(Diff(where, f"ids missing {missing}, extra {extra}"))
            for item, sim_id in zip(rec, wanted, strict=True):
                if sim_id in by_id:
                    _compare(item, by_id[sim_id], f"{where}[id={sim_id}]", key, ids, out)
            return
        if rec and sim:
            _compare(rec[0], sim[0], f"{where}[0]", key, ids, out)
        return
    if key == "message_body" and isinstance(rec, str):
        # REST over websocket: the body is JSON text; compare what it says
        rec_body, sim_body = json.loads(rec), json.loads(sim)
        if isinstance(rec_body, dict) and "swaggerVersion" in rec_body:
            # an api-docs document: the simulator's own (see test_apidocs.py)
            for k in ("swaggerVersion", "basePath"):
                if rec_body.get(k) != sim_body.get(k):
                    out.append(
                        Diff(
                            f"{where}.{k}",
                            f"{rec_body.get(k)!r} recorded, {sim_body.get(k)!r} simulated",
                        )
                    )
            return
        _compare(rec_body, sim_body, f"{where}(json)", "", ids, out)
        return
    if key in EXACT_KEYS:
        expected = ids.get(rec, rec) if isinstance(rec, str) else rec
        if expected != sim:
            out.append(Diff(where, f"{rec!r} recorded, {sim!r} simulated"))
        return
    if isinstance(rec, str) and key in FORMATS:
        pattern = fmt_of(key, rec)
        if pattern is not None and not re.fullmatch(pattern, sim):
            out.append(Diff(where, f"{sim!r} does not match the recorded format /{pattern}/"))


def _all_have_ids(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items)


def objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object inside ``value`` (depth first, including ``value`` itself)."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from objects(item)


def event_role(ev: dict[str, Any], id_roles: dict[str, str]) -> str:
    """The channel an event is about: its channel's role, or its playback's target."""
    channel = ev.get("channel") or ev.get("peer")
    if isinstance(channel, dict):
        return role(channel["name"])
    playback = ev.get("playback")
    if isinstance(playback, dict):
        target = str(playback.get("target_uri", ""))
        kind, _, ident = target.partition(":")
        return f"{kind}:{id_roles.get(ident, ident)}"
    return ""


def event_key(ev: dict[str, Any], id_roles: dict[str, str]) -> tuple[str, ...]:
    """What identifies "the same event" across runs (not its state or timing)."""
    playback = ev.get("playback") or {}
    return (
        str(ev.get("type")),
        event_role(ev, id_roles),
        str(playback.get("media_uri", "")),
        str(ev.get("digit", "")),
        str(ev.get("variable", "")),
    )


def learn_roles(value: Any, id_roles: dict[str, str]) -> None:
    """Record ``channel id → role`` for every channel object inside ``value``."""
    for obj in objects(value):
        if (
            isinstance(obj.get("name"), str)
            and "dialplan" in obj
            and isinstance(obj.get("id"), str)
        ):
            id_roles[obj["id"]] = role(obj["name"])


#: The lab's own prompts (the README: synthetic press-1 / or / press-2 /
#: option-is-invalid / are-you-still-there, served as ``slin``, see catalog step 15).
LAB_PROMPTS = ("press-1", "or", "press-2", "option-is-invalid", "are-you-still-there")


def lab_prompt_seconds() -> dict[str, float]:
    """Natural lengths of the lab prompts, measured in the traces (longest done run)."""
    out: dict[str, float] = {}
    for name in ("guide-js-1-2-8-timeout", "guide-js-press-during-or", "protocol-catalog"):
        started: dict[str, float] = {}
        for rec in load(name):
            data = rec.get("data") if rec["kind"] == "ws_msg" else None
            if not isinstance(data, dict) or not isinstance(data.get("playback"), dict):
                continue
            pb = data["playback"]
            media = str(pb.get("media_uri", ""))
            if not media.startswith("sound:") or media[6:] not in LAB_PROMPTS:
                continue
            key = f"{rec['conn']}:{pb['id']}:{media}"
            if data["type"] == "PlaybackStarted":
                started[key] = rec["t"]
            elif key in started and pb.get("state") == "done":
                length = rec["t"] - started.pop(key)
                out[media[6:]] = max(out.get(media[6:], 0.0), length)
    return out


def make_lab_sounds(root: Path) -> Path:
    """A sounds directory holding exactly the lab's sounds, in the lab's formats.

    The set and the formats are the recorded ``GET /sounds`` answer (catalog step 15);
    lengths are the lab prompts' measured ones, else Asterisk's core prompts
    (``shared/asterisk-sounds``), else one frame (sounds the traces never play).
    """
    en = root / "en"
    en.mkdir(parents=True, exist_ok=True)
    seconds_of: dict[str, float] = {}
    tsv = SHARED / "asterisk-sounds" / "en-core-durations.tsv"
    for line in tsv.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and not line.startswith("#"):
            try:
                seconds_of[parts[0]] = float(parts[1])
            except ValueError:
                continue
    seconds_of.update(lab_prompt_seconds())
    (listing,) = [
        r["resp_body"]
        for r in load("protocol-catalog")
        if r["kind"] == "http" and r["path"] == "/ari/sounds" and r["status"] == 200
    ]
    for sound in listing:
        seconds = seconds_of.get(sound["id"], 0.02)
        for fmt in {f["format"] for f in sound["formats"]}:
            path = en / f"{sound['id']}.{fmt}"
            path.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "gsm":
                size = round(seconds / 0.02) * 33
            elif fmt in ("slin", "sln"):
                size = round(seconds * 8000) * 2
            else:
                raise ValueError(f"the lab's sound list has a format this helper lacks: {fmt}")
            path.write_bytes(bytes(size))
    return root

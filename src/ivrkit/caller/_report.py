"""The call report: what was heard, what was pressed, who hung up, which steps passed.

Times are seconds from the call's start (the moment the originate request was sent),
rounded to the millisecond. ``CallReport.to_json()`` is the ``--json`` document (schema
in docs/caller.md, version 1); ``render_text()`` is what ``ivrkit call`` prints.

How a prompt ended is inferred, because ARI does not say it: a playback that an app
stops finishes with state ``done``, exactly like one that played to its end. So:

* ``failed`` state while the call was being hung up → ``cut_off_hangup``;
* ``failed`` otherwise → ``failed`` (the media could not be played);
* ``done`` within ``KEY_CUT_OFF_WINDOW`` seconds after the far side received a key
  that arrived while it played → ``cut_off_key`` (barge-in);
* ``done`` otherwise → ``finished``;
* no end seen before the call ended → ``no_end`` (e.g. an unknown media scheme).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["finished", "cut_off_key", "cut_off_hangup", "failed", "no_end"]
StepStatus = Literal["passed", "failed", "not_run"]

#: a prompt that ends this soon after a key it was playing during counts as cut off
KEY_CUT_OFF_WINDOW = 0.5
#: a prompt that fails this soon before the first hang-up event counts as cut off by it
HANGUP_WINDOW = 0.5
REPORT_VERSION = 1

_OUTCOME_TEXT: dict[str, str] = {
    "finished": "finished",
    "cut_off_key": "cut off by a key",
    "cut_off_hangup": "cut off by the hang-up",
    "failed": "failed (could not be played)",
    "no_end": "no end seen",
}


@dataclass(frozen=True, slots=True)
class HeardMedia:
    """One media item played to the caller."""

    media_uri: str
    playback_id: str
    start: float
    end: float | None
    outcome: Outcome

    @property
    def cut_off(self) -> bool:
        return self.outcome in ("cut_off_key", "cut_off_hangup")


@dataclass(frozen=True, slots=True)
class DtmfSent:
    """One ``press`` step: when it was sent and when the far side got each key."""

    digits: str
    sent_at: float
    received_at: tuple[float, ...]
    line: int


@dataclass(frozen=True, slots=True)
class HangupInfo:
    """Who ended the call. ``by`` is ``caller``, ``far_end`` or ``None`` (never ended)."""

    by: Literal["caller", "far_end"] | None
    at: float | None
    cause: int | None
    cause_txt: str
    after_script: bool = False  # the caller hung up to clean up after the last step


@dataclass(frozen=True, slots=True)
class StepResult:
    line: int
    step: str
    status: StepStatus
    at: float | None = None  # when it passed or failed
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CallReport:
    """Everything ``ivrkit call`` found out about one call; see the module docstring."""

    source: str
    endpoint: str
    app: str
    channel_id: str
    far_channel_id: str
    answered_at: float | None
    duration: float | None
    media: tuple[HeardMedia, ...]
    dtmf: tuple[DtmfSent, ...]
    hangup: HangupInfo
    steps: tuple[StepResult, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(s.status == "passed" for s in self.steps)

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.status == "failed"), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "passed": self.passed,
            "source": self.source,
            "endpoint": self.endpoint,
            "app": self.app,
            "channel_id": self.channel_id,
            "far_channel_id": self.far_channel_id,
            "answered_at": self.answered_at,
            "duration": self.duration,
            "media": [
                {
                    "media_uri": m.media_uri,
                    "playback_id": m.playback_id,
                    "start": m.start,
                    "end": m.end,
                    "outcome": m.outcome,
                    "cut_off": m.cut_off,
                }
                for m in self.media
            ],
            "dtmf": [
                {
                    "digits": d.digits,
                    "sent_at": d.sent_at,
                    "received_at": list(d.received_at),
                    "line": d.line,
                }
                for d in self.dtmf
            ],
            "hangup": {
                "by": self.hangup.by,
                "at": self.hangup.at,
                "cause": self.hangup.cause,
                "cause_txt": self.hangup.cause_txt,
                "after_script": self.hangup.after_script,
            },
            "steps": [
                {"line": s.line, "step": s.step, "status": s.status, "at": s.at, "detail": s.detail}
                for s in self.steps
            ],
        }


def outcome(
    state: str,
    start: float,
    end: float | None,
    keys_received: list[tuple[str, float]],
    hangup_at: float | None,
) -> Outcome:
    """How one media item ended, as far as ARI shows it (module docstring)."""
    if end is None:
        return "no_end"
    if state == "failed":
        if hangup_at is not None and end >= hangup_at - HANGUP_WINDOW:
            return "cut_off_hangup"
        return "failed"
    for _, at in keys_received:
        if start <= at <= end and end - at <= KEY_CUT_OFF_WINDOW:
            return "cut_off_key"
    return "finished"


def _t(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render_text(report: CallReport) -> str:
    """The human-readable report (what ``ivrkit call`` prints)."""
    lines = [
        f"call {report.endpoint} from ARI app {report.app!r} "
        f"(channels {report.channel_id} / {report.far_channel_id}), script {report.source}",
        "answered at "
        + (f"{report.answered_at:.3f} s" if report.answered_at is not None else "(never)"),
        "media heard (seconds from the start of the call):",
    ]
    width = max((len(m.media_uri) for m in report.media), default=0)
    for m in report.media:
        lines.append(
            f"  {_t(m.start):>8} - {_t(m.end):>8}  {m.media_uri:<{width}}  "
            f"{_OUTCOME_TEXT[m.outcome]}"
        )
    if not report.media:
        lines.append("  (nothing)")
    lines.append("keys pressed:")
    for d in report.dtmf:
        received = ", ".join(_t(t) for t in d.received_at) or "never"
        lines.append(f"  {_t(d.sent_at):>8}  {d.digits}  (received at {received})")
    if not report.dtmf:
        lines.append("  (none)")
    h = report.hangup
    if h.by is None:
        lines.append("hang-up: not seen")
    else:
        who = "the caller" + (" (after the script)" if h.after_script else "")
        who = who if h.by == "caller" else "the far end"
        cause = f"cause {h.cause} ({h.cause_txt})" if h.cause is not None else "cause unknown"
        lines.append(f"hang-up: by {who} at {_t(h.at)} s, {cause}")
        if hint := _no_extension_hint(report):
            lines.append(f"  hint: {hint}")
    lines.append(
        "duration: " + (f"{report.duration:.3f} s" if report.duration is not None else "unknown")
    )
    lines.append("steps:")
    for s in report.steps:
        where = f"{report.source}:{s.line}" if s.line else report.source
        status = {"passed": "passed", "failed": "FAILED", "not_run": "not run"}[s.status]
        at = f" at {s.at:.3f} s" if s.at is not None else ""
        detail = f": {s.detail}" if s.detail else ""
        lines.append(f"  {where}: {s.step}: {status}{at}{detail}")
    passed = sum(1 for s in report.steps if s.status == "passed")
    verdict = "PASSED" if report.passed else "FAILED"
    lines.append(f"result: {verdict} ({passed} of {len(report.steps)} steps passed)")
    return "\n".join(lines) + "\n"


def _no_extension_hint(report: CallReport) -> str:
    """What a far-end hang-up before any answer with cause 0 usually means.

    Asterisk gives cause 0 (Unknown) when a Local channel names an extension that does
    not exist: both halves go at once, before any answer, with no cause of their own.
    """
    h = report.hangup
    if h.by != "far_end" or h.cause not in (0, None) or report.answered_at is not None:
        return ""
    target = report.endpoint.removeprefix("Local/")
    exten, _, context = target.partition("@")
    if target == report.endpoint or not context:
        return "the far end hung up before answering without a cause"
    return (
        f"the far end hung up before answering, without a cause, as Asterisk does when "
        f"{report.endpoint} names no extension: check that extension {exten} exists in "
        f"context {context} (`dialplan show {exten}@{context}` on the Asterisk CLI)"
    )

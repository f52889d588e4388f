"""The Prometheus metrics of a running ``ivrkit run``, fed by ``ivrkit.observe`` records.

Each metric is documented in docs/operations.md ("Metrics"); ``METRICS`` below is the
list a test checks that page and its dashboard against. Labels are kept low-cardinality
on purpose: menu, option, handler, field, branch, outcome, operation (route template),
status, never a call or channel id, digits or a recording's name, so a busy day adds
samples, not series.

The metrics live in a registry of their own (not prometheus_client's global one), so
two runners in one process (tests) never share counters. Label children are cached in
plain dicts: ``labels()`` validates and locks on every call, a dict lookup does not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ivrkit.observe import TURN_AWAY_REASONS, AriRequest, Connection, Observation, Step

# Buckets sized for what each measures: a key's reaction is tens of ms; an ARI request on
# a LAN a few ms, over a WAN or under load up to seconds; a handler may query a database.
_REACTION = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
_REQUEST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_HANDLER = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_CALL = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
_LAG = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
# a recording: a name said (1-3 s) to a voicemail (up to the record's max_duration, 60 s
# by default); 0.5: the caller hung up or pressed # at once
_RECORDING = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)

# a collect's step kind -> its outcome label
_COLLECT_OUTCOMES = {
    "collected": "matched",
    "collect_no_input": "no_input",
    "collect_no_match": "no_match",
}

# name (as exposed, with _total for counters) -> help text; docs/operations.md lists each.
METRICS = {
    "ivrkit_calls_active": "Calls in the application right now.",
    "ivrkit_calls_started_total": "Calls that entered the application.",
    "ivrkit_calls_ended_total": "Calls that left the application, by outcome.",
    "ivrkit_call_duration_seconds": "Time from a call's StasisStart to its end.",
    "ivrkit_calls_turned_away_total": (
        "Calls handed back to the dialplan on arrival, never served, by reason (drain, error)."
    ),
    "ivrkit_menu_entries_total": "Times a call entered a menu (its greeting starts).",
    "ivrkit_option_selections_total": "Options selected, by menu and option.",
    "ivrkit_no_input_total": "A menu's timeout ran out with no key, by menu.",
    "ivrkit_no_match_total": "An entry matched no option, by menu.",
    "ivrkit_limits_total": "max_no_input or max_no_match reached, by menu and limit.",
    "ivrkit_collects_total": (
        "Collect attempts by menu, field and outcome (matched, no_input, no_match), "
        "and collects given up (max_tries)."
    ),
    "ivrkit_recordings_total": "Recordings that ended, by menu and outcome (ok, failed).",
    "ivrkit_recording_seconds": "Length of the recordings stored, by menu.",
    "ivrkit_routes_total": "Time-of-day route decisions, by menu and branch (rule N, otherwise).",
    "ivrkit_prompts_total": "Prompts that ended, by outcome (finished, cut_off, failed).",
    "ivrkit_reaction_seconds": "From a key's DTMF event to the stopped prompt's end.",
    "ivrkit_transfers_total": "Transfers, by outcome (ok, failed).",
    "ivrkit_handler_runs_total": "Python handlers run, by handler.",
    "ivrkit_handler_errors_total": "Python handlers that raised, by handler.",
    "ivrkit_handler_duration_seconds": "How long a handler ran, by handler.",
    "ivrkit_call_errors_total": "Errors of ours on a call (engine errors, refused commands).",
    "ivrkit_ari_request_duration_seconds": "ARI REST requests by operation and status.",
    "ivrkit_ari_websocket_up": "1 while the ARI event websocket is connected and in sync.",
    "ivrkit_ari_websocket_reconnects_total": "Times the ARI websocket came back after a loss.",
    "ivrkit_ari_websocket_disconnects_total": "Times the ARI websocket was lost.",
    "ivrkit_event_loop_lag_seconds": "How late the event loop ran a timer (sampled).",
}


def _doc(name: str) -> str:
    return METRICS[name if name in METRICS else f"{name}_total"]


class MetricsObserver:
    """An ``Observer`` that counts records into a registry (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry = registry or CollectorRegistry(auto_describe=True)

        def counter(name: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, _doc(name), labels, registry=registry)

        def histogram(
            name: str, buckets: tuple[float, ...], labels: tuple[str, ...] = ()
        ) -> Histogram:
            return Histogram(name, _doc(name), labels, buckets=buckets, registry=registry)

        self.calls_active = Gauge(
            "ivrkit_calls_active", _doc("ivrkit_calls_active"), registry=registry
        )
        self.calls_started = counter("ivrkit_calls_started")
        self.calls_ended = counter("ivrkit_calls_ended", ("outcome",))
        self.call_duration = histogram("ivrkit_call_duration_seconds", _CALL)
        self.turned_away = counter("ivrkit_calls_turned_away", ("reason",))
        self.menu_entries = counter("ivrkit_menu_entries", ("menu",))
        self.options = counter("ivrkit_option_selections", ("menu", "option"))
        self.no_input = counter("ivrkit_no_input", ("menu",))
        self.no_match = counter("ivrkit_no_match", ("menu",))
        self.limits = counter("ivrkit_limits", ("menu", "limit"))
        self.collects = counter("ivrkit_collects", ("menu", "field", "outcome"))
        self.recordings = counter("ivrkit_recordings", ("menu", "outcome"))
        self.recording_seconds = histogram("ivrkit_recording_seconds", _RECORDING, ("menu",))
        self.routes = counter("ivrkit_routes", ("menu", "branch"))
        self.prompts = counter("ivrkit_prompts", ("outcome",))
        self.reaction = histogram("ivrkit_reaction_seconds", _REACTION)
        self.transfers = counter("ivrkit_transfers", ("outcome",))
        self.handler_runs = counter("ivrkit_handler_runs", ("handler",))
        self.handler_errors = counter("ivrkit_handler_errors", ("handler",))
        self.handler_duration = histogram("ivrkit_handler_duration_seconds", _HANDLER, ("handler",))
        self.call_errors = counter("ivrkit_call_errors")
        self.requests = histogram(
            "ivrkit_ari_request_duration_seconds", _REQUEST, ("operation", "status")
        )
        self.ws_up = Gauge(
            "ivrkit_ari_websocket_up", _doc("ivrkit_ari_websocket_up"), registry=registry
        )
        self.reconnects = counter("ivrkit_ari_websocket_reconnects")
        self.disconnects = counter("ivrkit_ari_websocket_disconnects")
        self.loop_lag = histogram("ivrkit_event_loop_lag_seconds", _LAG)
        self._children: dict[tuple[Any, ...], Any] = {}
        for reason in TURN_AWAY_REASONS:  # at 0 from the start: rate() and alerts need it
            self._child(self.turned_away, reason)
        self._steps: dict[str, Callable[[Step], None]] = {
            "call_started": self._call_started,
            "call_ended": self._call_ended,
            "call_turned_away": lambda s: self._child(self.turned_away, s.cause).inc(),
            "menu_entered": lambda s: self._child(self.menu_entries, s.menu).inc(),
            "option_selected": lambda s: self._child(self.options, s.menu, s.option).inc(),
            "no_input": lambda s: self._child(self.no_input, s.menu).inc(),
            "no_match": lambda s: self._child(self.no_match, s.menu).inc(),
            "limit": self._limit,
            "collected": self._collect,
            "collect_no_input": self._collect,
            "collect_no_match": self._collect,
            "record_finished": self._recording,
            "routed": lambda s: self._child(self.routes, s.menu, s.cause).inc(),
            "prompt_finished": lambda s: self._child(self.prompts, "finished").inc(),
            "prompt_cut_off": self._cut_off,
            "prompt_failed": lambda s: self._child(self.prompts, "failed").inc(),
            "handler_started": lambda s: self._child(self.handler_runs, s.target).inc(),
            "handler_finished": self._handler_finished,
            "transfer_finished": lambda s: self._child(self.transfers, s.outcome).inc(),
            "error": lambda s: self.call_errors.inc(),
        }

    def _child(self, metric: Any, *values: str | None) -> Any:
        key = (id(metric), *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*(v or "" for v in values))
        return child

    # ------------------------------------------------------------ the hook

    def observe(self, record: Observation) -> None:
        if isinstance(record, Step):
            handle = self._steps.get(record.step)
            if handle is not None:
                handle(record)
        elif isinstance(record, AriRequest):
            self._child(self.requests, record.operation, record.status).observe(record.seconds)
        elif isinstance(record, Connection):
            # ivrkit_ari_websocket_up follows the client's readiness when the process links
            # it (set_function); these records only count the changes
            if record.state == "up":
                self.ws_up.set(1)
                self.reconnects.inc()
            else:
                self.ws_up.set(0)
                self.disconnects.inc()

    def loop_lag_sample(self, seconds: float) -> None:
        self.loop_lag.observe(seconds)

    # ------------------------------------------------------------ steps

    def _call_started(self, step: Step) -> None:
        self.calls_started.inc()
        self.calls_active.inc()

    def _call_ended(self, step: Step) -> None:
        self.calls_active.dec()
        self._child(self.calls_ended, step.outcome).inc()
        if step.seconds is not None:
            self.call_duration.observe(step.seconds)

    def _limit(self, step: Step) -> None:
        self._child(self.limits, step.menu, step.cause).inc()
        if step.field is not None:  # a collect's tries used up (cause collect_no_input...)
            self._child(self.collects, step.menu, step.field, "max_tries").inc()

    def _collect(self, step: Step) -> None:
        # never the entry: digits are account numbers and PINs
        outcome = _COLLECT_OUTCOMES[step.step]
        self._child(self.collects, step.menu, step.field, outcome).inc()

    def _recording(self, step: Step) -> None:
        # never the recording's name: a template, often with the call id in it
        self._child(self.recordings, step.menu, step.outcome).inc()
        if step.outcome == "ok" and step.seconds is not None:
            self._child(self.recording_seconds, step.menu).observe(step.seconds)

    def _cut_off(self, step: Step) -> None:
        self._child(self.prompts, "cut_off").inc()
        if step.cause == "key" and step.seconds is not None:
            self.reaction.observe(step.seconds)

    def _handler_finished(self, step: Step) -> None:
        if step.outcome != "ok":
            self._child(self.handler_errors, step.target).inc()
        if step.seconds is not None:
            self._child(self.handler_duration, step.target).observe(step.seconds)


__all__ = ["METRICS", "MetricsObserver"]

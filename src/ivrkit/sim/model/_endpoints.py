"""Simulated SIP/PJSIP/IAX2 endpoints: what a phone or trunk does when it is dialled,
and the ``/endpoints`` resource.

An endpoint has a behaviour (:class:`EndpointBehaviour`): ``answer`` (after ``after``
seconds of ringing, optionally hanging up ``hangup_after`` seconds later), ``busy``,
``congestion``, ``noanswer`` (rings until the dialler gives up) or ``unavailable``
(not registered: the channel cannot even be created). Each gives the causes Asterisk
20.20.1 gives for the SIP answer behind it:

=============  ========  ==================================================================
behaviour      SIP       what Asterisk reports (``res/res_pjsip.c`` ``ast_sip_hangup_sip2cause``,
                         ``main/dial.c`` ``ast_hangup_cause_to_dial_status``)
=============  ========  ==================================================================
answer         200       state Up; dial status ANSWER; a far-end hang-up is cause 16
busy           486       cause 17 "User busy" (PJSIP ``tech_cause`` 486); dial status BUSY
congestion     503       cause 34 "Circuit/channel congestion" (``tech_cause`` 503); CONGESTION
noanswer       180 only  the dialler's timeout: originate hangs up with cause 19
                         (``dial.c`` ``handle_timeout_trip``), ``Dial()`` reports NOANSWER
unavailable    none      ``ast_request`` fails (chan_pjsip: no contact, cause 3 "No route to
                         destination"): originate answers 500 "Allocation failed",
                         ``Dial()`` sets DIALSTATUS=CHANUNAVAIL
=============  ========  ==================================================================

Endpoints named by the simulated callers (``sim.call("PJSIP/alice", ...)``) exist too,
with the default behaviour (answer after 1 s). An endpoint that is not configured does
not exist: dialling it fails like ``unavailable`` (chan_pjsip "endpoint was not found").
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ivrkit.sim.model._core import ModelCore
from ivrkit.sim.model._json import event
from ivrkit.sim.model._objects import (
    RESULTS,
    Channel,
    Endpoint,
    EndpointBehaviour,
    EndpointConfigError,
    JsonDict,
)
from ivrkit.sim.model._replies import AriError, SimResponse

#: channel technologies with endpoints (the tech endpoints ``/endpoints/{tech}`` knows)
ENDPOINT_TECHS = ("PJSIP", "SIP", "IAX2")
#: result → (Q.850 cause, SIP status) of the far end's refusal
REFUSALS = {"busy": (17, 486), "congestion": (34, 503)}
#: ``ast_msg_send`` finds a message technology by the URI scheme
_MESSAGE_SCHEMES = ("pjsip", "sip", "iax2", "xmpp")


def behaviour_from(value: object, where: str = "endpoint") -> EndpointBehaviour:
    """``"busy"``, ``{"answer_after": 2}``, ``{"result": "answer", "after": 2,
    "hangup_after": 5}`` or an :class:`EndpointBehaviour`."""
    if isinstance(value, EndpointBehaviour):
        return value
    if isinstance(value, str):
        return EndpointBehaviour(result=value, after=0.0 if value in REFUSALS else 1.0)
    if not isinstance(value, Mapping):
        raise EndpointConfigError(
            f"{where}: write a behaviour name ({', '.join(RESULTS)}) or a mapping such as "
            "{answer_after: 2}"
        )
    known = {"result", "after", "answer_after", "ring_after", "hangup_after"}
    unknown = sorted(set(map(str, value)) - known)
    if unknown:
        raise EndpointConfigError(
            f"{where}: unknown field {unknown[0]!r}, expected one of {', '.join(sorted(known))}"
        )
    for key in ("after", "answer_after", "ring_after", "hangup_after"):
        item = value.get(key)
        number = isinstance(item, int | float) and not isinstance(item, bool)
        if key in value and not number and not (key == "hangup_after" and item is None):
            raise EndpointConfigError(f"{where}: {key} must be a number of seconds, not {item!r}")
    kwargs: dict[str, Any] = {}
    if "answer_after" in value:
        if "result" in value and value["result"] != "answer":
            raise EndpointConfigError(f"{where}: answer_after is for result 'answer' only")
        kwargs["result"], kwargs["after"] = "answer", value["answer_after"]
    for key in ("result", "after", "ring_after", "hangup_after"):
        if key in value:
            kwargs[key] = value[key]
    kwargs.setdefault("after", 0.0 if kwargs.get("result") in REFUSALS else 1.0)
    try:
        return EndpointBehaviour(**kwargs)
    except EndpointConfigError as exc:
        raise EndpointConfigError(f"{where}: {exc}") from exc


def split_endpoint(name: str) -> tuple[str, str]:
    """``"PJSIP/bob"`` → ``("PJSIP", "bob")``, checking the technology."""
    tech, sep, resource = name.partition("/")
    if not sep or not resource or "/" in resource:
        raise EndpointConfigError(f"endpoint {name!r} must look like PJSIP/bob")
    if tech not in ENDPOINT_TECHS:
        raise EndpointConfigError(
            f"endpoint {name!r}: the technology must be one of {', '.join(ENDPOINT_TECHS)}"
        )
    return tech, resource


def load_endpoints(path: str | Path) -> dict[str, EndpointBehaviour]:
    """Read a YAML endpoints file (``PJSIP/bob: {answer_after: 2}``, ``PJSIP/carol: busy``).

    Raises :class:`EndpointConfigError` naming the file and the entry.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise EndpointConfigError(f"failed to read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise EndpointConfigError(f"failed to parse {path}: {exc}") from exc
    except (RecursionError, ValueError, ArithmeticError, LookupError) as exc:
        # a tag that refuses its text (!!int ten, !!float ""), or nesting ~1,000 deep
        what = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise EndpointConfigError(f"failed to parse {path}: {what}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EndpointConfigError(
            f"{path}: an endpoints file maps endpoints to behaviours, e.g. 'PJSIP/bob: busy'"
        )
    out: dict[str, EndpointBehaviour] = {}
    for name, value in data.items():
        where = f"{path}: {name}"
        try:
            split_endpoint(str(name))
        except EndpointConfigError as exc:
            raise EndpointConfigError(f"{path}: {exc}") from exc
        out[str(name)] = behaviour_from(value, where)
    return out


class EndpointOps(ModelCore):
    """Endpoint configuration, the ``/endpoints`` resource and the far-end behaviour."""

    def set_endpoint(self, name: str, behaviour: object = "answer") -> Endpoint:
        """Configure (or reconfigure) ``PJSIP/bob``; see :func:`behaviour_from`."""
        tech, resource = split_endpoint(name)
        parsed = behaviour_from(behaviour, name)
        ep = self.endpoints.get(name)
        if ep is None:
            ep = self.endpoints[name] = Endpoint(tech, resource, parsed)
        else:
            was = ep.state
            ep.behaviour = parsed
            if ep.state != was:
                self._endpoint_event(ep)  # online <-> offline
        return ep

    def _caller_endpoint(self, tech_resource: str) -> None:
        """A simulated phone calls from ``PJSIP/alice``: that endpoint exists."""
        tech, _, resource = tech_resource.partition("/")
        if tech in ENDPOINT_TECHS and resource and tech_resource not in self.endpoints:
            self.endpoints[tech_resource] = Endpoint(tech, resource, EndpointBehaviour())

    def _endpoint_source_exists(self, ident: str) -> bool:
        """``endpoint:PJSIP/bob`` (that endpoint) or ``endpoint:PJSIP`` (the technology)."""
        tech, _, resource = ident.partition("/")
        if not resource:
            return tech in ENDPOINT_TECHS
        return self._find_endpoint(tech, resource) is not None

    def _endpoint_json(self, ep: Endpoint) -> JsonDict:
        prefix = ep.name + "-"
        ids = [ch.id for ch in self.channels.values() if ch.name.startswith(prefix)]
        return {
            "technology": ep.tech,
            "resource": ep.resource,
            "state": ep.state,
            "channel_ids": ids,
        }

    def list_endpoints(self) -> list[JsonDict]:
        return [self._endpoint_json(ep) for ep in self.endpoints.values()]

    def list_endpoints_by_tech(self, tech: str) -> list[JsonDict]:
        """``ast_endpoint_find_by_id(tech)`` first: an unknown technology is 404."""
        if tech.upper() not in ENDPOINT_TECHS:
            raise AriError(404, f"No Endpoints found - invalid tech {tech}")
        return [
            self._endpoint_json(ep)
            for ep in self.endpoints.values()
            if ep.tech.lower() == tech.lower()
        ]

    def _find_endpoint(self, tech: str, resource: str) -> Endpoint | None:
        for ep in self.endpoints.values():
            if ep.tech.lower() == tech.lower() and ep.resource == resource:
                return ep
        return None

    def get_endpoint(self, tech: str, resource: str) -> JsonDict:
        ep = self._find_endpoint(tech, resource)
        if ep is None:
            raise AriError(404, "Endpoint not found")
        return self._endpoint_json(ep)

    def send_message(
        self, to: str | None, sender: str | None, body: str | None, variables: object
    ) -> SimResponse:
        """``PUT /endpoints/sendMessage``: 202 "Accepted" once a message technology takes
        it (``ast_msg_send``); the simulated endpoint keeps it in ``messages``."""
        if not to:
            raise AriError(400, "To must be specified")
        values = self._message_variables(variables)
        scheme, _, rest = to.partition(":")
        if scheme.lower() not in _MESSAGE_SCHEMES or not rest:
            raise AriError(404, "Endpoint not found")
        resource = rest.split("@")[0].split("/")[0]
        ep = self._find_endpoint(scheme.upper(), resource)
        if ep is not None:
            ep.messages.append(
                {"from": sender or "", "to": to, "body": body or "", "variables": values}
            )
        return SimResponse(202, None, phrase="Accepted")

    def send_message_to_endpoint(
        self, tech: str, resource: str, sender: str | None, body: str | None, variables: object
    ) -> SimResponse:
        if self._find_endpoint(tech, resource) is None:
            raise AriError(404, "Endpoint not found")
        return self.send_message(f"{tech.lower()}:{resource}", sender, body, variables)

    def refer(
        self, to: str | None, sender: str | None, refer_to: str | None, variables: object
    ) -> SimResponse:
        """``POST /endpoints/refer``: out-of-dialog REFER, accepted like a message."""
        if not to:
            raise AriError(400, "To must be specified")
        self._message_variables(variables)
        scheme = to.partition(":")[0].lower()
        if scheme not in ("pjsip",):
            raise AriError(404, "Endpoint not found")
        return SimResponse(202, None, phrase="Accepted")

    def refer_to_endpoint(
        self, tech: str, resource: str, sender: str | None, refer_to: str | None, variables: object
    ) -> SimResponse:
        if self._find_endpoint(tech, resource) is None:
            raise AriError(404, "Endpoint not found")
        return self.refer(f"{tech.lower()}:{resource}", sender, refer_to, variables)

    @staticmethod
    def _message_variables(variables: object) -> dict[str, str]:
        """``ast_json_to_ast_variables``: only string values."""
        if variables is None:
            return {}
        if not isinstance(variables, Mapping) or not all(
            isinstance(v, str) for v in variables.values()
        ):
            raise AriError(400, "Only string values in the 'variables' object allowed")
        return {str(k): v for k, v in variables.items()}

    # -- events for applications subscribed to endpoints (res/stasis/app.c)
    def _endpoint_watchers(self, ep: Endpoint) -> list[str]:
        names = [
            app.name
            for app in self.apps.values()
            if ep.name in app.endpoint_ids or ep.tech in app.endpoint_ids
        ]
        names += [n for n in self.all_events_apps if n not in names]
        return names

    def _endpoint_channels_changed(self, ch: Channel) -> None:
        """A channel of an endpoint came or went: its snapshot changed, so subscribed
        applications get ``EndpointStateChange`` (``sub_endpoint_update_handler``)."""
        if not self.endpoints:
            return
        tech, _, rest = ch.name.partition("/")
        ep = self.endpoints.get(f"{tech}/{rest.rpartition('-')[0]}")
        if ep is not None:
            self._endpoint_event(ep)

    def _endpoint_event(self, ep: Endpoint) -> None:
        recipients = self._endpoint_watchers(ep)
        if recipients:
            body = self._endpoint_json(ep)
            ev = event("EndpointStateChange", self.timestamp(), self.asterisk_id, endpoint=body)
            self._deliver(recipients, ev)

    def endpoint_sends_text(
        self,
        name: str,
        body: str,
        *,
        sender: str | None = None,
        to: str = "sip:asterisk@127.0.0.1",
        variables: Mapping[str, str] | None = None,
    ) -> None:
        """The phone or trunk ``name`` sends an out-of-call MESSAGE: applications
        subscribed to it get ``TextMessageReceived`` (``message_received_handler``)."""
        ep = self.endpoints.get(name)
        if ep is None:
            raise EndpointConfigError(f"no endpoint {name!r}: configure it first")
        recipients = self._endpoint_watchers(ep)
        if not recipients:
            return
        message = {
            "from": sender if sender is not None else f"<sip:{ep.resource}@127.0.0.1>",
            "to": to,
            "body": body,
            "variables": dict(variables or {}),
        }
        ev = event(
            "TextMessageReceived",
            self.timestamp(),
            self.asterisk_id,
            endpoint=self._endpoint_json(ep),
            message=message,
        )
        self._deliver(recipients, ev)

    # -- the far end
    def _endpoint_for(self, tech: str, resource: str) -> Endpoint | None:
        """The endpoint a dial string names: ``bob``, ``1000@trunk``, ``trunk/1000``."""
        if tech == "IAX2":
            name = resource.split("@")[-1].split("/")[0]
        elif "@" in resource:
            name = resource.split("@", 1)[1].split("/")[0]
        else:
            name = resource.split("/")[0]
        return self.endpoints.get(f"{tech}/{name}")

    def _record_call(self, ch: Channel, outcome: str) -> None:
        ep = ch.device
        if isinstance(ep, Endpoint):
            for entry in reversed(ep.calls):
                if entry[0] == ch.name:
                    entry[1] = outcome
                    break
            else:
                ep.calls.append([ch.name, outcome])
            for listener in list(ep.listeners):
                listener(ch.name, outcome)


__all__ = [
    "ENDPOINT_TECHS",
    "REFUSALS",
    "RESULTS",
    "Endpoint",
    "EndpointBehaviour",
    "EndpointConfigError",
    "EndpointOps",
    "behaviour_from",
    "load_endpoints",
    "split_endpoint",
]

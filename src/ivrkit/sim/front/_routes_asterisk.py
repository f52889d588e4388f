"""``/asterisk`` operations: info, ping, global variables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim.front._routetable import errors, operation, query
from ivrkit.sim.model._replies import SimResponse, no_content, ok

if TYPE_CHECKING:
    from ivrkit.sim.model._model import SimModel

_ONLY = ("build", "system", "config", "status")


@operation(
    "asterisk",
    "/asterisk/info",
    "GET",
    "getInfo",
    summary="Build, system, config and status facts of the simulated Asterisk.",
    response_class="AsteriskInfo",
    params=(query("only", multiple=True, values=_ONLY),),
)
def get_info(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.asterisk_info(args.get("only")))


@operation(
    "asterisk",
    "/asterisk/ping",
    "GET",
    "ping",
    summary="Answers with the Asterisk id and the current time.",
    response_class="AsteriskPing",
)
def ping(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.ping())


@operation(
    "asterisk",
    "/asterisk/variable",
    "GET",
    "getGlobalVar",
    summary="Read one global variable.",
    response_class="Variable",
    params=(query("variable", required=True),),
    errors=errors((400, "The variable parameter is missing")),
)
def get_global_var(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok({"value": model.get_global_var(args.get("variable"))})


@operation(
    "asterisk",
    "/asterisk/variable",
    "POST",
    "setGlobalVar",
    summary="Write one global variable.",
    response_class="void",
    params=(query("variable", required=True), query("value")),
    errors=errors((400, "The variable parameter is missing")),
)
def set_global_var(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.set_global_var(args.get("variable"), args.get("value"))
    return no_content()

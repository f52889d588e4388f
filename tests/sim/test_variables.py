"""Channel variables and dialplan functions, as Asterisk 20.20.1 reads and writes them.

Each assertion names the Asterisk source it follows (``res/ari/resource_channels.c``,
``main/pbx_variables.c``, ``funcs/func_channel.c``, ``funcs/func_callerid.c``) or the
recorded trace (``protocol-catalog``: GET of an unset variable → 404 "Provided variable
was not found", missing name → 400 "Variable name is required").
"""

from __future__ import annotations

from _simari import Ari, ari_session

from ivrkit.sim import Simulator

PLAN = {"default": {"1000": ["NoOp()", "Stasis(vars)", "Hangup()"]}}


async def _status_phrase(
    ari: Ari, method: str, path: str, params: dict[str, str]
) -> tuple[int, str | None, object]:
    """Status, reason phrase and body (Asterisk has its own phrases here)."""
    url = f"{ari.sim.url}/ari/{path}"
    async with ari.session.request(method, url, params=params) as resp:
        return resp.status, resp.reason, await resp.json()


async def test_reads_follow_ast_str_retrieve_variable_and_the_functions() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("vars") as ev:
        await sim.wait_for_app("vars")
        caller = await sim.call("PJSIP/alice", "1000", caller_id="Alice <100>")
        await ev.next("StasisStart")
        cid = caller.channel_id

        async def get(name: str) -> tuple[int, object]:
            return await ari.req("GET", f"channels/{cid}/variable", {"variable": name})

        # pbx_variables.c: the predefined names come from the channel itself
        assert await get("EXTEN") == (200, {"value": "1000"})
        assert await get("CONTEXT") == (200, {"value": "default"})
        assert await get("PRIORITY") == (200, {"value": "2"})
        assert await get("CHANNEL") == (200, {"value": caller.channel_name})
        assert await get("UNIQUEID") == (200, {"value": cid})
        assert await get("HANGUPCAUSE") == (200, {"value": "0"})
        # ... compared with strcmp: the names are case-sensitive
        assert (await get("exten"))[0] == 404
        # func_callerid.c party_id_read: all is "name" <number>; num accepts num[ber]
        assert await get("CALLERID(all)") == (200, {"value": '"Alice" <100>'})
        assert await get("CALLERID(NAME)") == (200, {"value": "Alice"})
        assert await get("CALLERID(number)") == (200, {"value": "100"})
        # func_channel.c func_channel_read
        assert await get("CHANNEL(language)") == (200, {"value": "en"})
        assert await get("CHANNEL(state)") == (200, {"value": "Ring"})
        assert await get("CHANNEL(channeltype)") == (200, {"value": "PJSIP"})
        # an unknown item makes the read fail: 500 "Unable to read provided function"
        status, phrase, body = await _status_phrase(
            ari, "GET", f"channels/{cid}/variable", {"variable": "CHANNEL(nonsense)"}
        )
        assert (status, phrase, body) == (
            500,
            "Error With Function",
            {"message": "Unable to read provided function"},
        )
        # an unregistered function (names are strcmp'd: callerid is not CALLERID)
        assert (await get("callerid(num)"))[0] == 500
        # unset: 404 with Asterisk's own reason phrase (trace: protocol-catalog)
        assert await _status_phrase(
            ari, "GET", f"channels/{cid}/variable", {"variable": "NOPE"}
        ) == (404, "Variable Not Found", {"message": "Provided variable was not found"})
        # globals are looked at after the channel's own variables
        await ari.req("POST", "asterisk/variable", {"variable": "GLOBAL_ONE", "value": "g"})
        assert await get("GLOBAL_ONE") == (200, {"value": "g"})
        # a read needs no Stasis, but the channel must exist (ast_channel_get_by_name)
        assert await _status_phrase(
            ari, "GET", "channels/nope/variable", {"variable": "EXTEN"}
        ) == (404, "Channel Not Found", {"message": "Provided channel was not found"})
        assert await ari.req("GET", f"channels/{cid}/variable") == (
            400,
            {"message": "Variable name is required"},
        )
        # getChannelVars: every name, or the first error
        assert await ari.req(
            "GET", f"channels/{cid}/variables", {"variables": "EXTEN,CALLERID(num)"}
        ) == (200, {"variables": {"EXTEN": "1000", "CALLERID(num)": "100"}})
        assert (await ari.req("GET", f"channels/{cid}/variables", {"variables": "EXTEN,NOPE"}))[
            0
        ] == 404
        assert await ari.req("GET", f"channels/{cid}/variables") == (
            400,
            {"message": "At least one variable name is required"},
        )
        await caller.hangup()


async def test_writes_follow_pbx_builtin_setvar_helper() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("vars") as ev:
        await sim.wait_for_app("vars")
        caller = await sim.call("PJSIP/alice", "1000", caller_id="Alice <100>")
        await ev.next("StasisStart")
        cid = caller.channel_id

        async def set_(name: str, value: str | None = None, **extra: str) -> int:
            params = {"variable": name, **extra}
            if value is not None:
                params["value"] = value
            return (await ari.req("POST", f"channels/{cid}/variable", params))[0]

        async def get(name: str) -> tuple[int, object]:
            return await ari.req("GET", f"channels/{cid}/variable", {"variable": name})

        # a leading _ marks inheritance and is not part of the name (ast_var_name);
        # ChannelVarset carries the name as written
        assert await set_("_MENU", "main") == 204
        varset = await ev.next("ChannelVarset")
        assert (varset["variable"], varset["value"]) == ("_MENU", "main")
        assert await get("MENU") == (200, {"value": "main"})
        # no value unsets it: ChannelVarset "" because the old value was not empty
        assert await set_("MENU") == 204
        cleared = await ev.next("ChannelVarset")
        assert (cleared["variable"], cleared["value"]) == ("MENU", "")
        assert (await get("MENU"))[0] == 404
        # CHANNEL(language) changes the channel's language (func_channel_write_real)
        assert await set_("CHANNEL(language)", "fr") == 204
        assert await get("CHANNEL(language)") == (200, {"value": "fr"})
        assert (await ari.req("GET", f"channels/{cid}"))[1]["language"] == "fr"
        # CALLERID(name) changes the caller: the snapshot change is ChannelCallerId
        assert await set_("CALLERID(name)", "Alicia") == 204
        changed = await ev.next("ChannelCallerId")
        assert changed["channel"]["caller"] == {"name": "Alicia", "number": "100"}
        # a function write that fails is only logged: app_control_set_channel_var
        # answers 204 whatever pbx_builtin_setvar_helper returned
        assert await set_("NOSUCHFUNC(x)", "1") == 204
        # report_events puts the variable in the snapshot's channelvars
        assert await set_("SCORE", "7", report_events="true") == 204
        snapshot = (await ari.req("GET", f"channels/{cid}"))[1]
        assert snapshot["channelvars"] == {"SCORE": "7"}
        # setChannelVars: strings or {"value", "report_events"}; anything else is 400
        assert (
            await ari.req(
                "POST",
                f"channels/{cid}/variables",
                json_body={"variables": {"A": "1", "B": {"value": "2"}}},
            )
        )[0] == 204
        assert await ari.req("GET", f"channels/{cid}/variables", {"variables": "A,B"}) == (
            200,
            {"variables": {"A": "1", "B": "2"}},
        )
        assert await ari.req(
            "POST", f"channels/{cid}/variables", json_body={"variables": {"A": 1}}
        ) == (
            400,
            {
                "message": "Each value in 'variables' must be a string or an object with "
                "'value' and optional 'report_events'"
            },
        )
        assert await ari.req("POST", f"channels/{cid}/variables") == (
            400,
            {"message": "The 'variables' field is required"},
        )
        await caller.hangup()


async def test_a_write_needs_stasis_and_a_name() -> None:
    """find_control: 404 for no channel, 409 for a channel no app controls."""
    plan = {"default": {"1000": ["Answer()", "Echo()"]}}
    async with Simulator(dialplan=plan) as sim, ari_session(sim) as ari:
        caller = await sim.call("PJSIP/alice", "1000")
        cid = caller.channel_id
        assert await ari.req(
            "POST", f"channels/{cid}/variable", {"variable": "X", "value": "1"}
        ) == (409, {"message": "Channel not in Stasis application"})
        assert await ari.req("POST", "channels/nope/variable", {"variable": "X"}) == (
            404,
            {"message": "Channel not found"},
        )
        assert await ari.req("POST", f"channels/{cid}/variable") == (
            400,
            {"message": "Variable name is required"},
        )
        # the read works outside Stasis
        assert await ari.req("GET", f"channels/{cid}/variable", {"variable": "EXTEN"}) == (
            200,
            {"value": "1000"},
        )
        await caller.hangup()

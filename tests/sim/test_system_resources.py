"""Modules, logging, dynamic config, event filters, device states, mailboxes and bridge
extras, as Asterisk 20.20.1 answers them (``res/ari/resource_asterisk.c``,
``main/logger.c``, ``res/stasis/app.c`` ``stasis_app_event_allowed``,
``res/res_stasis_device_state.c``, ``res/ari/resource_mailboxes.c``,
``res/ari/resource_bridges.c``)."""

from __future__ import annotations

from _simari import ari_session

from ivrkit.sim import Simulator

PLAN = {"default": {"1000": ["NoOp()", "Stasis(sys)", "Hangup()"]}}


async def test_modules() -> None:
    async with Simulator() as sim, ari_session(sim) as ari:
        status, modules = await ari.req("GET", "asterisk/modules")
        assert status == 200
        names = [m["name"] for m in modules]
        assert {"res_ari.so", "chan_pjsip.so", "app_stasis.so"} <= set(names)
        assert modules[0].keys() == {"name", "description", "use_count", "status", "support_level"}
        assert await ari.req("POST", "asterisk/modules/res_ari.so") == (
            409,
            {"message": "Module is already loaded"},
        )
        assert await ari.req("POST", "asterisk/modules/res_nothing.so") == (
            409,
            {"message": "Module load declined"},
        )
        assert (await ari.req("DELETE", "asterisk/modules/app_echo.so"))[0] == 204
        assert await ari.req("GET", "asterisk/modules/app_echo.so") == (
            404,
            {"message": "Module could not be found in running modules"},
        )
        assert await ari.req("PUT", "asterisk/modules/app_echo.so") == (
            404,
            {"message": "Module not found in running modules"},
        )
        assert (await ari.req("POST", "asterisk/modules/app_echo.so"))[0] == 204


async def test_logging_channels() -> None:
    async with Simulator() as sim, ari_session(sim) as ari:
        _, channels = await ari.req("GET", "asterisk/logging")
        # logger.conf's defaults; configuration is levels[] names, each followed by a space
        assert channels == [
            {
                "channel": "",
                "type": "Console",
                "status": "Enabled",
                "configuration": "NOTICE WARNING ERROR ",
            },
            {
                "channel": "/var/log/asterisk/messages.log",
                "type": "File",
                "status": "Enabled",
                "configuration": "NOTICE WARNING ERROR ",
            },
        ]
        assert await ari.req("POST", "asterisk/logging/test.log") == (
            400,
            {"message": "Configuration levels are required"},
        )
        assert (
            await ari.req("POST", "asterisk/logging/test.log", {"configuration": "error,debug"})
        )[0] == 204
        _, channels = await ari.req("GET", "asterisk/logging")
        assert channels[-1]["configuration"] == "DEBUG ERROR "
        assert await ari.req("POST", "asterisk/logging/test.log", {"configuration": "error"}) == (
            409,
            {"message": "Log channel already exists"},
        )
        assert (await ari.req("PUT", "asterisk/logging/test.log/rotate"))[0] == 204
        # only channels added over ARI can be removed (chan->dynamic)
        assert await ari.req("DELETE", "asterisk/logging/messages.log") == (
            404,
            {"message": "Log channel does not exist"},
        )
        assert (await ari.req("DELETE", "asterisk/logging/test.log"))[0] == 204


async def test_dynamic_config_reads_pjsip_endpoints_and_refuses_writes() -> None:
    async with Simulator(endpoints={"PJSIP/bob": "answer"}) as sim, ari_session(sim) as ari:
        base = "asterisk/config/dynamic"
        status, fields = await ari.req("GET", f"{base}/res_pjsip/endpoint/bob")
        assert status == 200
        assert {"attribute": "aors", "value": "bob"} in fields
        assert await ari.req("GET", f"{base}/res_nope/endpoint/bob") == (
            404,
            {"message": "configClass 'res_nope' not found"},
        )
        assert await ari.req("GET", f"{base}/res_pjsip/endpoint/nobody") == (
            404,
            {"message": "Object with id 'nobody' not found"},
        )
        assert await ari.req("PUT", f"{base}/res_pjsip/endpoint/new") == (
            403,
            {"message": "Cannot create sorcery objects of type 'endpoint'"},
        )
        assert await ari.req("DELETE", f"{base}/res_pjsip/endpoint/bob") == (
            403,
            {"message": "Could not delete object with id 'bob'"},
        )


async def test_event_filter_holds_back_what_is_not_allowed() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("sys") as ev:
        await sim.wait_for_app("sys")
        status, app = await ari.req(
            "PUT",
            "applications/sys/eventFilter",
            json_body={"disallowed": [{"type": "ChannelVarset"}]},
        )
        assert (status, app["events_disallowed"], app["events_allowed"]) == (
            200,
            [{"type": "ChannelVarset"}],
            [],
        )
        caller = await sim.call("PJSIP/alice", "1000")
        start = await ev.next()
        assert start["type"] == "StasisStart"  # STASISSTATUS's ChannelVarset held back
        await ari.req(
            "PUT", "applications/sys/eventFilter", json_body={"allowed": [{"type": "Nope"}]}
        )
        assert await ari.req(
            "PUT", "applications/sys/eventFilter", json_body={"allowed": [{"typo": "x"}]}
        ) == (400, {"message": "Invalid format definition"})
        # an empty filter resets both lists
        assert (await ari.req("PUT", "applications/sys/eventFilter", json_body={}))[1][
            "events_allowed"
        ] == []
        await ari.req(
            "POST", f"channels/{caller.channel_id}/variable", {"variable": "A", "value": "1"}
        )
        assert (await ev.next())["type"] == "ChannelVarset"
        await caller.hangup()


async def test_device_states_and_mailboxes() -> None:
    async with (
        Simulator(dialplan=PLAN, endpoints={"PJSIP/bob": "answer"}) as sim,
        ari_session(sim) as ari,
        ari.events("sys") as ev,
    ):
        await sim.wait_for_app("sys")
        await ari.req(
            "POST", "applications/sys/subscription", {"eventSource": "deviceState:Stasis:desk"}
        )
        assert (await ari.req("PUT", "deviceStates/Stasis:desk", {"deviceState": "busy"}))[0] == 204
        changed = await ev.next("DeviceStateChanged")
        assert list(changed)[:4] == ["type", "application", "timestamp", "device_state"]
        assert changed["device_state"] == {"name": "Stasis:desk", "state": "BUSY"}
        assert await ari.req("GET", "deviceStates") == (
            200,
            [{"name": "Stasis:desk", "state": "BUSY"}],
        )
        assert await ari.req("PUT", "deviceStates/PJSIP%2Fbob", {"deviceState": "BUSY"}) == (
            409,
            {"message": "Uncontrolled device specified"},
        )
        assert await ari.req("PUT", "deviceStates/Stasis:desk", {"deviceState": "SLEEPY"}) == (
            500,
            {"message": "Unknown device"},
        )
        assert await ari.req("GET", "deviceStates/PJSIP%2Fbob") == (
            200,
            {"name": "PJSIP/bob", "state": "NOT_INUSE"},
        )
        assert (await ari.req("GET", "deviceStates/PJSIP%2Fnobody"))[1]["state"] == "INVALID"
        assert (await ari.req("DELETE", "deviceStates/Stasis:desk"))[0] == 204
        assert (await ev.next("DeviceStateChanged"))["device_state"]["state"] == "UNKNOWN"
        # mailboxes (res_mwi_external); the GET's message is Asterisk's, typo included
        assert await ari.req("GET", "mailboxes/100") == (
            404,
            {"message": "Mailbox is does not exist"},
        )
        await ari.req("PUT", "mailboxes/100", {"oldMessages": "1", "newMessages": "3"})
        assert await ari.req("GET", "mailboxes") == (
            200,
            [{"name": "100", "old_messages": 1, "new_messages": 3}],
        )
        assert (await ari.req("DELETE", "mailboxes/100"))[0] == 204
        assert await ari.req("DELETE", "mailboxes/100") == (
            404,
            {"message": "Mailbox does not exist"},
        )


async def test_endpoint_messages_and_bridge_extras() -> None:
    async with (
        Simulator(dialplan=PLAN, endpoints={"PJSIP/bob": "answer"}) as sim,
        ari_session(sim) as ari,
        ari.events("sys") as ev,
    ):
        status, _ = await ari.req(
            "PUT",
            "endpoints/PJSIP/bob/sendMessage",
            {"from": "ivr", "body": "hello"},
            json_body={"variables": {"X": "1"}},
        )
        assert status == 202
        assert sim.endpoint("PJSIP/bob").messages == [
            {"from": "ivr", "to": "pjsip:bob", "body": "hello", "variables": {"X": "1"}}
        ]
        assert await ari.req("PUT", "endpoints/sendMessage", {"from": "ivr"}) == (
            400,
            {"message": "To must be specified"},
        )
        assert await ari.req("GET", "endpoints/Foo") == (
            404,
            {"message": "No Endpoints found - invalid tech Foo"},
        )
        # bridge variables, music on hold, video source
        await sim.wait_for_app("sys")
        caller = await sim.call("PJSIP/alice", "1000")
        await ev.next("StasisStart")
        await ari.req("POST", "bridges", {"bridgeId": "b1"})
        await ari.req("POST", "bridges/b1/addChannel", {"channel": caller.channel_id})
        assert (await ari.req("POST", "bridges/b1/variable", {"variable": "V", "value": "1"}))[
            0
        ] == 204
        assert await ari.req("GET", "bridges/b1/variable", {"variable": "V"}) == (
            200,
            {"value": "1"},
        )
        assert await ari.req("GET", "bridges/b1/variable", {"variable": "W"}) == (
            404,
            {"message": "Provided variable was not found"},
        )
        assert await ari.req("GET", "bridges/nope/variables", {"variables": "V"}) == (
            404,
            {"message": "Provided bridge was not found"},
        )
        assert await ari.req("DELETE", "bridges/b1/moh") == (
            409,
            {"message": "Bridge isn't playing music"},
        )
        assert (await ari.req("POST", "bridges/b1/moh"))[0] == 204
        assert (await ari.req("DELETE", "bridges/b1/moh"))[0] == 204
        assert [h.media_uri for h in caller.heard] == ["moh:default"]
        assert await ari.req("POST", "bridges/b1/videoSource/nope") == (
            400,
            {"message": "Channel not found"},
        )
        assert (await ari.req("POST", f"bridges/b1/videoSource/{caller.channel_id}"))[0] == 204
        bridge = (await ari.req("GET", "bridges/b1"))[1]
        assert (bridge["video_mode"], bridge["video_source_id"]) == ("single", caller.channel_id)
        await caller.hangup()

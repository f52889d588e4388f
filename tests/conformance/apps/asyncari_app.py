"""The conformance app on asyncari (PyPI, Swagger-driven, AnyIO).

Same call as ``aioari_app.py``: answer, play ``sound:press-1``, on a key stop it and
play ``digits:<key>``, when that has played hang up; one JSON line per step. Connection
from the environment: ARI_URL, ARI_USER, ARI_PASSWORD.
"""

from __future__ import annotations

import json
import os
from typing import Any

import anyio
import asyncari


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def serve(client: Any, objs: Any) -> None:
    # Swagger-driven handover: a dict when the model has two Channel fields
    channel = objs["channel"] if isinstance(objs, dict) else objs
    keys = sorted(objs) if isinstance(objs, dict) else None
    say(step="StasisStart", handover=type(objs).__name__, keys=keys)
    await channel.answer()
    say(step="answered")
    prompt = await channel.play(media="sound:press-1")
    async with client.on_channel_event("ChannelDtmfReceived") as keys_pressed:
        async for _, event in keys_pressed:
            if event.channel.id == channel.id:
                break
    digit = event.digit
    say(step="dtmf", digit=digit)
    await prompt.stop()
    digits = await channel.play(media=f"digits:{digit}")
    await digits.wait_done()
    say(step="played", media=f"digits:{digit}")
    await channel.hangup()
    say(step="hungup")


async def main() -> None:
    url, user, password = os.environ["ARI_URL"], os.environ["ARI_USER"], os.environ["ARI_PASSWORD"]
    async with (
        asyncari.connect(url, "channel-aa", user, password) as client,
        client.on_channel_event("StasisStart") as starts,
    ):
        say(step="ready")
        async for objs, _ in starts:
            client.taskgroup.start_soon(serve, client, objs)


if __name__ == "__main__":
    anyio.run(main)

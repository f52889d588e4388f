"""The conformance app on aioari (PyPI, Swagger-driven, asyncio).

Answer, play ``sound:press-1``, on a key stop it and play ``digits:<key>``, when that
has played hang up. Prints one JSON line per step to stdout; the test drives the call
and reads them. Connection from the environment: ARI_URL, ARI_USER, ARI_PASSWORD.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import aioari


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def main() -> None:
    client = await aioari.connect(
        os.environ["ARI_URL"], os.environ["ARI_USER"], os.environ["ARI_PASSWORD"]
    )
    prompts: dict[str, Any] = {}

    async def on_start(objs: Any, event: dict[str, Any]) -> None:
        # Swagger-driven handover: a dict when the model has two Channel fields
        channel = objs["channel"] if isinstance(objs, dict) else objs
        say(
            step="StasisStart",
            handover=type(objs).__name__,
            keys=sorted(objs) if isinstance(objs, dict) else None,
        )
        await channel.answer()
        say(step="answered")
        prompts[channel.id] = await channel.play(media="sound:press-1")

    async def on_dtmf(channel: Any, event: dict[str, Any]) -> None:
        digit = event["digit"]
        say(step="dtmf", digit=digit)
        await prompts.pop(channel.id).stop()
        digits = await channel.play(media=f"digits:{digit}")

        async def finished(playback: Any, event: dict[str, Any]) -> None:
            say(step="played", media=event["playback"]["media_uri"])
            await channel.hangup()
            say(step="hungup")

        digits.on_event("PlaybackFinished", finished)

    client.on_channel_event("StasisStart", on_start)
    client.on_channel_event("ChannelDtmfReceived", on_dtmf)
    say(step="ready")
    await client.run(apps="channel-aa")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)

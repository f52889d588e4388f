"""The voicemail's on_end handler: file the message the caller left.

A real system would notify the mailbox owner or move the file to their folder; here
the message is added to MAILBOX (what the tests read) and logged.
"""

from __future__ import annotations

import logging

from ivrkit.ivr import HandlerCall

logger = logging.getLogger("examples.voicemail")

MAILBOX: list[dict[str, str]] = []


async def file_message(call: HandlerCall, digits: str) -> None:
    message = call.data.get("message")
    if not message:
        return  # the caller left before the tone: nothing to file
    entry = {"from": str(call.data.get("caller_number", "")), "recording": str(message)}
    MAILBOX.append(entry)
    logger.info("voicemail: filed %s from %s", entry["recording"], entry["from"] or "unknown")

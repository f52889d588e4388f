"""Handlers of the bank line (bank.yaml): the balance lookup.

A real line would ask a core-banking API here; the accounts below stand in for it, with
one that answers slowly (the filler plays) and one whose lookup breaks (on_error runs).
"""

from __future__ import annotations

import asyncio

from ivrkit.ivr import HandlerCall, steps

ACCOUNTS = {
    "123456": {"pin": "1234", "balance": 1500},
    "654321": {"pin": "4321", "balance": -75},
    "777777": {"pin": "7777", "balance": 42, "slow": 3.0},
}
BROKEN = "999999"


async def lookup(call: HandlerCall, digits: str) -> steps.Step:
    account = str(call.data.get("account", ""))
    if account == BROKEN:
        raise ConnectionError("core banking is down")
    record = ACCOUNTS.get(account)
    if record is None or record["pin"] != call.data.get("pin"):
        return steps.Goto("denied")
    await asyncio.sleep(float(record.get("slow", 0)))
    balance = int(record["balance"])
    if balance < 0:
        call.data["owed"] = -balance
        return steps.Goto("overdrawn")
    call.data["balance"] = balance
    return steps.Goto("balance")

"""The public surface of ivrkit.ivr is explicit (STYLE.md conventions 3)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import ivrkit.ivr as ivr


def test_all_is_sorted_and_matches_the_public_names() -> None:
    public = {
        n for n in dir(ivr) if not n.startswith("_") and not inspect.ismodule(getattr(ivr, n))
    }
    assert ivr.__all__ == sorted(ivr.__all__, key=str)
    assert set(ivr.__all__) == public


def test_exported_classes_claim_the_package() -> None:
    for name in ivr.__all__:
        obj = getattr(ivr, name)
        if isinstance(obj, type) or inspect.isfunction(obj):
            assert obj.__module__ == "ivrkit.ivr", name


@pytest.mark.parametrize(
    "cls",
    [ivr.DigitReceived, ivr.PlayPrompt, ivr.CallStarted, ivr.StartTimer, ivr.CommandFailed],
)
def test_events_and_commands_are_frozen_slotted_keyword_only(cls: type) -> None:
    assert "__slots__" in cls.__dict__
    params = dataclasses.fields(cls)
    assert all(f.kw_only for f in params)
    with pytest.raises(TypeError):
        cls("positional")
    instance = {
        ivr.DigitReceived: lambda: ivr.DigitReceived(digit="1"),
        ivr.PlayPrompt: lambda: ivr.PlayPrompt(playback_id="p", media="sound:x"),
        ivr.CallStarted: lambda: ivr.CallStarted(channel_name="c"),
        ivr.StartTimer: lambda: ivr.StartTimer(timer_id="t", seconds=1, deadline=1),
        ivr.CommandFailed: lambda: ivr.CommandFailed(command=ivr.Answer(), reason="r"),
    }[cls]()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(instance, params[0].name, "changed")

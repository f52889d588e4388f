"""ivrkit.caller's public names: exactly `__all__`, sorted, each owned by the package."""

from __future__ import annotations

import ivrkit.caller


def test_all_is_sorted_and_complete() -> None:
    names = ivrkit.caller.__all__
    assert names == sorted(names)
    # isidentifier: pytest's assertion rewriting (it rewrites every package of a plugin's
    # distribution, so all of ivrkit) adds "@py_builtins" to modules that assert
    public = {n for n in vars(ivrkit.caller) if n.isidentifier() and not n.startswith("_")}
    assert public == set(names)
    for name in names:
        # the script format is ivrkit.callscript's, shared with ivrkit sim (issue 11)
        module = getattr(ivrkit.caller, name).__module__
        assert module in ("ivrkit.caller", "ivrkit.callscript"), name

"""Warnings about a valid tree: what loads but cannot be what the author meant.

Two checks (``ivrkit check`` prints them; they never stop a menu from loading):

* **unreachable menus**: no action of the file (options, limits, errors, hooks, collects'
  and records' ``then``, routes' rules) goes to the menu, so no call can reach it, except
  through a handler's ``Goto``; the message says so, since only the author knows.
* **spinning menus**: a menu that plays nothing, waits less than ``SPIN_SECONDS`` for a
  key and plays nothing on silence either goes round again at once, forever (the issue
  that led here: ``timeout: 0.01`` plus ``on_limit: handler`` printed "silence" about 100
  times a second). Its limit is followed too: a limit that leads to another such menu
  (or back) spins the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

from ivrkit.ivr._menu import (
    Action,
    BackAction,
    GotoAction,
    HandlerAction,
    Menu,
    MenuTree,
    TopAction,
    nested_actions,
)

SPIN_SECONDS = 1.0
"""A menu that waits less than this, playing nothing, counts as not waiting at all."""


def tree_warnings(tree: MenuTree) -> list[tuple[str, str]]:
    """(dotted field, message) for each warning, in file order."""
    out: list[tuple[str, str]] = []
    reached = _reachable(tree)
    uses_handlers = any(isinstance(a, HandlerAction) for _, a in _all_actions(tree))
    for name in tree.menus:
        if name not in reached:
            hint = (
                " (if a handler returns Goto to it, name it in that handler's `goes_to`)"
                if uses_handlers
                else ""
            )
            out.append(
                (f"menus.{name}", f"no call can reach menu `{name}`: nothing goes to it{hint}")
            )
    for name, menu in tree.menus.items():
        if _silent(menu):
            limit = menu.on_limit
            ends = menu.max_no_input is not None and not _leads_to_silence(tree, limit, name)
            if not ends:
                rate = min(1000, round(1 / menu.timeout)) if menu.timeout > 0 else 1000
                out.append(
                    (
                        f"menus.{name}.timeout",
                        f"menu `{name}` plays nothing and waits only {menu.timeout:g} s for a "
                        f"key, then goes round again: a call here spins (about {rate} rounds a "
                        "second) and never ends; give it a greeting, a no_input prompt or a "
                        f"timeout of {SPIN_SECONDS:g} s or more",
                    )
                )
    return out


def _silent(menu: Menu) -> bool:
    greetings = (
        menu.greeting,
        menu.regreeting_prompts,
        *(m for _, m in menu.later.get("greeting", ())),
    )
    no_inputs = (menu.no_input, *(m for _, m in menu.later.get("no_input", ())))
    return menu.timeout < SPIN_SECONDS and not any(greetings) and not any(no_inputs)


def _leads_to_silence(tree: MenuTree, action: Action, here: str) -> bool:
    """True if ``action`` (a silent menu's limit) brings the call back into silence."""
    if isinstance(action, HandlerAction | BackAction):
        return True  # a handler returning None, or back from the start: this menu again
    if isinstance(action, TopAction):
        return here == tree.start or _silent(tree.menus[tree.start])
    if isinstance(action, GotoAction):
        return action.menu == here or _silent(tree.menus[action.menu])
    return False


def _all_actions(tree: MenuTree) -> Iterator[tuple[str, Action]]:
    stack: list[tuple[str, Action]] = []
    for where, action in (("on_start", tree.on_start), ("on_error", tree.on_error)):
        if action is not None:
            stack.append((where, action))
    for name, menu in tree.menus.items():
        base = f"menus.{name}"
        stack.append((f"{base}.on_limit", menu.on_limit))
        if menu.on_error is not None:
            stack.append((f"{base}.on_error", menu.on_error))
        stack.extend((f"{base}.options.{i}", o.action) for i, o in enumerate(menu.options))
    while stack:
        where, action = stack.pop()
        yield where, action
        stack.extend(nested_actions(action, where))


def _reachable(tree: MenuTree) -> set[str]:
    targets: dict[str, set[str]] = {name: set() for name in tree.menus}
    entry = {tree.start}
    for where, action in _all_actions(tree):
        gone = (
            (action.menu,)
            if isinstance(action, GotoAction)
            else action.goes_to
            if isinstance(action, HandlerAction)
            else ()
        )
        for menu in gone:
            if where.startswith("menus."):
                targets[where.split(".")[1]].add(menu)
            else:  # on_start, the file's on_error: from anywhere
                entry.add(menu)
    seen: set[str] = set()
    todo = list(entry)
    while todo:
        name = todo.pop()
        if name in seen or name not in tree.menus:
            continue
        seen.add(name)
        todo.extend(targets[name])
    return seen


__all__ = ["SPIN_SECONDS", "tree_warnings"]

"""ivrkit.ivr: a sans-I/O menu engine for voice applications.

``CallMachine(tree, call_id).handle(event, now)`` turns facts about one call into orders;
``load_menu_file(path)`` reads a validated ``MenuTree`` from YAML. Driving a machine over
ARI is ``ivrkit.ivr.runner`` (imported on its own, so this package stays free of aiohttp).
"""

from ivrkit.ivr._commands import (
    Answer,
    CancelHandler,
    CancelTimer,
    Command,
    ContinueInDialplan,
    Hangup,
    Log,
    Note,
    PlayPrompt,
    ReportError,
    RunEndHook,
    RunHandler,
    SetLanguage,
    StartTimer,
    StopPrompt,
    Transfer,
)
from ivrkit.ivr._events import (
    CallerHungUp,
    CallResumed,
    CallStarted,
    CommandFailed,
    DigitReceived,
    Event,
    HandlerFinished,
    PromptFailed,
    PromptFinished,
    PromptStarted,
    TimerExpired,
)
from ivrkit.ivr._exceptions import (
    CheckpointError,
    IllegalEventError,
    IvrError,
    MachineError,
    MenuDefinitionError,
    MenuProblem,
)
from ivrkit.ivr._handler_call import HandlerCall
from ivrkit.ivr._loader import ATTENDANT_MENU, load_menu, load_menu_file, resolve_handlers
from ivrkit.ivr._machine import CallMachine
from ivrkit.ivr._menu import (
    Action,
    BackAction,
    CallData,
    ContinueAction,
    Filler,
    GotoAction,
    HandlerAction,
    HangupAction,
    Menu,
    MenuTree,
    Option,
    PlayAction,
    TopAction,
    Transcript,
    TransferAction,
)
from ivrkit.ivr._state import CallState

__all__ = [
    "ATTENDANT_MENU",
    "Action",
    "Answer",
    "BackAction",
    "CallData",
    "CallMachine",
    "CallResumed",
    "CallStarted",
    "CallState",
    "CallerHungUp",
    "CancelHandler",
    "CancelTimer",
    "CheckpointError",
    "Command",
    "CommandFailed",
    "ContinueAction",
    "ContinueInDialplan",
    "DigitReceived",
    "Event",
    "Filler",
    "GotoAction",
    "HandlerAction",
    "HandlerCall",
    "HandlerFinished",
    "Hangup",
    "HangupAction",
    "IllegalEventError",
    "IvrError",
    "Log",
    "MachineError",
    "Menu",
    "MenuDefinitionError",
    "MenuProblem",
    "MenuTree",
    "Note",
    "Option",
    "PlayAction",
    "PlayPrompt",
    "PromptFailed",
    "PromptFinished",
    "PromptStarted",
    "ReportError",
    "RunEndHook",
    "RunHandler",
    "SetLanguage",
    "StartTimer",
    "StopPrompt",
    "TimerExpired",
    "TopAction",
    "Transcript",
    "Transfer",
    "TransferAction",
    "load_menu",
    "load_menu_file",
    "resolve_handlers",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or (callable(_obj) and hasattr(_obj, "__code__")):
        _obj.__module__ = "ivrkit.ivr"
del _name, _obj

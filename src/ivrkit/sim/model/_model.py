"""Pure in-memory Asterisk: channels, playbacks, bridges and applications on a clock.

Theory of operation
-------------------
The model is synchronous and knows nothing about HTTP or websockets. Time comes from a
:class:`Scheduler` (an asyncio loop satisfies it: ``time()`` and ``call_at()``), so under
``VirtualTimeEventLoop`` a 30 s prompt takes no wall time. Every state change emits ARI
events through :meth:`SimModel._emit`, which hands each event to the *sink* of every
connected application that should see it (the websocket writer in ``_app``).

Who sees an event (as in the recorded traces):

1. the application whose ``Stasis()`` the channel is in, from ``StasisStart`` up to and
   including ``StasisEnd`` (so a dialplan app never sees ``ChannelDestroyed``);
2. applications explicitly subscribed to the channel: the app given to ``originate``
   (for a Local channel: to both halves) and ``POST /applications/{app}/subscription``.

Invariants:

1. a channel is in ``self.channels`` until its ``ChannelDestroyed`` has been emitted;
2. at most one playback per target is ``playing``/``paused``; the others wait in order;
3. every timer the model starts is cancelled when its owner goes away, so a hung-up
   call leaves no callbacks behind (``stats()`` goes back to zero).

Hang-up orderings follow the traces; see ``_hangup`` for the exact sequence.
"""

from __future__ import annotations

from ivrkit.sim.model._bridge_extras import BridgeExtraOps
from ivrkit.sim.model._bridges import BridgeOps
from ivrkit.sim.model._broadcast import BroadcastOps
from ivrkit.sim.model._control_thread import ControlThreadOps
from ivrkit.sim.model._objects import (
    ASTERISK_ID,
    ASTERISK_VERSION,
    CAUSE_TEXT,
    HANGUP_CAUSES,
    Application,
    Bridge,
    Channel,
    ChannelObserver,
    Playback,
    Scheduler,
    Sink,
    parse_caller_id,
)
from ivrkit.sim.model._outbound import OutboundOps
from ivrkit.sim.model._playbacks import PlaybackOps
from ivrkit.sim.model._recordings import RecordingOps
from ivrkit.sim.model._states import StateOps
from ivrkit.sim.model._system import SystemOps
from ivrkit.sim.model._variables import VariableOps


class SimModel(
    OutboundOps,
    VariableOps,
    PlaybackOps,
    BridgeOps,
    BridgeExtraOps,
    RecordingOps,
    StateOps,
    SystemOps,
    BroadcastOps,
    ControlThreadOps,
):
    """The simulated Asterisk. All public methods raise :class:`AriError` on bad input.

    Parts: :class:`~ivrkit.sim.model._core.ModelCore` (state, clock, delivery,
    applications), :class:`~ivrkit.sim.model._channels.ChannelOps`,
    :class:`~ivrkit.sim.model._playbacks.PlaybackOps` and
    :class:`~ivrkit.sim.model._bridges.BridgeOps`.
    """


__all__ = [
    "ASTERISK_ID",
    "ASTERISK_VERSION",
    "CAUSE_TEXT",
    "HANGUP_CAUSES",
    "Application",
    "Bridge",
    "Channel",
    "ChannelObserver",
    "Playback",
    "Scheduler",
    "SimModel",
    "Sink",
    "parse_caller_id",
]

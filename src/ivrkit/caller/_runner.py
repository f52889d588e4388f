"""Place one call over plain ARI, run a script against it, and report what happened.

Theory of operation
-------------------
The caller is an ordinary ARI application (default name ``ivrkit-caller``). It opens an
:class:`~ivrkit.ari.AriClient` for its app, then originates ``Local/EXTEN@CONTEXT``
with ``app=<our app>``, ``channelId=<one>`` and ``otherChannelId=<two>``, both chosen
here (Asterisk accepts both, ../shared/asterisk-traces protocol-catalog step 17). The
``;2`` half runs the dialplan (e.g. ``Stasis(channel-aa)``); when it is answered, ``;1``
enters our app. Keys are sent with ``POST /channels/{one}/dtmf`` (``;1`` must be in
Stasis, else 409), and reach the far side as ``ChannelDtmfReceived`` on ``;2``; we hang
up with ``DELETE /channels/{one}``. Nothing here knows whether the server is a real
Asterisk or the simulator.

Invariants:
1. Every event handler is registered before the originate request is sent, so the
   first events of the call (sent by Asterisk before the HTTP answer) are recorded.
2. The steps run one at a time, each bounded by the script's ``step_timeout`` (plus its
   own length for ``wait``/``silence``); the first failing step stops the script and
   the rest are reported ``not_run``.
3. The call never outlives :func:`place_call`: if it is still up after the steps, the
   caller hangs up (``after_script`` in the report) and waits for both halves to be
   destroyed (at most ``END_WAIT`` seconds) before closing the client. When
   :func:`place_call` is cancelled (Ctrl-C) it hangs up too, within
   ``CANCEL_HANGUP_TIMEOUT`` seconds, and then lets the cancellation through.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Literal

from ivrkit.ari import (
    AriClient,
    AriError,
    CallScope,
    ConnectionConfig,
    Event,
    NotFound,
    StasisStart,
    Transport,
)
from ivrkit.caller._farside import CallOver, FarSide
from ivrkit.caller._report import (
    CallReport,
    DtmfSent,
    HangupInfo,
    HeardMedia,
    StepResult,
    StepStatus,
    outcome,
)
from ivrkit.callscript import (
    DEFAULT_PHONE,
    DTMF_CHARS,
    QUIET_SETTLE,
    CallScript,
    MediaCursor,
    Step,
)

#: how long to wait for both halves to be destroyed after the last step
END_WAIT = 5.0
#: how long a cancelled call may take to hang up before the client closes anyway
CANCEL_HANGUP_TIMEOUT = 2.0
#: how often ``wait_for_app`` asks ``GET /applications/{name}``
APP_POLL_INTERVAL = 0.25


class CallerError(Exception):
    """The call could not be placed: no connection, wrong credentials, originate refused.

    ``headline`` says what failed, ``cause`` the server's or the network's reason.
    """

    def __init__(self, headline: str, cause: str) -> None:
        super().__init__(f"{headline}: {cause}")
        self.headline = headline
        self.cause = cause


class _Call:
    """One run of a script; owns the bookkeeping that becomes the report."""

    def __init__(
        self,
        client: AriClient,
        script: CallScript,
        far: FarSide,
        progress: Callable[[str], None],
    ) -> None:
        self.client = client
        self.script = script
        self.far = far
        self.progress = progress
        self.app = client.config.apps[0]
        self.endpoint = f"Local/{script.exten}@{script.context}"
        self.loop = asyncio.get_running_loop()
        self.t0: float | None = None
        self.caller_hangup_at: float | None = None
        self.after_script = False
        self.dtmf: list[DtmfSent] = []
        self.results: list[StepResult] = []
        # which playback a wait_for/heard means (ivrkit.callscript._media): after the
        # previous step, and after the record the previous wait_for/heard matched
        self.cursor = MediaCursor()

    def rel(self, at: float | None) -> float | None:
        if at is None or self.t0 is None:
            return None
        return round(at - self.t0, 3)

    # -- the call ----------------------------------------------------------------------

    async def originate(self) -> None:
        self.progress(f"calling {self.endpoint} from ARI app {self.app!r}")
        if self.script.phone != DEFAULT_PHONE:
            self.progress(
                f"call.from {self.script.phone} is the simulated phone of ivrkit sim/demo; "
                "over ARI the call comes from a Local channel of our app"
            )
        self.t0 = self.loop.time()
        self.cursor.step_ended(self.t0)
        try:
            await self.client.channels.originate(
                self.endpoint,
                app=self.app,
                caller_id=self.script.caller_id,
                channel_id=self.far.one,
                other_channel_id=self.far.two,
            )
        except AriError as exc:
            raise CallerError(f"can't originate {self.endpoint}", str(exc)) from exc

    async def run(self) -> CallReport:
        placed = False
        failed = False
        for step in self.script.steps:
            if failed:
                self.results.append(StepResult(step.line, step.describe(), "not_run"))
                continue
            if not placed and step.kind != "wait_for_app":
                await self.originate()
                placed = True
            limit = self.script.step_timeout + step.seconds
            try:
                async with asyncio.timeout(limit):
                    detail = await self.run_step(step)
            except TimeoutError:
                failed = True
                detail = f"not done within {limit:g} s ({self.heard_so_far()})"
            except CallOver as exc:
                failed = True
                detail = f"{exc} ({self.heard_so_far()})"
            except AriError as exc:
                failed = True
                detail = f"the request failed: {exc}"
            self.cursor.step_ended(self.loop.time())
            status: StepStatus = "failed" if failed else "passed"
            at = self.rel(self.loop.time())
            self.results.append(StepResult(step.line, step.describe(), status, at, detail))
            where = f"{self.script.source}:{step.line}" if step.line else self.script.source
            self.progress(f"{where}: {step.describe()}: {status}" + (f": {detail}" * failed))
        if not placed:  # only wait_for_app steps, or the first one failed
            return self.report()
        await self.finish()
        return self.report()

    async def finish(self) -> None:
        """Invariant 3: hang up what is left, then wait for both halves to go."""
        far = self.far
        if not far.destroyed and self.caller_hangup_at is None:
            self.after_script = True
            self.caller_hangup_at = self.loop.time()
            try:
                await self.client.hangup_quietly(far.one)
            except AriError as exc:
                self.progress(f"hanging up after the script failed: {exc}")
        try:
            async with asyncio.timeout(END_WAIT):
                await far.wait_until(
                    lambda: (
                        far.lost is not None
                        or (far.one in far.destroyed and far.two in far.destroyed)
                    )
                )
        except TimeoutError:
            self.progress(f"the call's channels were not all destroyed within {END_WAIT:g} s")

    def heard_so_far(self) -> str:
        media = [m.media_uri for m in self.far.media[-6:]]
        more = "..., " if len(self.far.media) > 6 else ""
        return f"heard so far: {more}{', '.join(media) or 'nothing'}"

    # -- steps -------------------------------------------------------------------------

    async def run_step(self, step: Step) -> str:
        far = self.far
        if step.kind == "wait_for_app":
            return await self.wait_for_app(step.app)
        cursor = self.cursor
        if step.kind == "wait_for":
            await far.wait_until(
                lambda: far.ended or cursor.find_start(far.media, step.media) is not None
            )
            index = cursor.find_start(far.media, step.media)
            if index is None:
                raise CallOver(far.lost or f"the call ended before {step.media} started")
            cursor.matched(index, by_start=True)
            record = far.media[index]
            return f"{record.media_uri} started at {self.rel(record.start):.3f} s"
        if step.kind == "heard":
            await far.wait_until(
                lambda: far.ended or cursor.find_heard(far.media, step.media) is not None
            )
            found = cursor.find_heard(far.media, step.media)
            if found is None:
                raise CallOver(far.lost or f"the call ended before {step.media} started")
            record = await far.wait_ended(found)
            cursor.matched(found, by_start=False)
            if record.end is None:
                raise CallOver(far.lost or f"the call ended while {record.media_uri} was playing")
            how = outcome(record.state, record.start, record.end, far.keys_received, None)
            return f"{record.media_uri} ended at {self.rel(record.end):.3f} s ({how})"
        if step.kind == "press":
            return await self.press(step)
        if step.kind == "wait":
            await asyncio.sleep(step.seconds)
            return ""
        if step.kind == "silence":
            quiet_since = await far.wait_quiet(QUIET_SETTLE)
            if far.lost:
                raise CallOver(far.lost)
            delay = quiet_since + step.seconds - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            return f"quiet from {self.rel(quiet_since):.3f} s"
        if step.kind == "hangup":
            if far.ended:
                raise CallOver(far.lost or "the far end had already hung up")
            self.caller_hangup_at = self.loop.time()
            if not await self.client.hangup_quietly(far.one):
                raise CallOver("the far end had already hung up")
            return ""
        assert step.kind == "wait_for_hangup", step.kind
        await far.wait_ended_call()
        return ""

    async def wait_for_app(self, app: str) -> str:
        """Until ``GET /applications/{app}`` answers: that app has a websocket open."""
        while True:
            try:
                await self.client.applications.get(app)
            except NotFound:
                await asyncio.sleep(APP_POLL_INTERVAL)
                continue
            return f"ARI app {app!r} is connected"

    async def press(self, step: Step) -> str:
        far = self.far
        await far.wait_answered()  # DTMF on a channel not (yet) in Stasis answers 409
        before = len(far.keys_received)
        expected = before + sum(1 for c in step.digits if c in DTMF_CHARS)
        sent_at = self.loop.time()
        self.progress(f"pressing {step.digits}")
        try:
            await self.client.channels.send_dtmf(
                far.one, step.digits, duration=step.duration_ms, between=step.between_ms
            )
        finally:
            # recorded even if the far side never gets them: the report shows the attempt
            self.dtmf.append(DtmfSent(step.digits, sent_at, (), step.line))
        await far.wait_keys(expected)
        received = tuple(at for _, at in far.keys_received[before:expected])
        self.dtmf[-1] = DtmfSent(step.digits, sent_at, received, step.line)
        return f"received at {', '.join(f'{self.rel(t):.3f}' for t in received)} s"

    # -- report ------------------------------------------------------------------------

    def report(self) -> CallReport:
        far = self.far
        hangup_at = far.hangup_seen_at
        by: Literal["caller", "far_end"] | None = None
        at: float | None = None
        if self.caller_hangup_at is not None and (
            hangup_at is None or self.caller_hangup_at <= hangup_at
        ):
            by, at = "caller", self.caller_hangup_at
        elif hangup_at is not None:
            by, at = "far_end", hangup_at
        destroyed = far.destroyed.get(far.two) or far.destroyed.get(far.one)
        hangup = HangupInfo(
            by=by,
            at=self.rel(at),
            cause=destroyed.cause if destroyed else None,
            cause_txt=destroyed.cause_txt if destroyed else "",
            after_script=self.after_script and by == "caller",
        )
        ended = max((d.at for d in far.destroyed.values()), default=None)
        media = tuple(
            HeardMedia(
                media_uri=m.media_uri,
                playback_id=m.playback_id,
                start=self.rel(m.start) or 0.0,
                end=self.rel(m.end),
                outcome=outcome(m.state, m.start, m.end, far.keys_received, at),
            )
            for m in far.media
        )
        dtmf = tuple(
            DtmfSent(
                d.digits,
                self.rel(d.sent_at) or 0.0,
                tuple(self.rel(t) or 0.0 for t in d.received_at),
                d.line,
            )
            for d in self.dtmf
        )
        return CallReport(
            source=self.script.source,
            endpoint=self.endpoint,
            app=self.app,
            channel_id=far.one,
            far_channel_id=far.two,
            answered_at=self.rel(far.answered_at),
            duration=self.rel(ended),
            media=media,
            dtmf=dtmf,
            hangup=hangup,
            steps=tuple(self.results),
        )


async def place_call(
    config: ConnectionConfig,
    script: CallScript,
    *,
    progress: Callable[[str], None] | None = None,
    transport: Transport | None = None,
) -> CallReport:
    """Connect as ``config.apps[0]``, place the call, run ``script``, return the report.

    Raises :class:`CallerError` when the call cannot be placed at all (connection,
    credentials, originate refused). A step that fails is *not* an exception: it is in
    the report (``report.passed`` is False, ``report.failed_step`` says which).
    """
    loop = asyncio.get_running_loop()
    client = AriClient(config, transport=transport)
    one, two = client.new_id("caller"), client.new_id("far")
    far = FarSide(one, two, loop.time)
    client.on(Event, far.feed)  # the far half's events and ours outside Stasis

    def setup(scope: CallScope, start: StasisStart) -> None:
        if scope.channel_id == one:
            scope.on(Event, far.feed)  # ;1 in our app: StasisStart (answered) and on

    client.on_call(setup)
    try:
        async with client:
            call = _Call(client, script, far, progress or (lambda line: None))
            try:
                return await call.run()
            except asyncio.CancelledError:
                # Ctrl-C (or a caller's timeout): still don't leave the call up in
                # Asterisk (invariant 3); bounded, and the cancellation goes on
                if call.t0 is not None and not far.destroyed:
                    with contextlib.suppress(AriError, TimeoutError):
                        async with asyncio.timeout(CANCEL_HANGUP_TIMEOUT):
                            await client.hangup_quietly(one)
                raise
    except AriError as exc:
        raise CallerError(
            f"can't connect to ARI at {config.ari_url} as app {config.apps[0]!r}", str(exc)
        ) from exc

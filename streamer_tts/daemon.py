"""`bot.py run`: build the owners, run until SIGINT/SIGTERM, stop cleanly.

Owners: the conductor task (admission core and journal), the player (feed,
output, engines), the Twitch bot (its sockets). Adapters only submit events
to the conductor. SIGTERM/SIGINT: stop taking events, let the message playing
finish up to `daemon.stop_grace_seconds`, keep the rest in the journal, close
every socket, exit 0. SIGHUP: reload the config's rules, keeping the queue;
the new rules and volume go through the conductor's inbox like any event,
so only its task ever changes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import logs, systemd
from .audio.noise import filter_native_stderr
from .audio.outputs import OutputError, native_rate
from .audio.player import Player
from .audio.voices import build_voices
from .conductor import Conductor
from .config import Config, ConfigError, load_config, secrets_of, to_rules
from .core.admission import MAX_SEEN_IDS, Admission
from .core.nicknames import Lexicon
from .health import Health
from .inbox import Reload, Wake
from .journal import RESTART_REASON, Journal, JournalError, plan_restore
from .limiter import aiolimiter_gate
from .speech.base import Engine, EngineConfigError
from .speech.build import build_engines

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .api.server import ControlApi
    from .core.rules import Rules
    from .twitch.bot import TTSBot
    from .twitch.runner import TwitchRunner

__all__ = ["Daemon", "StartupError", "run_daemon", "serve", "state_dir"]

log = logging.getLogger(__name__)
MISSING_DEVICE_RATE_HZ = 48000  # the commonest device rate: the server resamples if not
DEFAULT_RATE_HZ = 22050  # files and `none`: Piper's own rate, no resampling


def _device_rate(spec: str) -> int:
    """The device's own rate; a device missing at start (unplugged, no sound
    server yet) is waited for at `MISSING_DEVICE_RATE_HZ`."""
    try:
        return native_rate(spec, fallback_hz=DEFAULT_RATE_HZ)
    except OutputError as e:
        if spec.strip().lower().startswith("file:"):
            raise
        log.warning("%s; waiting for it at %d Hz", e, MISSING_DEVICE_RATE_HZ)
        return MISSING_DEVICE_RATE_HZ


class StartupError(Exception):
    """A problem found at start that the streamer must fix (exit 2)."""


def state_dir(config: Config) -> Path:
    """`daemon.state_dir`, or the XDG state directory."""
    if config.daemon.state_dir:
        return Path(config.daemon.state_dir).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "streamer-tts"


class Daemon:
    def __init__(
        self,
        config: Config,
        *,
        output: str | None = None,
        journal: Journal | None = None,
        engines: list[Engine] | None = None,
    ) -> None:
        # The device callback is a Python thread: with the default 5 ms switch
        # interval, busy threads (Piper's, the bot's) can starve it into
        # underflows; 1 ms keeps it fed.
        sys.setswitchinterval(0.001)
        self.config = config
        self.journal = journal
        banned = journal.bans() if journal is not None else ()
        said, nicknames = journal.lexicon() if journal is not None else ({}, {})
        voices = journal.voices() if journal is not None else {}
        self.admission = Admission(
            to_rules(config),
            aiolimiter_gate,
            banned=banned,
            lexicon=Lexicon(said, nicknames),
            voices=voices,
        )
        audio = config.audio
        spec = output or audio.output
        rate = audio.sample_rate or _device_rate(spec)
        self.player = Player(
            engines=(base := engines or build_engines(config, sample_rate=rate)),
            output=spec,
            sample_rate=rate,
            gap_ms=audio.gap_ms,
            volume=audio.volume,
            loudness_lufs=audio.loudness_lufs,
            max_message_seconds=audio.max_message_seconds,
            retries=config.engine.retries,
            frames_per_buffer=audio.frames_per_buffer,
            max_preroll_ms=audio.max_preroll_ms,
            voices=build_voices(config, base, sample_rate=rate),
            wait_for_device=True,  # a device missing at start is waited for, not fatal
        )
        self.conductor = Conductor(self.admission, self.player, journal=journal)
        self.api: Any = None  # the control API, once serving
        self.task: asyncio.Task[None] | None = None

    def restore(self) -> int:
        """Queue again what a previous run accepted and did not finish."""
        journal = self.journal
        if journal is None:
            return 0
        self.admission.remember(journal.seen_ids(MAX_SEEN_IDS))
        plan = plan_restore(
            journal.pending(),
            journal.interrupted(),
            now=asyncio.get_running_loop().time(),
            wall_now_s=time.time(),
            replay_interrupted_free=self.config.queue.replay_interrupted_free,
        )
        for m in plan.drop:
            journal.mark_dropped(m.id, RESTART_REASON)
            logs.emit(logs.TTS_DROPPED, id=m.id, reason=RESTART_REASON)
        for message_id in plan.rewind:
            journal.requeue(message_id)
        self.admission.restore(plan.requeue)
        held = journal.held()  # still waiting for a moderator's OK
        self.admission.restore_held(held, asyncio.get_running_loop().time())
        if plan.requeue:
            logs.emit(logs.TTS_RESTORED, count=len(plan.requeue), ids=[m.id for m in plan.requeue])
        if held:
            logs.emit(logs.TTS_RESTORED, count=len(held), ids=[m.id for m in held], held=True)
        return len(plan.requeue)

    async def start(self) -> None:
        try:
            await self.player.start()
        except (EngineConfigError, OutputError) as e:
            raise StartupError(str(e)) from None
        self.admission.update_rules(self._rules(self.config))  # aliases that cannot speak
        if self.config.voices is not None and self.config.voices.by_language:
            from .language import LanguageDetector

            codes = list(self.config.voices.by_language)  # models load in about a second
            self.conductor.language_of = await asyncio.to_thread(LanguageDetector, codes)
        self.restore()
        self.task = asyncio.create_task(self.conductor.run(), name="conductor")
        self.conductor.submit(Wake())
        logs.emit(
            logs.DAEMON_STARTED, engine=self.player.engines[0].name, output=self.player.output.name
        )

    def _rules(self, config: Config) -> Rules:
        """The config's rules, less the voice aliases that cannot speak: their
        engine could not start, or a reload added them (built at the next start)."""
        rules = to_rules(config)
        book = self.player.voices
        if not rules.voices.enabled:
            return rules
        known = set(book.aliases) if book is not None else set()
        down = (book.unavailable() if book is not None else set()) | (rules.voices.aliases - known)
        return replace(rules, voices=rules.voices.with_unavailable(down))

    def reload(self, config: Config) -> None:
        """Take new rules without losing the queue (SIGHUP): the conductor applies them."""
        self.conductor.submit(Reload(self._rules(config), config.audio.volume))
        needs_restart = [
            key for key in ("twitch", "engine") if getattr(config, key) != getattr(self.config, key)
        ]
        if config.audio.output != self.config.audio.output:
            needs_restart.append("audio.output")
        old_chat, new_chat = self.config.sources.chat, config.sources.chat
        if (old_chat.mode, old_chat.roles) != (new_chat.mode, new_chat.roles):
            needs_restart.append("sources.chat.mode")  # the Twitch component reads it at start
        if config.voices != self.config.voices:  # the aliases' engines are built at start
            needs_restart.append("voices")
        self.config = config
        logs.emit(logs.CONFIG_RELOADED, restart_needed_for=needs_restart or None)

    async def stop(self, *, grace_s: float | None = None) -> None:
        grace = self.config.daemon.stop_grace_seconds if grace_s is None else grace_s
        await self.conductor.stop(grace_s=grace)
        if self.task is not None:
            self.task.cancel()
            # a task that died was reported when it did (serve: daemon.task_failed)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        await self.player.close()
        self.conductor.close()
        logs.emit(logs.DAEMON_STOPPED)


async def _start_bot(daemon: Daemon) -> TwitchRunner:
    """Start the Twitch bot: returns once it is ready, or once Twitch proved
    unreachable (it keeps trying behind, see twitch/runner.py)."""
    from .twitch.runner import TwitchRunner

    def ready(bot: TTSBot) -> None:
        daemon.conductor.on_decision = bot.on_decision

    runner = TwitchRunner(daemon.config, daemon.conductor.submit, on_ready=ready)
    await runner.start()
    return runner


def _task_died(task: asyncio.Task[None]) -> int:
    """A task that must live forever ended: say so with its traceback, exit 1
    (systemd restarts the daemon) rather than run on half-dead."""
    error = task.exception() if not task.cancelled() else None
    detail = f"{error.__class__.__name__}: {error}" if error else "it returned"
    logs.emit(logs.DAEMON_TASK_FAILED, task=task.get_name(), error=detail)
    if error is not None:
        log.error("task %s died", task.get_name(), exc_info=error)
    return 1


def _twitch_exit(runner: TwitchRunner) -> int:
    """The exit status once the Twitch task ended by itself (runner.task)."""
    from .twitch.scopes import TwitchStartError

    error = None if runner.task.cancelled() else runner.task.exception()
    if isinstance(error, TwitchStartError):
        print(f"error: {error}", file=sys.stderr)
        return 2  # the streamer must act: a restart cannot help
    return 1  # logged with its traceback; systemd starts a fresh daemon


async def serve(
    config: Config,
    *,
    config_path: Path | None = None,
    until: Callable[[Daemon], Awaitable[None]] | None = None,
    twitch: bool = True,
    journal: bool = True,
    engines: list[Engine] | None = None,
) -> int:
    from .twitch.runner import TwitchDied
    from .twitch.scopes import TwitchStartError

    # A stop or reload asked for while starting (systemd, Ctrl-C) is kept for
    # when the start is done, never the default action that kills mid-way.
    stop, reload_asked = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if config_path is not None:
        loop.add_signal_handler(signal.SIGHUP, reload_asked.set)
    store: Journal | None = None
    try:
        if journal:
            store = Journal.open(state_dir(config))
        daemon = Daemon(config, journal=store, engines=engines)
    except (OutputError, JournalError) as e:
        print(f"error: {e}", file=sys.stderr)
        if store is not None:
            store.close()
        return 2
    runner = None  # the Twitch bot's owner: a Twitch outage is retried, never an exit
    try:
        await daemon.start()
        if twitch:
            runner = await _start_bot(daemon)
    except (StartupError, TwitchStartError, TwitchDied) as e:
        if not isinstance(e, TwitchDied):  # that one is logged with its traceback
            print(f"error: {e}", file=sys.stderr)
        await daemon.stop(grace_s=0)
        if store is not None:
            store.close()
        return 1 if isinstance(e, TwitchDied) else 2
    if config_path is not None:
        loop.add_signal_handler(signal.SIGHUP, _reload, daemon, config_path)
        if reload_asked.is_set():
            _reload(daemon, config_path)
    api = await _start_api(daemon, config) if config.api.enabled and store is not None else None
    daemon.api = api
    from .tips import start_all as start_tips

    tips = start_tips(config, daemon.conductor, api)
    systemd.ready()
    watchdog = systemd.watchdog_interval_s()
    output = daemon.player.output

    def output_ok() -> bool:  # lost, but maybe back soon: give it restore_timeout_seconds
        return output.healthy or output.lost_for_s() < daemon.config.audio.restore_timeout_seconds

    health = Health(daemon.conductor.inbox, daemon.conductor.submit, output_ok)
    pinger = asyncio.create_task(systemd.watchdog_loop(watchdog, health)) if watchdog else None
    code = 0
    try:
        work = asyncio.ensure_future(until(daemon) if until is not None else stop.wait())
        waiter = asyncio.create_task(stop.wait())
        watched = {work, waiter} | ({runner.task} if runner is not None else set())
        if daemon.task is not None:
            watched.add(daemon.task)
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        for t in (work, waiter):
            t.cancel()
        if runner is not None and runner.task.done():
            code = _twitch_exit(runner)
        if daemon.task is not None and daemon.task.done():
            code = _task_died(daemon.task)
    finally:
        systemd.stopping()
        logs.emit(logs.DAEMON_STOPPING)
        if runner is not None:  # stop taking events first
            await runner.close()
        await tips.stop()
        if api is not None:
            await api.close()
        await daemon.stop()
        if pinger is not None:
            pinger.cancel()
        if store is not None:
            store.close()
    return code


async def _start_api(daemon: Daemon, config: Config) -> ControlApi | None:
    """The control API with its metrics; a port in use is logged, not fatal."""
    from .api.metrics import Metrics
    from .api.server import ControlApi
    from .api.token import api_token

    metrics = Metrics(
        primary_engine=daemon.player.engines[0].name,
        depth=lambda: {str(p): n for p, n in daemon.admission.queue.depth().items()},
        device_underflows=lambda: int(getattr(daemon.player.output, "underflows", 0)),
    )
    api = ControlApi(
        daemon.conductor,
        token=api_token(state_dir(config)),
        host=config.api.host,
        port=config.api.port,
        metrics=metrics,
    )
    try:
        await api.start()
    except OSError as e:
        where = f"{config.api.host}:{config.api.port}"
        logs.emit(logs.API_FAILED, error=f"cannot listen on {where}: {e.strerror or e}")
        return None
    return api


def _reload(daemon: Daemon, config_path: Path) -> None:
    systemd.reloading()
    try:
        config = load_config(config_path)
    except ConfigError as e:
        for problem in e.problems:
            logs.emit(logs.CONFIG_REJECTED, problem=problem)
        logs.emit(logs.CONFIG_KEPT, reason="the new config has errors; the old one stays")
    else:
        daemon.reload(config)
    systemd.ready()


def run_daemon(config: Config, config_path: Path) -> int:
    filter_native_stderr()
    logs.setup_logging(
        format=config.logging.format,
        file=config.logging.file,
        level=config.logging.level,
        secrets=secrets_of(config),
    )
    if config.twitch is None:
        print(
            f"config error: {config_path}: twitch: section missing "
            "(client_id, client_secret, bot_id and owner_id are needed to connect)",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(serve(config, config_path=config_path))

"""The hub: channels, sequence numbers, history ring, retained values, wildcard routing.

It knows nothing of the transport. A subscriber is any object with `deliver(message)`;
the WebSocket handler and (later) the MQTT bridge are adapters around it. Each message is
encoded to JSON once, whatever the number of subscribers.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from . import channels as names
from .errors import BAD_REQUEST, FORBIDDEN, TOO_MANY_CHANNELS, PubSubError, TooManySubscriptions


@dataclass(frozen=True)
class HubLimits:
    """Limits passed in, so a test can set `history_size=2` instead of patching constants."""

    history_size: int = 100
    history_age_s: float = 300.0
    max_subscriptions: int = 256
    max_channels: int = 10_000


class Subscriber(Protocol):
    def deliver(self, message: Message) -> None:
        """Queue `message` for sending; must not call back into the hub synchronously."""


def encode_json(value: Any) -> str:
    """Compact JSON; NaN and infinity are refused (they are not JSON)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def utc_iso(epoch_s: float) -> str:
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Message:
    """One publication; `payload` is the JSON text every subscriber receives."""

    __slots__ = ("channel", "seq", "epoch", "ts", "data", "payload", "published_at", "frame")

    def __init__(
        self, channel: str, seq: int, epoch: str, ts: str, data: Any, data_json: str, published_at: float
    ) -> None:
        self.channel = channel
        self.seq = seq
        self.epoch = epoch
        self.ts = ts
        self.data = data
        self.published_at = published_at  # monotonic, for the history age limit
        self.payload = (
            f'{{"channel":"{channel}","seq":{seq},"epoch":"{epoch}","ts":"{ts}","data":{data_json}}}'
        ).encode()
        self.frame: bytes | None = None  # transport's cached framing of `payload`


@dataclass
class Channel:
    name: str
    seq: int = 0
    history: deque[Message] = field(default_factory=deque)
    retained: Message | None = None
    # subscriber -> number of its subscriptions (exact or wildcard) that match this channel;
    # a subscriber gets each message once however many of its patterns match.
    subscribers: dict[Subscriber, int] = field(default_factory=dict)
    published: int = 0
    rate_per_s: float = 0.0
    _rate_mark: tuple[float, int] = (0.0, 0)


@dataclass(frozen=True)
class Since:
    seq: int
    epoch: str


@dataclass
class SubscribeResult:
    channel: str
    seq: int
    epoch: str
    recovered: bool
    retained: Any
    replay: list[Message]

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "seq": self.seq,
            "epoch": self.epoch,
            "recovered": self.recovered,
            "retained": self.retained,
        }


class Hub:
    def __init__(
        self,
        limits: HubLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
        epoch: str | None = None,
    ) -> None:
        self.limits = limits or HubLimits()
        self.epoch = epoch or secrets.token_hex(4)
        self._clock = clock
        self._wallclock = wallclock
        self.channels: dict[str, Channel] = {}
        self._patterns: dict[str, tuple[tuple[str, ...], dict[Subscriber, None]]] = {}
        self._subscriptions: dict[Subscriber, set[str]] = {}
        # channel -> check run on outside publications before anything is published; it
        # raises ValueError naming the problem (e.g. `alarms` takes only alarm messages)
        self.external_checks: dict[str, Callable[[Any], None]] = {}

    # -- channels -------------------------------------------------------------------------
    def _channel(self, name: str) -> Channel:
        channel = self.channels.get(name)
        if channel is not None:
            return channel
        if len(self.channels) >= self.limits.max_channels:
            raise PubSubError(TOO_MANY_CHANNELS, f"the hub already holds {self.limits.max_channels} channels")
        channel = Channel(name, _rate_mark=(self._clock(), 0))
        for levels, subscribers in self._patterns.values():
            if names.matches(levels, name):
                for subscriber in subscribers:
                    channel.subscribers[subscriber] = channel.subscribers.get(subscriber, 0) + 1
        self.channels[name] = channel
        return channel

    def _forget_if_unused(self, channel: Channel) -> None:
        if not channel.subscribers and channel.seq == 0:
            del self.channels[channel.name]

    # -- publishing -----------------------------------------------------------------------
    def publish(self, channel_name: str, data: Any, *, external: bool = False) -> Message:
        """Publish `data` on a channel; `external` publications may not use `_` channels."""
        names.check_name(channel_name)
        if external and names.is_server_owned(channel_name):
            raise PubSubError(FORBIDDEN, f"channel {channel_name} is server-owned", "channel")
        check = self.external_checks.get(channel_name) if external else None
        if check is not None:
            try:
                check(data)
            except ValueError as error:
                raise PubSubError(BAD_REQUEST, str(error), "data") from None
        try:
            data_json = encode_json(data)
        except (TypeError, ValueError) as error:
            raise PubSubError(BAD_REQUEST, f"data is not JSON: {error}", "data") from None
        channel = self._channel(channel_name)
        now = self._clock()
        channel.seq += 1
        channel.published += 1
        message = Message(
            channel_name, channel.seq, self.epoch, utc_iso(self._wallclock()), data, data_json, now
        )
        channel.retained = message
        if self.limits.history_size:
            channel.history.append(message)
            self._prune(channel, now)
        for subscriber in tuple(channel.subscribers):
            subscriber.deliver(message)
        return message

    def _prune(self, channel: Channel, now: float) -> None:
        history = channel.history
        while len(history) > self.limits.history_size:
            history.popleft()
        oldest_allowed = now - self.limits.history_age_s
        while history and history[0].published_at < oldest_allowed:
            history.popleft()

    # -- subscribing ----------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber, pattern: str, since: Since | None = None) -> SubscribeResult:
        """Subscribe to an exact channel or a wildcard pattern.

        For an exact channel the result carries its retained value and, with `since`,
        either every missed message (`recovered`) or none at all.
        """
        names.check_pattern(pattern)
        owned = self._subscriptions.setdefault(subscriber, set())
        if pattern not in owned and len(owned) >= self.limits.max_subscriptions:
            raise TooManySubscriptions(
                BAD_REQUEST, f"at most {self.limits.max_subscriptions} subscriptions per connection"
            )
        if names.is_pattern(pattern):
            if since is not None:
                raise PubSubError(BAD_REQUEST, "since needs an exact channel, not a pattern", "since")
            if pattern not in owned:
                self._add_pattern(subscriber, pattern)
                owned.add(pattern)
            retained = {
                name: channel.retained.data
                for name, channel in self.channels.items()
                if channel.retained is not None and names.matches(names.compile_pattern(pattern), name)
            }
            return SubscribeResult(pattern, 0, self.epoch, False, retained, [])

        channel = self._channel(pattern)
        if pattern not in owned:
            channel.subscribers[subscriber] = channel.subscribers.get(subscriber, 0) + 1
            owned.add(pattern)
        replay = self._replay(channel, since) if since is not None else None
        retained = channel.retained.data if channel.retained is not None else None
        return SubscribeResult(pattern, channel.seq, self.epoch, replay is not None, retained, replay or [])

    def _replay(self, channel: Channel, since: Since) -> list[Message] | None:
        """Exactly the messages after `since`, or None when they are not all in the ring."""
        if since.epoch != self.epoch or since.seq < 0 or since.seq > channel.seq:
            return None
        if since.seq == channel.seq:
            return []
        self._prune(channel, self._clock())
        history = channel.history
        if not history or history[0].seq > since.seq + 1:
            return None
        return list(itertools.islice(history, since.seq + 1 - history[0].seq, None))

    def _add_pattern(self, subscriber: Subscriber, pattern: str) -> None:
        levels, subscribers = self._patterns.setdefault(pattern, (names.compile_pattern(pattern), {}))
        subscribers[subscriber] = None
        for name, channel in self.channels.items():
            if names.matches(levels, name):
                channel.subscribers[subscriber] = channel.subscribers.get(subscriber, 0) + 1

    def unsubscribe(self, subscriber: Subscriber, pattern: str) -> bool:
        """Drop one subscription; False if the subscriber did not hold it."""
        owned = self._subscriptions.get(subscriber)
        if not owned or pattern not in owned:
            return False
        owned.discard(pattern)
        if not owned:
            del self._subscriptions[subscriber]
        if names.is_pattern(pattern):
            levels, subscribers = self._patterns[pattern]
            del subscribers[subscriber]
            if not subscribers:
                del self._patterns[pattern]
            targets = [c for name, c in self.channels.items() if names.matches(levels, name)]
        else:
            targets = [self.channels[pattern]]
        for channel in targets:
            count = channel.subscribers[subscriber] - 1
            if count:
                channel.subscribers[subscriber] = count
            else:
                del channel.subscribers[subscriber]
                self._forget_if_unused(channel)
        return True

    def unsubscribe_all(self, subscriber: Subscriber) -> None:
        for pattern in list(self._subscriptions.get(subscriber, ())):
            self.unsubscribe(subscriber, pattern)

    def subscriptions_of(self, subscriber: Subscriber) -> frozenset[str]:
        return frozenset(self._subscriptions.get(subscriber, ()))

    # -- reporting ------------------------------------------------------------------------
    def update_rates(self) -> None:
        """Recompute each channel's message rate since the previous call (called periodically)."""
        now = self._clock()
        for channel in self.channels.values():
            since, count = channel._rate_mark
            if now > since:
                channel.rate_per_s = (channel.published - count) / (now - since)
            channel._rate_mark = (now, channel.published)

    def stats(self) -> list[dict[str, Any]]:
        return [
            {
                "name": channel.name,
                "subscribers": len(channel.subscribers),
                "published": channel.published,
                "rate_per_s": round(channel.rate_per_s, 3),
                "seq": channel.seq,
                "epoch": self.epoch,
                "retained": channel.retained is not None,
            }
            for channel in sorted(self.channels.values(), key=lambda c: c.name)
        ]

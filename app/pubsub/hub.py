"""The hub: channels, sequence numbers, history ring, retained values, wildcard routing.

It knows nothing of the transport. A subscriber is any object with `deliver(message)`;
the WebSocket handler and (later) the MQTT bridge are adapters around it. Each message is
encoded to JSON once, whatever the number of subscribers.

Memory is bounded by counts and by bytes. A channel that only has subscribers (nothing was
ever published on it) counts toward `max_empty_channels`, not `max_channels`, so clients
subscribing to made-up names cannot use up the room the server publishes in; and the
server's own publications are never refused for want of a channel. The messages held
(history rings and retained values, each counted once by its encoded size) are kept under
`max_bytes` by dropping the oldest history entries across all channels; the retained value
of every channel is kept, and outside publications that would take the retained values
over the budget are refused.
"""

from __future__ import annotations

import heapq
import itertools
import json
import secrets
import time
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from . import channels as names
from .errors import BAD_REQUEST, FORBIDDEN, HUB_FULL, TOO_MANY_CHANNELS, PubSubError, TooManySubscriptions


@dataclass(frozen=True)
class HubLimits:
    """Limits passed in, so a test can set `history_size=2` instead of patching constants."""

    history_size: int = 100
    history_age_s: float = 300.0
    max_subscriptions: int = 256
    max_channels: int = 10_000  # channels with messages; outside publications beyond are refused
    max_empty_channels: int = 1000  # channels with subscribers and no message yet
    max_bytes: int = 16 * 1024 * 1024  # encoded size of the history rings and retained values


# `update_rates` calls remembered: the server calls it every 5 s (app/server.py), so the
# oldest mark is 55-60 s old and the recent rate spans about the last minute
RATE_MARKS = 12
BUSIEST = 10  # channels `activity` names; the rest are only in its totals


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

    __slots__ = ("channel", "seq", "epoch", "ts", "data", "payload", "published_at", "frame", "in_history")

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
        self.in_history = False  # held in its channel's history ring (the hub's byte account)

    @property
    def size(self) -> int:
        """What the message counts toward the hub's byte budget: its encoded JSON."""
        return len(self.payload)


@dataclass
class Channel:
    name: str
    seq: int = 0
    history: deque[Message] = field(default_factory=deque)
    retained: Message | None = None
    # subscriber -> number of its subscriptions (exact or wildcard) that match this channel;
    # a subscriber gets each message once however many of its patterns match.
    subscribers: dict[Subscriber, int] = field(default_factory=dict)
    published: int = 0  # since start; the only thing publishing does for the rates
    # `published` at each of the hub's last RATE_MARKS rate marks (a ring the hub indexes);
    # a channel made after a mark had published nothing at it
    marks: array[int] = field(default_factory=lambda: array("q", bytes(8 * RATE_MARKS)))


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
        self._empty: set[str] = set()  # channels that exist only for their subscribers
        # every history entry as (channel, seq) in publication order, for evicting the oldest
        # across channels; entries already pruned from their ring are skipped (and compacted)
        self._order: deque[tuple[Channel, int]] = deque()
        self._history_len = 0
        self.held_bytes = 0  # every message in a history ring or retained, each counted once
        self.retained_bytes = 0
        self._patterns: dict[str, tuple[tuple[str, ...], dict[Subscriber, None]]] = {}
        self._subscriptions: dict[Subscriber, set[str]] = {}
        # channel -> check run on outside publications before anything is published; it
        # raises ValueError naming the problem (e.g. `alarms` takes only alarm messages)
        self.external_checks: dict[str, Callable[[Any], None]] = {}
        # when each rate mark was taken (monotonic); None: not yet. Mark 0 is the start.
        self._mark_times: list[float | None] = [None] * RATE_MARKS
        self._mark_times[0] = clock()
        self._mark = 0

    # -- channels -------------------------------------------------------------------------
    @property
    def empty_channels(self) -> int:
        """Channels that exist only because someone subscribed to them."""
        return len(self._empty)

    def _new_channel(self, name: str) -> Channel:
        channel = Channel(name)
        for levels, subscribers in self._patterns.values():
            if names.matches(levels, name):
                for subscriber in subscribers:
                    channel.subscribers[subscriber] = channel.subscribers.get(subscriber, 0) + 1
        self.channels[name] = channel
        return channel

    def _channel_to_publish_on(self, name: str, external: bool) -> Channel:
        """The channel, created if need be. Only outside publications can be refused: the
        server's own channels are few, and what clients do must not stop them."""
        channel = self.channels.get(name)
        if channel is not None and channel.seq:
            return channel
        if external and len(self.channels) - len(self._empty) >= self.limits.max_channels:
            raise PubSubError(
                TOO_MANY_CHANNELS,
                f"the hub already holds {self.limits.max_channels} channels with messages; "
                "publish on an existing one",
                "channel",
            )
        if channel is None:
            return self._new_channel(name)
        self._empty.discard(name)
        return channel

    def _channel_to_subscribe_to(self, name: str) -> Channel:
        channel = self.channels.get(name)
        if channel is not None:
            return channel
        if len(self._empty) >= self.limits.max_empty_channels:
            raise PubSubError(
                TOO_MANY_CHANNELS,
                f"{self.limits.max_empty_channels} channels nothing was published on are subscribed to "
                f"already; {name} has no message yet",
                "channel",
            )
        self._empty.add(name)
        return self._new_channel(name)

    def _forget_if_unused(self, channel: Channel) -> None:
        if not channel.subscribers and channel.seq == 0:
            del self.channels[channel.name]
            self._empty.discard(channel.name)

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
        existing = self.channels.get(channel_name)
        now = self._clock()
        message = Message(
            channel_name,
            (existing.seq if existing is not None else 0) + 1,
            self.epoch,
            utc_iso(self._wallclock()),
            data,
            data_json,
            now,
        )
        replaced = existing.retained if existing is not None else None
        if external:
            retained_after = self.retained_bytes - (replaced.size if replaced else 0) + message.size
            if retained_after > self.limits.max_bytes:
                raise PubSubError(
                    HUB_FULL,
                    f"the channels' last values take {self.retained_bytes} of the hub's "
                    f"{self.limits.max_bytes} bytes; this {message.size}-byte message does not fit",
                    "data",
                )
        channel = self._channel_to_publish_on(channel_name, external)
        channel.seq = message.seq
        channel.published += 1
        self._retain(channel, message)
        if self.limits.history_size:
            channel.history.append(message)
            message.in_history = True
            self._history_len += 1
            self._order.append((channel, message.seq))
            self._prune(channel, now)
        self._evict_over_budget()
        for subscriber in tuple(channel.subscribers):
            subscriber.deliver(message)
        return message

    # -- what is held: counts, age, bytes -------------------------------------------------
    def _retain(self, channel: Channel, message: Message) -> None:
        replaced = channel.retained
        channel.retained = message
        self.held_bytes += message.size
        self.retained_bytes += message.size
        if replaced is not None:
            self.retained_bytes -= replaced.size
            if not replaced.in_history:
                self.held_bytes -= replaced.size

    def _drop_oldest(self, channel: Channel) -> None:
        message = channel.history.popleft()
        message.in_history = False
        self._history_len -= 1
        if message is not channel.retained:
            self.held_bytes -= message.size

    def _prune(self, channel: Channel, now: float) -> None:
        history = channel.history
        while len(history) > self.limits.history_size:
            self._drop_oldest(channel)
        oldest_allowed = now - self.limits.history_age_s
        while history and history[0].published_at < oldest_allowed:
            self._drop_oldest(channel)

    def _evict_over_budget(self) -> None:
        """Drop the oldest history entries, whatever their channel, until the held messages
        fit `max_bytes` again (or only retained values are left)."""
        order = self._order
        while self.held_bytes > self.limits.max_bytes and order:
            channel, seq = order.popleft()
            if channel.history and channel.history[0].seq == seq:
                self._drop_oldest(channel)
        if len(order) > 2 * self._history_len + 1024:  # entries pruned by count or age
            self._order = deque(
                (channel, seq) for channel, seq in order if channel.history and channel.history[0].seq <= seq
            )

    # -- subscribing ----------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber, pattern: str, since: Since | None = None) -> SubscribeResult:
        """Subscribe to an exact channel or a wildcard pattern.

        For an exact channel the result carries its retained value and, with `since`,
        either every missed message (`recovered`) or none at all.
        """
        names.check_pattern(pattern)
        # stored only once the subscription is made: a refused first one leaves nothing behind
        owned = self._subscriptions.get(subscriber, set())
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
                self._subscriptions[subscriber] = owned
            retained = {
                name: channel.retained.data
                for name, channel in self.channels.items()
                if channel.retained is not None and names.matches(names.compile_pattern(pattern), name)
            }
            return SubscribeResult(pattern, 0, self.epoch, False, retained, [])

        channel = self._channel_to_subscribe_to(pattern)
        if pattern not in owned:
            channel.subscribers[subscriber] = channel.subscribers.get(subscriber, 0) + 1
            owned.add(pattern)
            self._subscriptions[subscriber] = owned
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
        """Take a rate mark: every channel's `published` now (called every 5 s). Publishing
        only counts; rates are computed from the marks when asked."""
        slot = (self._mark + 1) % RATE_MARKS
        self._mark_times[slot] = self._clock()
        self._mark = slot
        for channel in self.channels.values():
            channel.marks[slot] = channel.published

    def _recent_rate(self, channel: Channel) -> float:
        """Messages/s between the last two marks (`GET /api/channels`: the last 5 s)."""
        slot, before = self._mark, (self._mark - 1) % RATE_MARKS
        now, then = self._mark_times[slot], self._mark_times[before]
        if now is None or then is None or now <= then:
            return 0.0
        return (channel.marks[slot] - channel.marks[before]) / (now - then)

    def activity(self, top: int = BUSIEST) -> dict[str, Any]:
        """Messages published since start and per second over about the last minute (from
        the oldest mark to now), in total and for the `top` busiest channels, for
        `GET /api/status`. O(channels), on request only; the publish path is untouched."""
        oldest = (self._mark + 1) % RATE_MARKS
        if self._mark_times[oldest] is None:  # fewer marks than the ring holds: since start
            oldest = 0
        since = self._mark_times[oldest]
        assert since is not None
        window = self._clock() - since
        rows = [
            (
                (channel.published - channel.marks[oldest]) / window if window > 0 else 0.0,
                channel.published,
                channel,
            )
            for channel in self.channels.values()
            if channel.published
        ]
        busiest = heapq.nlargest(top, rows, key=lambda row: (row[0], row[1], row[2].name))
        return {
            "count": len(self.channels),
            "epoch": self.epoch,
            "published": sum(row[1] for row in rows),
            "rate_per_s": round(sum(row[0] for row in rows), 3),
            "window_s": round(window, 1),
            "busiest": [
                {
                    "name": channel.name,
                    "published": published,
                    "rate_per_s": round(rate, 3),
                    "subscribers": len(channel.subscribers),
                }
                for rate, published, channel in busiest
            ],
        }

    def stats(self) -> list[dict[str, Any]]:
        return [
            {
                "name": channel.name,
                "subscribers": len(channel.subscribers),
                "published": channel.published,
                "rate_per_s": round(self._recent_rate(channel), 3),
                "seq": channel.seq,
                "epoch": self.epoch,
                "retained": channel.retained is not None,
            }
            for channel in sorted(self.channels.values(), key=lambda c: c.name)
        ]

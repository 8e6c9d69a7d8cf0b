"""Ping and silence timing, stepped across each limit without sleeping."""

from app.pubsub.errors import CLOSE_SILENT
from app.pubsub.liveness import ConnectionRegistry, due_action


def test_ping_is_due_at_the_interval_not_a_millisecond_before():
    assert due_action(last_heard=100, last_ping=100, now=124.999, interval=25, timeout=60) is None
    assert due_action(last_heard=100, last_ping=100, now=125.0, interval=25, timeout=60) == "ping"


def test_silence_closes_at_the_timeout_not_a_millisecond_before():
    assert due_action(last_heard=100, last_ping=150, now=159.999, interval=25, timeout=60) is None
    assert due_action(last_heard=100, last_ping=150, now=160.0, interval=25, timeout=60) == "close"


class FakeConnection:
    def __init__(self, cid, heard):
        self.connection_id = cid
        self.last_heard = heard
        self.last_ping = heard
        self.pings = 0
        self.closed_with = None

    def ping(self, data=b""):
        self.pings += 1

    def close_with(self, code, reason):
        self.closed_with = code


def test_sweep_pings_live_connections_and_closes_silent_ones_with_4012():
    now = [0.0]
    registry = ConnectionRegistry(25, 60, clock=lambda: now[0])
    talkative, silent = FakeConnection(1, 0.0), FakeConnection(2, 0.0)
    registry.add(talkative)
    registry.add(silent)
    now[0] = 25.0
    registry.sweep()
    assert (talkative.pings, silent.pings) == (1, 1)
    talkative.last_heard = 26.0  # answered the ping
    now[0] = 60.0
    registry.sweep()
    assert silent.closed_with == CLOSE_SILENT
    assert talkative.closed_with is None
    assert list(registry.connections) == [1]

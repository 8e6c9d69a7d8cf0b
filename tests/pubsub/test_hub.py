"""The hub without Tornado: seq, epoch, history ring, retained values, wildcards, limits."""

import json

import pytest

from app.pubsub.errors import PubSubError, TooManySubscriptions
from app.pubsub.hub import Hub, HubLimits, Since


class Recorder:
    def __init__(self):
        self.messages = []

    def deliver(self, message):
        self.messages.append(message)

    def received(self):
        return [(m.channel, m.seq, m.data) for m in self.messages]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def make_hub(**limits):
    clock = Clock()
    return Hub(HubLimits(**limits), clock=clock, wallclock=lambda: 1763892000.123, epoch="e1"), clock


def test_seq_grows_by_one_per_channel_and_message_carries_epoch_and_ts():
    hub, _ = make_hub()
    sub = Recorder()
    hub.subscribe(sub, "a")
    hub.subscribe(sub, "b")
    hub.publish("a", 1)
    hub.publish("b", 2)
    hub.publish("a", 3)
    assert sub.received() == [("a", 1, 1), ("b", 1, 2), ("a", 2, 3)]
    wire = json.loads(sub.messages[0].payload)
    assert wire == {"channel": "a", "seq": 1, "epoch": "e1", "ts": "2025-11-23T10:00:00.123Z", "data": 1}


def test_each_publication_is_encoded_once_for_all_subscribers():
    hub, _ = make_hub()
    subs = [Recorder() for _ in range(5)]
    for sub in subs:
        hub.subscribe(sub, "data")
    hub.publish("data", {"beer": 19.5})
    payloads = {id(sub.messages[0].payload) for sub in subs}
    assert len(payloads) == 1


def test_subscribe_result_carries_retained_last_value():
    hub, _ = make_hub()
    hub.publish("data", {"beer": 19.0})
    hub.publish("data", {"beer": 19.5})
    result = hub.subscribe(Recorder(), "data")
    assert result.retained == {"beer": 19.5}
    assert (result.seq, result.epoch, result.recovered) == (2, "e1", False)
    assert hub.subscribe(Recorder(), "empty").retained is None


def test_resume_inside_ring_replays_exactly_the_missed_messages():
    hub, _ = make_hub(history_size=10)
    for value in range(1, 8):
        hub.publish("logs", value)
    result = hub.subscribe(Recorder(), "logs", Since(seq=4, epoch="e1"))
    assert result.recovered is True
    assert [m.seq for m in result.replay] == [5, 6, 7]


def test_resume_when_up_to_date_is_recovered_with_nothing_to_replay():
    hub, _ = make_hub()
    hub.publish("logs", 1)
    result = hub.subscribe(Recorder(), "logs", Since(seq=1, epoch="e1"))
    assert (result.recovered, result.replay) == (True, [])


@pytest.mark.parametrize("since", [Since(2, "e1"), Since(1, "e1"), Since(5, "other"), Since(99, "e1")])
def test_resume_outside_ring_or_epoch_is_not_recovered_and_replays_nothing(since):
    hub, _ = make_hub(history_size=3)
    for value in range(1, 7):  # ring now holds 4, 5, 6
        hub.publish("logs", value)
    result = hub.subscribe(Recorder(), "logs", since)
    assert (result.recovered, result.replay) == (False, [])


def test_ring_forgets_messages_older_than_its_age_limit():
    hub, clock = make_hub(history_size=100, history_age_s=300)
    hub.publish("logs", 1)
    clock.now += 200
    hub.publish("logs", 2)
    clock.now += 100.001  # the first is now older than 300 s
    assert hub.subscribe(Recorder(), "logs", Since(0, "e1")).recovered is False
    result = hub.subscribe(Recorder(), "logs", Since(1, "e1"))
    assert result.recovered is True
    assert [m.data for m in result.replay] == [2]


def test_wildcard_subscriber_gets_matching_channels_once_even_when_patterns_overlap():
    hub, _ = make_hub()
    sub = Recorder()
    hub.subscribe(sub, "chamber/+/data")
    hub.subscribe(sub, "chamber/#")
    hub.subscribe(sub, "chamber/1/data")
    hub.publish("chamber/1/data", "one")
    hub.publish("chamber/2/data", "two")  # channel created after the subscriptions
    hub.publish("chamber/2/log", "log")
    hub.publish("data", "other")
    assert sub.received() == [
        ("chamber/1/data", 1, "one"),
        ("chamber/2/data", 1, "two"),
        ("chamber/2/log", 1, "log"),
    ]


def test_wildcard_subscribe_returns_retained_values_of_matching_channels():
    hub, _ = make_hub()
    hub.publish("chamber/1/data", 1)
    hub.publish("chamber/2/data", 2)
    hub.publish("logs", 3)
    result = hub.subscribe(Recorder(), "chamber/+/data")
    assert result.retained == {"chamber/1/data": 1, "chamber/2/data": 2}


def test_unsubscribe_stops_delivery_only_for_that_subscription():
    hub, _ = make_hub()
    sub = Recorder()
    hub.subscribe(sub, "a")
    hub.subscribe(sub, "#")
    assert hub.unsubscribe(sub, "#") is True
    hub.publish("a", 1)
    hub.publish("b", 2)
    assert sub.received() == [("a", 1, 1)]
    assert hub.unsubscribe(sub, "#") is False
    hub.unsubscribe_all(sub)
    hub.publish("a", 3)
    assert len(sub.messages) == 1


def test_server_owned_channels_refuse_outside_publications():
    hub, _ = make_hub()
    with pytest.raises(PubSubError) as caught:
        hub.publish("_chambers", {}, external=True)
    assert caught.value.code == "forbidden"
    assert hub.publish("_chambers", {"eventType": "delete", "id": 1}).seq == 1


def test_data_that_is_not_json_is_refused_and_changes_nothing():
    hub, _ = make_hub()
    hub.publish("a", 1)
    with pytest.raises(PubSubError):
        hub.publish("a", float("nan"))
    assert hub.channels["a"].seq == 1


def test_subscription_limit_per_subscriber():
    hub, _ = make_hub(max_subscriptions=2)
    sub = Recorder()
    hub.subscribe(sub, "a")
    hub.subscribe(sub, "b")
    hub.subscribe(sub, "a")  # the same one again does not count
    with pytest.raises(TooManySubscriptions):
        hub.subscribe(sub, "c")
    hub.subscribe(Recorder(), "c")  # another subscriber is not affected


def test_channel_limit_refuses_new_channels_but_serves_existing_ones():
    hub, _ = make_hub(max_channels=16)
    for index in range(16):
        hub.publish(f"c{index}", index)
    with pytest.raises(PubSubError) as caught:
        hub.publish("one-too-many", 1)
    assert caught.value.code == "too_many_channels"
    assert hub.publish("c3", 99).seq == 2


def test_a_subscriber_closing_during_delivery_does_not_disturb_others():
    hub, _ = make_hub()

    class Quitter(Recorder):
        def deliver(self, message):
            hub.unsubscribe_all(self)

    later = Recorder()
    hub.subscribe(Quitter(), "a")
    hub.subscribe(later, "a")
    hub.publish("a", 1)
    assert later.received() == [("a", 1, 1)]


def test_rates_and_stats():
    hub, clock = make_hub()
    hub.update_rates()
    for _ in range(10):
        hub.publish("a", 0)
    clock.now += 5
    hub.update_rates()
    hub.subscribe(Recorder(), "a")
    (stats,) = hub.stats()
    assert stats["name"] == "a" and stats["subscribers"] == 1 and stats["seq"] == 10
    assert stats["rate_per_s"] == pytest.approx(2.0)

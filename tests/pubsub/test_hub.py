"""The hub without Tornado: seq, epoch, history ring, retained values, wildcards, limits."""

import gc
import json
import tracemalloc
import weakref

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


def test_channel_limit_refuses_outside_publications_on_new_channels_never_the_servers_own():
    hub, _ = make_hub(max_channels=16)
    for index in range(16):
        hub.publish(f"c{index}", index, external=True)
    with pytest.raises(PubSubError) as caught:
        hub.publish("one-too-many", 1, external=True)
    assert (caught.value.code, caught.value.field) == ("too_many_channels", "channel")
    assert "one-too-many" not in hub.channels
    assert hub.publish("c3", 99, external=True).seq == 2
    assert hub.publish("chamber/7/data", {"beer": 19.5}).seq == 1  # the server's own
    assert hub.publish("_chambers", {"eventType": "delete", "id": 7}).seq == 1


def test_channels_only_subscribed_to_have_their_own_cap_and_leave_the_servers_room_alone():
    hub, _ = make_hub(max_channels=16, max_empty_channels=20, max_subscriptions=1000)
    tablet, reader = Recorder(), Recorder()
    hub.subscribe(reader, "data")
    for index in range(19):
        hub.subscribe(tablet, f"made-up/{index}")
    assert hub.empty_channels == 20
    with pytest.raises(PubSubError) as caught:
        hub.subscribe(tablet, "made-up/one-more")
    assert caught.value.code == "too_many_channels" and not isinstance(caught.value, TooManySubscriptions)
    assert "made-up/one-more" not in hub.subscriptions_of(tablet)
    hub.subscribe(Recorder(), "made-up/3")  # an existing one can still be subscribed to

    for index in range(16):  # the full room for channels with messages is still there
        hub.publish(f"published/{index}", index, external=True)
    hub.publish("data", {"chambers": []})  # a subscribed channel's first message: no longer empty
    assert reader.received() == [("data", 1, {"chambers": []})]
    assert hub.empty_channels == 19
    hub.subscribe(tablet, "made-up/one-more")  # so there is room for one more

    hub.unsubscribe_all(tablet)
    assert hub.empty_channels == 1  # made-up/3, which the other subscriber holds
    assert not any(name.startswith("made-up/") and name != "made-up/3" for name in hub.channels)


def test_a_refused_first_subscription_keeps_nothing_of_the_subscriber():
    hub, _ = make_hub(max_empty_channels=1)
    hub.subscribe(Recorder(), "taken")
    refused = Recorder()
    with pytest.raises(PubSubError):
        hub.subscribe(refused, "another")
    with pytest.raises(PubSubError):
        hub.subscribe(refused, "a/#", Since(1, "e1"))
    gone = weakref.ref(refused)
    del refused
    gc.collect()
    assert gone() is None  # a closed connection's handler would otherwise live forever


# -- the byte budget ---------------------------------------------------------------------------


def held_messages(hub):
    """What the hub really holds: every message in a ring or retained, each once."""
    held = {}
    for channel in hub.channels.values():
        for message in [*channel.history, channel.retained]:
            if message is not None:
                held[id(message)] = message
    return held.values()


def test_history_is_evicted_oldest_first_across_channels_to_stay_under_the_byte_budget():
    budget = 64 * 1024
    hub, clock = make_hub(history_size=100, max_bytes=budget)
    hub.publish("quiet", "x" * 1000)
    hub.publish("quiet", "y" * 1000)
    blob = "z" * 2000
    for round_ in range(40):
        for index in range(10):
            clock.now += 0.01
            hub.publish(f"busy/{index}", {"round": round_, "blob": blob})
            assert hub.held_bytes <= budget
            assert hub.held_bytes == sum(message.size for message in held_messages(hub))
    for index in range(10):  # the newest message of every channel is still there
        assert hub.subscribe(Recorder(), f"busy/{index}").retained == {"round": 39, "blob": blob}
    assert hub.subscribe(Recorder(), "quiet").retained == "y" * 1000
    # the oldest entries went first: the quiet channel's are gone, the newest busy ones remain
    assert hub.subscribe(Recorder(), "quiet", Since(0, "e1")).recovered is False
    resumed = hub.subscribe(Recorder(), "busy/9", Since(38, "e1"))  # seq = round + 1
    assert resumed.recovered is True and [m.data["round"] for m in resumed.replay] == [38, 39]
    assert hub.subscribe(Recorder(), "busy/0", Since(0, "e1")).recovered is False


def test_byte_account_follows_count_and_age_pruning():
    hub, clock = make_hub(history_size=3, history_age_s=10, max_bytes=1024 * 1024)
    for value in range(10):
        hub.publish("a", "a" * value)
        hub.publish("b", [value] * value)
    assert hub.held_bytes == sum(message.size for message in held_messages(hub))
    clock.now += 11
    hub.subscribe(Recorder(), "a", Since(9, "e1"))  # prunes a's ring by age; the retained value stays
    assert not hub.channels["a"].history and hub.channels["a"].retained is not None
    assert hub.held_bytes == sum(message.size for message in held_messages(hub))
    assert hub.retained_bytes == hub.channels["a"].retained.size + hub.channels["b"].retained.size


def test_outside_publications_that_would_take_retained_values_over_the_budget_are_refused():
    hub, _ = make_hub(max_bytes=16 * 1024)
    big = "v" * 5000
    for index in range(3):
        hub.publish(f"c{index}", big, external=True)
    with pytest.raises(PubSubError) as caught:
        hub.publish("c3", big, external=True)
    assert (caught.value.code, caught.value.field) == ("hub_full", "data")
    assert "c3" not in hub.channels
    assert hub.publish("c1", big + "w", external=True).seq == 2  # replacing a value frees the old one
    assert hub.publish("chamber/1/data", big).seq == 1  # the server's own is never refused
    assert hub.retained_bytes > hub.limits.max_bytes
    assert hub.held_bytes == hub.retained_bytes  # every ring entry not retained was evicted


def test_the_eviction_order_stays_small_however_many_messages_pass():
    hub, _ = make_hub(history_size=2)
    tracemalloc.start()
    try:
        for value in range(2000):
            hub.publish("ticks", value)
        before = tracemalloc.get_traced_memory()[0]
        for value in range(20_000):
            hub.publish("ticks", value)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000, grown  # pruned entries are compacted away, not kept per message


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


def test_activity_counts_since_start_and_rates_over_the_last_minute():
    hub, clock = make_hub()
    hub.subscribe(Recorder(), "quiet")  # subscribed to only: no publication, not among the busiest
    for _ in range(120):
        hub.publish("busy", 0)
    hub.publish("rare", 0)
    clock.now += 2
    early = hub.activity()
    assert early["window_s"] == 2.0  # fewer marks than a minute's: since the start
    assert early["published"] == 121 and early["count"] == 3
    assert [(c["name"], c["published"], c["rate_per_s"]) for c in early["busiest"]] == [
        ("busy", 120, 60.0),
        ("rare", 1, 0.5),
    ]
    # a minute of marks every 5 s with nothing published: the burst falls out of the window
    for _ in range(12):
        clock.now += 5
        hub.update_rates()
    hub.publish("rare", 0)
    later = hub.activity()
    assert 55 <= later["window_s"] <= 60
    assert later["published"] == 122
    by_name = {c["name"]: c for c in later["busiest"]}
    assert by_name["busy"]["rate_per_s"] == 0 and by_name["busy"]["published"] == 120
    assert later["busiest"][0]["name"] == "rare" and later["busiest"][0]["rate_per_s"] > 0
    assert later["rate_per_s"] == later["busiest"][0]["rate_per_s"]


def test_activity_names_only_the_busiest_channels_and_totals_the_rest():
    hub, clock = make_hub()
    for index in range(30):
        for _ in range(index + 1):
            hub.publish(f"c/{index}", 0)
    clock.now += 10
    report = hub.activity(top=5)
    assert [c["name"] for c in report["busiest"]] == [f"c/{index}" for index in (29, 28, 27, 26, 25)]
    assert report["published"] == sum(range(1, 31)) and report["count"] == 30
    assert report["rate_per_s"] == pytest.approx(sum(range(1, 31)) / 10)

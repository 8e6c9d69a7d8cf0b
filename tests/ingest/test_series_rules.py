"""Alarm rules on ingested series through the real server: configured at /api/series-rules,
applied without a restart, fed by each ingested sample and a staleness check, raised and
cleared through the alarm service (stored, published on `alarms`); bad bodies refused."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error, connect, http, line_client

SERIES = "ispindel_000/gravity"
SOURCE = f"series::{SERIES}"


async def alarm_change(client, code: str, state: str, source: str = SOURCE) -> dict:
    """The next broadcast on `alarms` of that alarm in that state (others passed over)."""
    for _ in range(50):
        message = await client.recv(timeout=5)
        if message["channel"] != "alarms":
            continue
        for alarm in message["data"].get("alarms", []):
            if (alarm["source"], alarm["code"], alarm["state"]) == (source, code, state):
                return alarm
    raise AssertionError(f"no {source}/{code} {state}")


async def alarms_client(server):
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "alarms"})
    return client


async def feed(server, value: float, series: str = SERIES) -> None:
    status, reply = await http(server, "POST", f"/api/feeds/{series}", {"value": value, "unit": "SG"})
    assert status == 200, reply


async def rule(server, **body) -> dict:
    status, created = await http(server, "POST", "/api/series-rules", {"series": SERIES, **body})
    assert status == 201, created
    return created


async def listed(server, source: str = SOURCE) -> list[dict]:
    await server.db_writer.drain()
    status, alarms = await http(server, "GET", f"/api/alarms?source={source}")
    assert status == 200, alarms
    return alarms


@pytest.mark.gen_test(timeout=30)
async def test_a_rule_set_over_rest_raises_above_and_clears_past_its_hysteresis(server):
    client = await alarms_client(server)
    created = await rule(server, above=1.050, hysteresis=0.005, severity="critical")
    assert created == {
        "id": created["id"],
        "series": SERIES,
        "above": 1.05,
        "below": None,
        "hysteresis": 0.005,
        "stale_min": None,
        "severity": "critical",
        "enabled": True,
    }
    status, listed_rules = await http(server, "GET", "/api/series-rules")
    assert status == 200 and listed_rules == [created]

    await feed(server, 1.049)  # below the limit: nothing
    await feed(server, 1.060)
    raised = await alarm_change(client, "above", "active_unacknowledged")
    assert raised["severity"] == "critical" and "above 1.05" in raised["msg"] and raised["id"] >= 1
    [stored] = await listed(server)
    assert stored["id"] == raised["id"] and stored["state"] == "active_unacknowledged"

    await feed(server, 1.047)  # under the limit, inside the hysteresis: still active
    await feed(server, 1.040)  # past it: cleared, latched until acknowledged
    cleared = await alarm_change(client, "above", "cleared_unacknowledged")
    assert cleared["id"] == raised["id"]
    [stored] = await listed(server)
    assert stored["state"] == "cleared_unacknowledged" and stored["cleared_at"] is not None
    client.close()


@pytest.mark.gen_test(timeout=30)
async def test_a_stale_rule_raises_when_no_sample_comes_and_clears_on_the_next(server):
    clock = {"now": 1000.0}  # the rules' monotonic clock, handed in: no real wait for minutes
    server.series_alarms.clock = lambda: clock["now"]
    client = await alarms_client(server)
    await rule(server, stale_min=5)
    await feed(server, 1.020)
    clock["now"] += 299  # not yet
    await client.request({"action": "ping", "channel": "_heartbeat"})
    assert await client.nothing_within(1.3)  # the check runs every second
    clock["now"] += 2
    stale = await alarm_change(client, "stale", "active_unacknowledged")
    assert "no sample for 301 s" in stale["msg"] and "limit 300 s" in stale["msg"]
    await feed(server, 1.019)
    await alarm_change(client, "stale", "cleared_unacknowledged")
    client.close()


@pytest.mark.gen_test(timeout=30)
async def test_a_new_rule_counts_staleness_from_when_it_took_effect(server):
    clock = {"now": 5000.0}
    server.series_alarms.clock = lambda: clock["now"]
    client = await alarms_client(server)
    await rule(server, stale_min=1)  # a series that never sent anything
    clock["now"] += 61
    stale = await alarm_change(client, "stale", "active_unacknowledged")
    assert "no sample for 61 s" in stale["msg"]
    client.close()


@pytest.mark.gen_test(timeout=30)
async def test_changes_apply_at_once_on_the_latest_sample_and_a_deleted_rule_clears_its_alarms(server):
    client = await alarms_client(server)
    await feed(server, 1.030)  # before any rule
    created = await rule(server, above=1.050)
    assert await listed(server) == []
    path = f"/api/series-rules/{created['id']}"
    status, patched = await http(server, "PATCH", path, {"above": 1.025})
    assert status == 200 and patched["above"] == 1.025
    await alarm_change(client, "above", "active_unacknowledged")  # no new sample needed

    status, patched = await http(server, "PATCH", path, {"enabled": False})
    assert status == 200 and patched["enabled"] is False
    await alarm_change(client, "above", "cleared_unacknowledged")
    await feed(server, 1.060)  # a disabled rule judges nothing
    status, _ = await http(server, "PATCH", path, {"enabled": True, "above": None, "below": 1.000})
    assert status == 200
    await feed(server, 0.995)
    await alarm_change(client, "below", "active_unacknowledged")
    assert [a["code"] for a in await listed(server) if a["state"] == "active_unacknowledged"] == ["below"]

    status, _ = await http(server, "DELETE", path)
    assert status == 204
    await alarm_change(client, "below", "cleared_unacknowledged")
    status, _ = await http(server, "GET", path)
    assert status == 404
    await feed(server, 0.900)
    assert server.series_alarms.rules == {}
    client.close()


@pytest.mark.gen_test(timeout=30)
async def test_bad_rule_bodies_are_refused_with_the_field_and_change_nothing(server):
    kept = await rule(server, above=1.050, below=1.000, hysteresis=0.002)
    path = f"/api/series-rules/{kept['id']}"
    for body, field, words in (
        ({"series": "other/g", "above": 1.0, "below": 1.0}, "below", "less than above"),
        ({"series": "other/g", "above": 1.0, "below": 1.1}, "below", "less than above"),
        (
            {"series": "other/g", "above": 1.05, "below": 1.0, "hysteresis": 0.06},
            "hysteresis",
            "above - below",
        ),
        ({"series": "other/g", "above": 1.0, "hysteresis": -1}, "hysteresis", "greater than or equal to 0"),
        ({"series": "other/g", "stale_min": 0}, "stale_min", "greater than 0"),
        ({"series": "other/g", "stale_min": -5}, "stale_min", "greater than 0"),
        ({"series": "other/g", "stale_min": 20000}, "stale_min", "less than or equal"),
        ({"series": "other/g"}, None, "above, below or stale_min"),
        ({"series": "Other G", "above": 1}, "series", "a-z"),
        ({"series": "other//g", "above": 1}, "series", "'/'"),
        ({"series": "chamber/1/beer", "above": 30}, "series", "chamber/"),
        ({"above": 1}, "series", "required"),
        ({"series": "other/g", "above": "1.05"}, "above", "number"),
        ({"series": "other/g", "above": 1, "severity": "loud"}, "severity", "critical"),
        ({"series": "other/g", "above": 1, "stale": 5}, "stale", "unknown field"),
    ):
        status, reply = await http(server, "POST", "/api/series-rules", body)
        error = assert_error(status, reply, 400, "validation")
        assert error.get("field") == field and words in error["message"], (body, error)
    for body, field in (
        ({"below": 1.060}, "below"),  # the merge is checked: below must stay under above
        ({"above": None, "below": None}, None),  # nothing left to judge
        ({"hysteresis": 1}, "hysteresis"),
        ({"series": None, "above": 1.1}, "series"),
    ):
        status, reply = await http(server, "PATCH", path, body)
        assert assert_error(status, reply, 400, "validation").get("field") == field, (body, reply)
    status, reply = await http(server, "POST", "/api/series-rules", {"series": SERIES, "stale_min": 10})
    assert assert_error(status, reply, 409, "conflict")["field"] == "series"
    status, reply = await http(server, "PATCH", "/api/series-rules/999", {"above": 2})
    assert_error(status, reply, 404, "not_found")

    status, rules = await http(server, "GET", "/api/series-rules")
    assert status == 200 and rules == [kept]
    assert [(r.series, r.above, r.below) for r in server.series_alarms.rules.values() for r in [r.rule]] == [
        (SERIES, 1.05, 1.0)
    ]


@pytest.mark.gen_test(timeout=30)
async def test_an_event_keeps_its_series_alive_and_a_rule_watches_only_its_own_series(server):
    clock = {"now": 0.0}
    server.series_alarms.clock = lambda: clock["now"]
    client = await alarms_client(server)
    status, _ = await http(server, "POST", "/api/series-rules", {"series": "airlock/note", "stale_min": 1})
    assert status == 201
    lines = await line_client(server)
    clock["now"] = 50.0
    assert await lines.ask('airlock/note "dry hopped 50 g Citra"') == "OK"  # an event: alive
    await feed(server, 5.0, series="other/g")  # another series: not this rule's
    clock["now"] = 109.0  # 59 s after the event
    await client.request({"action": "ping", "channel": "_heartbeat"})
    assert await client.nothing_within(1.3)
    clock["now"] = 111.0
    stale = await alarm_change(client, "stale", "active_unacknowledged", source="series::airlock/note")
    assert "no sample for 61 s" in stale["msg"]
    lines.close()
    client.close()

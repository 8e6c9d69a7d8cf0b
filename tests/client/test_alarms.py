"""Alarms in real Chromium: an alarm a script raises shows at once in the list and on the
header bell, which blinks until it is acknowledged; acknowledging one or all from the page
reaches the server, and the history keeps them."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.client.test_dashboard import log_in_when_asked, rest


def raise_alarms(appliance, *alarms: tuple[str, str, str]) -> None:
    """Publish `{"alarms":[{source, code, msg}]}` on `alarms`, as a script does (protocol.md §1)."""
    items = [{"source": source, "code": code, "msg": msg} for source, code, msg in alarms]
    rest(appliance, "POST", "/api/channels/alarms", {"alarms": items})


def open_ids(appliance) -> set[int]:
    return {alarm["id"] for alarm in rest(appliance, "GET", "/api/alarms?state=open")}


def unacknowledged(appliance) -> list[dict]:
    return [a for a in rest(appliance, "GET", "/api/alarms?state=open") if a["acknowledged_at"] is None]


def test_a_raised_alarm_shows_live_and_the_bell_blinks_until_it_is_acknowledged(page, appliance):
    page, problems = page
    problems.expect(401)  # acknowledging is a change: the login comes first
    page.goto("/#/alarms")
    bell = page.locator("#bell")
    expect(page.locator("#open-alarms")).to_be_visible()
    expect(bell).to_have_attribute("data-unacked", "false")
    expect(page.locator("#open-alarms .alarm")).to_have_count(len(open_ids(appliance)))

    raise_alarms(appliance, ("script/cellar", "T1", "cellar door open"))
    item = page.locator("#open-alarms .alarm", has_text="cellar door open")
    expect(item).to_be_visible(timeout=3000)
    # a script's alarm is an event: raised and cleared at once, latched until acknowledged
    expect(item).to_have_attribute("data-state", "cleared_unacknowledged")
    expect(item.locator(".source")).to_have_text("script/cellar")
    expect(bell).to_have_attribute("data-unacked", "true")
    expect(page.locator("#alarm-count")).to_have_text(str(len(open_ids(appliance))))
    blinking = bell.evaluate("element => getComputedStyle(element).animationName")
    assert blinking == "blink", blinking

    item.get_by_role("button", name="Acknowledge script/cellar T1").click()
    log_in_when_asked(page, appliance)
    expect(item).to_have_count(0)  # acknowledged and cleared: archived, no longer open
    assert unacknowledged(appliance) == []
    expect(bell).to_have_attribute("data-unacked", "false")
    assert bell.evaluate("element => getComputedStyle(element).animationName") == "none"
    expect(page.locator("#alarm-count")).to_have_text(str(len(open_ids(appliance))))
    history = page.locator("#alarm-history .alarm", has_text="cellar door open")
    expect(history).to_have_attribute("data-state", "cleared")


def test_acknowledge_all_acknowledges_every_open_alarm_and_the_history_keeps_them(page, appliance):
    page, problems = page
    problems.expect(401)
    raise_alarms(
        appliance,
        ("script/a", "A1", "first test alarm"),
        ("script/b", "B1", "second test alarm"),
    )
    page.goto("/#/alarms")
    expect(page.locator("#open-alarms .alarm", has_text="test alarm")).to_have_count(2)
    expect(page.locator("#bell")).to_have_attribute("data-unacked", "true")
    page.get_by_role("button", name="Acknowledge all").click()
    log_in_when_asked(page, appliance)
    expect(page.locator("#open-alarms .alarm", has_text="test alarm")).to_have_count(0)
    expect(page.get_by_role("button", name="Acknowledge all")).to_be_disabled()
    assert unacknowledged(appliance) == []
    expect(page.locator("#bell")).to_have_attribute("data-unacked", "false")
    expect(page.locator('#alarm-history .alarm[data-state="cleared"]', has_text="test alarm")).to_have_count(
        2
    )

    # raised again from outside, the list and bell follow without a reload
    raise_alarms(appliance, ("script/c", "C1", "third test alarm"))
    expect(page.locator("#open-alarms .alarm", has_text="third test alarm")).to_be_visible(timeout=3000)
    expect(page.locator("#bell")).to_have_attribute("data-unacked", "true")
    expect(page.get_by_role("button", name="Acknowledge all")).to_be_enabled()

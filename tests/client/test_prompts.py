"""Brewer prompts and profile runs from the dashboard in real Chromium: a mash step that
waits for the brewer is a banner whose button continues it, a fermentation profile's
coming event is a banner, and a profile is started part-way, paused, resumed and stopped
from its chamber's card, with the API's refusal shown."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from devices.simulator.probes import rom_for
from tests.client.test_dashboard import card, log_in_when_asked, rest


def make_mash_tun(appliance) -> dict:
    """A simulated mash tun whose profile starts with a step waiting for the brewer."""
    controller = rest(
        appliance,
        "POST",
        "/api/controllers",
        {"name": "Kettle", "kind": "simulator", "address": "plant=kettle speed=20 seed=2"},
    )
    profile = rest(
        appliance,
        "POST",
        "/api/profiles",
        {
            "name": "Confirm first",
            "kind": "mash",
            "steps": [
                {"name": "Add grain", "temperature": 24.0, "hold_min": 0, "confirm": True},
                {"name": "Rest", "temperature": 24.0, "hold_min": 60},
            ],
        },
    )
    chamber = rest(
        appliance,
        "POST",
        "/api/chambers",
        {"controller_id": controller["id"], "name": "Mash tun", "kind": "mash", "profile_id": profile["id"]},
    )
    for device in (
        {
            "name": "vessel",
            "function": "beer_temp",
            "hardware": "onewire",
            "address": rom_for("vessel"),
            "slot": 1,
        },
        {"name": "element", "function": "heat", "hardware": "pin", "address": "6", "slot": 2},
    ):
        rest(appliance, "POST", "/api/devices", {"chamber_id": chamber["id"], **device})
    return chamber


def wait_rest(appliance, path: str, condition, timeout_s: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while not condition(body := rest(appliance, "GET", path)):
        assert time.monotonic() < deadline, body
        time.sleep(0.2)
    return body


def test_a_mash_step_waiting_for_the_brewer_is_a_banner_whose_button_continues_it(page, appliance):
    page, problems = page
    problems.expect(401)  # the first change asks for the password
    chamber = make_mash_tun(appliance)
    path = f"/api/chambers/{chamber['id']}"
    rest(appliance, "PATCH", path, {"mode": "profile"})
    page.goto("/")
    banner = page.locator(f'#prompts .prompt[data-prompt="confirm"][data-chamber="{chamber["id"]}"]')
    expect(banner).to_contain_text("Add grain", timeout=10000)
    expect(banner).to_contain_text("Mash tun")
    expect(page.locator("#view .prompt")).to_have_count(0)  # a banner above the view, not a list in it
    # the tick says the step waits a moment before the loop has stored it (the API checks that)
    wait_rest(appliance, path, lambda body: body["profile_state"].get("awaiting_confirm"))
    banner.get_by_role("button", name="Continue").click()
    log_in_when_asked(page, appliance)
    expect(banner).to_have_count(0, timeout=5000)
    state = rest(appliance, "GET", path)["profile_state"]
    assert state["awaiting_confirm"] is False, state
    expect(card(page, chamber["id"]).locator('[data-field="profile"]')).not_to_contain_text(
        "Add grain", timeout=10000
    )


def test_a_profile_started_part_way_from_the_card_shows_its_coming_event_as_a_banner(page, appliance):
    page, problems = page
    problems.expect(401)
    page.goto("/")
    chamber = card(page)
    chamber.get_by_role("button", name="Stop profile").click()
    log_in_when_asked(page, appliance)
    start = chamber.get_by_role("group", name="Start a profile")
    expect(start).to_be_visible()
    assert rest(appliance, "GET", "/api/chambers/1")["mode"] == "beer"  # a stopped fermenter holds the beer
    start.locator('select[name="profile"]').select_option(label="Sample ale")
    start.get_by_label("Start at day").fill("4.99")
    started = time.time()
    start.get_by_role("button", name="Start profile").click()
    expect(chamber.get_by_role("button", name="Pause")).to_be_visible()
    state = rest(appliance, "GET", "/api/chambers/1")["profile_state"]
    assert abs(started - state["started_at"] - 4.99 * 86400) < 5, state
    # the diacetyl rest is at day 5: in 0.01 days
    banner = page.locator('#prompts .prompt[data-prompt="event"][data-chamber="1"]')
    expect(banner).to_contain_text(re.compile(r"diacetyl rest in 1[45] min"), timeout=5000)
    banner.get_by_role("button", name="Done").click()
    expect(banner).to_have_count(0)
    page.reload()  # put away on this tablet: it does not come back
    expect(card(page).locator('[data-field="profile"]')).to_contain_text("Sample ale", timeout=5000)
    time.sleep(2)
    expect(banner).to_have_count(0)


def test_a_profile_is_paused_resumed_and_stopped_from_the_card_and_a_refusal_is_shown(page, appliance):
    page, problems = page
    problems.expect(401)
    problems.expect(400)  # the start day out of range below
    page.goto("/")
    chamber = card(page)
    chamber.get_by_role("button", name="Pause").click()
    log_in_when_asked(page, appliance)
    expect(chamber.get_by_role("button", name="Resume")).to_be_visible()
    expect(chamber.get_by_role("button", name="Pause")).to_be_hidden()
    assert rest(appliance, "GET", "/api/chambers/1")["profile_state"]["paused_at"] is not None
    expect(chamber.locator('[data-field="profile"]')).to_contain_text("paused", timeout=5000)
    chamber.get_by_role("button", name="Resume").click()
    expect(chamber.get_by_role("button", name="Pause")).to_be_visible()
    assert rest(appliance, "GET", "/api/chambers/1")["profile_state"]["paused_at"] is None
    expect(chamber.locator('[data-field="profile"]')).not_to_contain_text("paused", timeout=5000)
    chamber.get_by_role("button", name="Stop profile").click()
    start = chamber.get_by_role("group", name="Start a profile")
    expect(start).to_be_visible()
    expect(chamber.get_by_role("group", name="Profile run")).to_be_hidden()
    after = rest(appliance, "GET", "/api/chambers/1")
    assert (after["mode"], after["profile_state"]) == ("beer", {})
    start.get_by_label("Start at day").fill("5000")
    start.get_by_role("button", name="Start profile").click()
    expect(page.locator("#toast")).to_contain_text("offset_days")
    assert rest(appliance, "GET", "/api/chambers/1")["mode"] == "beer"

"""The dashboard in real Chromium: the sample fermenter's live values, a setpoint typed on
the keypad and stepped with ±, °F everywhere after the unit setting changes, and values
that grey out with their age while the server is gone, live again after it is back."""

from __future__ import annotations

import json
import re
import time
import urllib.request

from playwright.sync_api import expect


def rest(appliance, method: str, path: str, body=None):
    request = urllib.request.Request(
        appliance.base_url + path,
        json.dumps(body).encode() if body is not None else None,
        {"Content-Type": "application/json", "Authorization": f"Bearer {appliance.token}"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read()
    return json.loads(text) if text else None


def card(page, chamber_id: int = 1):
    return page.locator(f'section.chamber[data-chamber="{chamber_id}"]')


def log_in_when_asked(page, appliance) -> None:
    dialog = page.locator("dialog#login")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Password").fill(appliance.password)
    dialog.get_by_role("button", name="Log in").click()
    expect(dialog).to_be_hidden()


def test_a_live_value_shows_within_half_a_second_of_the_page_loading(page, appliance):
    page, _ = page
    started = time.monotonic()
    page.goto("/")
    beer = card(page).locator('[data-field="beer"]')
    expect(beer).to_have_text(re.compile(r"^\d+\.\d °C$"), timeout=2000)
    shown_s = time.monotonic() - started
    assert shown_s < 2.0, shown_s  # the 0.5 s target is measured by bench/client.py
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(card(page)).to_have_attribute("data-stale", "false")
    expect(card(page).locator('[data-field="profile"]')).to_contain_text("Sample ale")


def test_a_setpoint_typed_on_the_keypad_and_stepped_is_what_the_chamber_runs(page, appliance):
    page, problems = page
    problems.expect(401)  # the first change asks for the password
    page.goto("/")
    chamber = card(page)
    chamber.get_by_role("button", name="Beer", exact=True).click()
    log_in_when_asked(page, appliance)
    expect(chamber.get_by_role("button", name="Beer", exact=True)).to_have_attribute("aria-pressed", "true")
    chamber.get_by_role("button", name="Setpoint: type a value").click()
    keypad = page.get_by_role("dialog", name=re.compile("setpoint"))
    for key in ["1", "8", ".", "5"]:
        keypad.get_by_role("button", name=key, exact=True).click()
    expect(keypad.locator("output")).to_have_text("18.5 °C")
    keypad.get_by_role("button", name="Set").click()
    expect(chamber.locator('[data-field="setpoint"]')).to_have_text("18.5 °C")
    assert rest(appliance, "GET", "/api/chambers/1")["beer_setpoint"] == 18.5
    chamber.get_by_role("button", name="Setpoint up 0.1").click()
    expect(chamber.locator('[data-field="setpoint"]')).to_have_text("18.6 °C")
    assert rest(appliance, "GET", "/api/chambers/1")["beer_setpoint"] == 18.6
    # the controller follows: the tick's beer_set is the new setpoint
    expect(chamber.locator('[data-field="beer_set"]')).to_have_text("18.6 °C", timeout=5000)


def test_a_keypad_value_out_of_range_is_refused_in_the_dialog(page, appliance):
    page, problems = page
    problems.expect(401)
    rest(appliance, "PATCH", "/api/chambers/1", {"mode": "beer", "beer_setpoint": 19.0})
    page.goto("/")
    chamber = card(page)
    chamber.get_by_role("button", name="Setpoint: type a value").click()
    keypad = page.get_by_role("dialog", name=re.compile("setpoint"))
    for key in ["2", "0", "0"]:
        keypad.get_by_role("button", name=key, exact=True).click()
    keypad.get_by_role("button", name="Set").click()
    expect(keypad.get_by_role("alert")).to_have_text("at most 110.0 °C")
    keypad.get_by_role("button", name="Cancel").click()
    assert rest(appliance, "GET", "/api/chambers/1")["beer_setpoint"] == 19.0


def test_every_temperature_changes_to_fahrenheit_with_the_unit_setting(page, appliance):
    page, _ = page
    rest(appliance, "PATCH", "/api/chambers/1", {"mode": "beer", "beer_setpoint": 20.0})
    page.goto("/")
    chamber = card(page)
    expect(chamber.locator('[data-field="setpoint"]')).to_have_text("20.0 °C")
    rest(appliance, "PUT", "/api/settings/units", {"value": "F"})
    expect(chamber.locator('[data-field="setpoint"]')).to_have_text("68.0 °F")
    expect(chamber.locator('[data-field="beer"]')).to_have_text(re.compile(r"^\d+\.\d °F$"))
    assert "°C" not in chamber.inner_text()


def test_values_grey_out_with_their_age_while_the_server_is_gone_and_come_back(page, appliance):
    page, problems = page
    page.goto("/")
    chamber = card(page)
    expect(chamber.locator('[data-field="beer"]')).to_have_text(re.compile(r"^\d+\.\d °C$"), timeout=3000)
    expect(chamber).to_have_attribute("data-stale", "false")
    problems.restarting = True  # the page's WebSocket is cut by the stop
    appliance.process.stop()
    expect(page.locator("#connection")).to_have_attribute("data-state", "down", timeout=5000)
    expect(chamber).to_have_attribute("data-stale", "true")
    beer_age = chamber.locator('[data-value="beer"] .age')
    expect(beer_age).to_have_text(re.compile(r"last \d+ s ago"), timeout=3000)
    appliance.restart()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=15000)
    expect(chamber).to_have_attribute("data-stale", "false", timeout=5000)
    expect(chamber.locator('[data-value="beer"] .age')).to_have_text("")

"""Sensors in real Chromium: a card for every series the history holds, with its last
value (temperatures in the unit chosen), its age and a sparkline, and a chart of the
series when the card is tapped."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.client.test_dashboard import rest


def feed(appliance, series: str, readings: list[tuple[float, float]], unit: str) -> None:
    """Readings of `series` as an outside sensor sends them: (seconds ago, value)."""
    for seconds_ago, value in readings:
        body = {"value": value, "ts": round(time.time() - seconds_ago, 3), "unit": unit}
        rest(appliance, "POST", f"/api/feeds/{series}", body)


def wait_for_series(appliance, *names: str) -> list[dict]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = rest(appliance, "GET", "/api/series")
        if set(names) <= {series["name"] for series in listed}:
            return listed
        time.sleep(0.2)
    raise AssertionError(f"series {names} not recorded: {listed}")


def sensor(page, name: str):
    return page.locator(f'button.sensor[data-series="{name}"]')


def test_every_series_has_a_card_with_last_value_age_and_sparkline_and_opens_a_chart(page, appliance):
    page, _ = page
    feed(appliance, "test/cellar", [(3600, 18.0), (2400, 19.0), (1200, 20.5), (120, 21.25)], "°C")
    feed(appliance, "test/gravity", [(1800, 1.052), (600, 1.048)], "SG")
    listed = wait_for_series(appliance, "test/cellar", "test/gravity")
    page.goto("/#/sensors")
    cellar = sensor(page, "test/cellar")
    expect(cellar.locator('[data-field="value"]')).to_have_text("21.3 °C")  # 21.25 shown to 0.1
    expect(cellar.locator('[data-field="age"]')).to_have_text(re.compile(r"^(1\d\d s|2 min) ago$"))
    expect(sensor(page, "test/gravity").locator('[data-field="value"]')).to_have_text("1.048 SG")
    # the sparkline has a point per reading of the day
    points = cellar.locator("svg.spark polyline").first.get_attribute("points")
    assert len(points.split()) == 4, points
    shown = set(page.locator("button.sensor").evaluate_all("cards => cards.map(card => card.dataset.series)"))
    assert {series["name"] for series in listed} <= shown, (listed, shown)
    expect(cellar).to_have_attribute("data-stale", "false")

    cellar.click()
    chart = page.get_by_role("dialog", name="Chart of test/cellar")
    expect(chart).to_be_visible()
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart.get_by_role("status")).to_have_text("4 points (raw)")
    chart.get_by_role("button", name="1 h").click()
    expect(chart.get_by_role("status")).to_have_text(re.compile(r"^[23] points \(raw\)$"))
    expect(chart.get_by_role("button", name="1 h")).to_have_attribute("aria-pressed", "true")
    chart.get_by_role("button", name="Close").click()
    expect(chart).to_have_count(0)


def test_a_sensor_quiet_for_long_is_greyed_with_its_age(page, appliance):
    page, _ = page
    feed(appliance, "test/old", [(7200, 12.0), (3000, 12.5)], "°C")
    wait_for_series(appliance, "test/old")
    page.goto("/#/sensors")
    old = sensor(page, "test/old")
    expect(old.locator('[data-field="age"]')).to_have_text("50 min ago")
    expect(old).to_have_attribute("data-stale", "true")
    color = old.locator('[data-field="value"]').evaluate("element => getComputedStyle(element).color")
    stale = page.evaluate("getComputedStyle(document.body).getPropertyValue('--stale').trim()")
    assert color == _rgb(stale), (color, stale)


def _rgb(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"

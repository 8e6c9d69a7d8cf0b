"""The Profiles view in real Chromium: a fermentation profile typed in the form (in °C and
in °F) is what GET /api/profiles holds, in °C; a bad value is refused in the form and a
refusal by the server is shown with the field it names; edit, reorder, delete; mash steps;
BrewPi CSV import with its warnings and export as a download; and a profile started on the
sample chamber part-way, paused, resumed and stopped, each checked through REST."""

from __future__ import annotations

import re
import time
from datetime import datetime

from playwright.sync_api import expect

from app.api.profile_csv import parse_profile_csv
from tests.client.conftest import open_page
from tests.client.test_dashboard import log_in_when_asked, rest
from tests.client.test_layout import audit


def profiles_named(appliance, name):
    return [profile for profile in rest(appliance, "GET", "/api/profiles") if profile["name"] == name]


def points_of(profile):
    return [(p["offset_days"], p["temperature"], p["event"]) for p in profile["points"]]


def make_profile(appliance, name="Lager", points=None):
    points = points or [
        {"offset_days": 0, "temperature": 10.0, "event": "pitch"},
        {"offset_days": 10, "temperature": 10.0, "event": None},
        {"offset_days": 12, "temperature": 16.0, "event": "diacetyl rest"},
    ]
    return rest(appliance, "POST", "/api/profiles", {"name": name, "kind": "fermentation", "points": points})


def fill_point(page, number, day, temperature, event=""):
    page.get_by_label(f"Point {number} day").fill(day)
    page.get_by_label(re.compile(rf"^Point {number} temperature")).fill(temperature)
    page.get_by_label(f"Point {number} event").fill(event)


def type_three_points(page, name, temperatures):
    page.goto("/#/profiles")
    page.get_by_role("link", name="New fermentation profile").click()
    page.get_by_label("Profile name").fill(name)
    page.get_by_role("button", name="Add point").click()
    page.get_by_role("button", name="Add point").click()
    rows = zip(["0", "4", "7"], temperatures, ["pitch", "", "crash"], strict=True)
    for number, (day, temperature, event) in enumerate(rows, 1):
        fill_point(page, number, day, temperature, event)


def test_three_points_typed_in_the_form_are_stored_in_celsius_and_previewed(page, appliance):
    page, problems = page
    problems.expect(401)
    type_three_points(page, "Pale ale", ["18.0", "21.5", "4.0"])
    summary = page.locator('[data-field="preview-summary"]')
    expect(summary).to_have_text("3 points over 7 days, from 4.0 °C to 21.5 °C, then holds 4.0 °C, 2 events.")
    expect(page.locator(".preview canvas")).to_have_count(1)
    # the curve is what app/control/profiles.py does: the first temperature before the first
    # point, an instant step on a shared day, a gap beside a point without temperature, and
    # the last temperature holding after the end
    curve = page.evaluate(
        """async (points) => (await import("/static/js/views/profiles/chart.js")).curveData(points)""",
        [
            {"offset_days": 1, "temperature": 18, "event": None},
            {"offset_days": 3, "temperature": 20, "event": None},
            {"offset_days": 3, "temperature": None, "event": None},
            {"offset_days": 4, "temperature": 22, "event": None},
            {"offset_days": 6, "temperature": 22, "event": None},
        ],
    )
    assert curve == [
        [0, 1, 3, 3, 4, 6, 6.5],
        [18, 18, 20, None, 22, 22, None],
        [None, None, None, None, None, 22, 22],
    ]
    page.get_by_role("button", name="Save").click()
    log_in_when_asked(page, appliance)
    expect(page).to_have_url(re.compile(r"#/profiles/\d+$"))
    (stored,) = profiles_named(appliance, "Pale ale")
    assert stored["kind"] == "fermentation"
    assert points_of(stored) == [(0, 18.0, "pitch"), (4, 21.5, None), (7, 4.0, "crash")]
    assert page.url.endswith(f"#/profiles/{stored['id']}")
    expect(page.get_by_label("Point 2 temperature (°C)")).to_have_value("21.5")
    page.get_by_role("link", name="All profiles").click()
    expect(page.locator(f'tr[data-profile="{stored["id"]}"]')).to_contain_text("Pale ale")


def test_temperatures_typed_in_fahrenheit_are_stored_in_celsius(page, appliance):
    page, problems = page
    problems.expect(401)
    rest(appliance, "PUT", "/api/settings/units", {"value": "F"})
    type_three_points(page, "Fahrenheit ale", ["68.0", "64.4", "39.2"])
    expect(page.get_by_label("Point 1 temperature (°F)")).to_have_value("68.0")
    expect(page.locator('[data-field="preview-summary"]')).to_contain_text("from 39.2 °F to 68.0 °F")
    page.get_by_role("button", name="Save").click()
    log_in_when_asked(page, appliance)
    expect(page).to_have_url(re.compile(r"#/profiles/\d+$"))
    (stored,) = profiles_named(appliance, "Fahrenheit ale")
    assert points_of(stored) == [(0, 20.0, "pitch"), (4, 18.0, None), (7, 4.0, "crash")]
    # the shown unit changes under the open form: the same temperatures, now in °C
    rest(appliance, "PUT", "/api/settings/units", {"value": "C"})
    expect(page.get_by_label("Point 1 temperature (°C)")).to_have_value("20.0")
    expect(page.get_by_label("Point 3 temperature (°C)")).to_have_value("4.0")


def test_a_bad_value_is_refused_in_the_form_and_the_servers_refusal_names_its_field(page, appliance):
    page, problems = page
    problems.expect(401)
    problems.expect(400)
    before = rest(appliance, "GET", "/api/profiles")
    type_three_points(page, "Too hot", ["18.0", "150", "4.0"])
    page.get_by_label("Point 3 day").fill("3")  # goes backwards after day 4
    page.get_by_role("button", name="Save").click()
    errors = page.locator('[data-field="form-errors"]')
    expect(errors).to_contain_text("Point 2: the temperature must be from -5.0 to 110.0 °C")
    expect(errors).to_contain_text("Point 3: day 3 is before day 4 of point 2")
    expect(page.get_by_label("Point 2 temperature (°C)")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("dialog#login")).to_be_hidden()  # nothing was sent
    assert rest(appliance, "GET", "/api/profiles") == before
    # the form's checks pass, the server's do not: its message and field are shown
    page.get_by_label("Point 2 temperature (°C)").fill("20")
    page.get_by_label("Point 3 day").fill("7")
    page.get_by_label("Point 1 event").fill("pitch\x00yeast")  # PostgreSQL cannot store NUL
    page.get_by_role("button", name="Save").click()
    log_in_when_asked(page, appliance)
    expect(errors).to_contain_text("the server refused it (400)")
    expect(errors).to_contain_text("points.0.event: must not contain a NUL character")
    expect(errors).to_contain_text("(field points.0.event: point 1, event)")
    expect(page.get_by_label("Point 1 event")).to_have_attribute("aria-invalid", "true")
    assert rest(appliance, "GET", "/api/profiles") == before


def test_a_profile_is_edited_reordered_and_deleted(page, appliance):
    page, problems = page
    problems.expect(401)
    page.goto("/#/profiles")
    created = make_profile(appliance)
    row = page.locator(f'tr[data-profile="{created["id"]}"]')
    expect(row).to_contain_text("3 points over 12 days")  # live from _profiles
    row.get_by_role("link", name="Open Lager").click()
    page.get_by_label("Point 3 temperature (°C)").fill("14.5")
    page.get_by_role("button", name="Add point").click()
    fill_point(page, 4, "9", "12.0", "taste")
    page.get_by_role("button", name="Move point 4 up").click()  # day 9 before day 12
    page.get_by_role("button", name="Remove point 2").click()
    expect(page.get_by_label("Point 2 day")).to_have_value("9")
    page.get_by_label("Profile name").fill("Lager, edited")
    page.get_by_role("button", name="Save").click()
    log_in_when_asked(page, appliance)
    expect(page.locator(".dirty")).to_have_text("")
    stored = rest(appliance, "GET", f"/api/profiles/{created['id']}")
    assert stored["name"] == "Lager, edited"
    assert points_of(stored) == [(0, 10.0, "pitch"), (9, 12.0, "taste"), (12, 14.5, "diacetyl rest")]
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog", name="Delete the profile").get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"#/profiles$"))
    expect(page.locator(f'tr[data-profile="{created["id"]}"]')).to_have_count(0)
    assert profiles_named(appliance, "Lager, edited") == []
    # the running sample cannot go: the server's reason is shown
    problems.expect(409)
    page.get_by_role("button", name="Delete Sample ale").click()
    page.get_by_role("dialog", name="Delete the profile").get_by_role("button", name="Delete").click()
    expect(page.locator("#toast")).to_contain_text("assigned to 1 chamber(s)")
    assert profiles_named(appliance, "Sample ale")


def test_a_mash_profile_is_typed_as_steps(page, appliance):
    page, problems = page
    problems.expect(401)
    page.goto("/#/profiles")
    page.get_by_role("link", name="New mash profile").click()
    page.get_by_label("Profile name").fill("Step mash")
    page.get_by_role("button", name="Add step").click()
    page.get_by_label("Step 1 temperature (°C)").fill("64.5")
    page.get_by_label("Step 1 hold (min)").fill("45")
    page.get_by_label("Step 2 name").fill("Mash out")
    page.get_by_label("Step 2 temperature (°C)").fill("120")
    page.get_by_label("Step 2 hold (min)").fill("10")
    page.get_by_label(re.compile(r"^Step 2 ramp")).fill("1.5")
    page.get_by_label("Step 2: wait for the brewer").check()
    page.get_by_role("button", name="Save").click()
    errors = page.locator('[data-field="form-errors"]')
    expect(errors).to_contain_text("Step 2: the temperature must be from 0.0 to 105.0 °C")
    page.get_by_label("Step 2 temperature (°C)").fill("77")
    page.get_by_role("button", name="Save").click()
    log_in_when_asked(page, appliance)
    expect(page).to_have_url(re.compile(r"#/profiles/\d+$"))
    (stored,) = profiles_named(appliance, "Step mash")
    assert stored["kind"] == "mash" and stored["points"] == []
    assert stored["steps"] == [
        {
            "name": "Saccharification",
            "temperature": 64.5,
            "hold_min": 45,
            "ramp_c_per_min": None,
            "confirm": False,
        },
        {"name": "Mash out", "temperature": 77.0, "hold_min": 10, "ramp_c_per_min": 1.5, "confirm": True},
    ]


CSV = (
    "date,temperature,days,Imported ale\r\n"
    "2024-03-01T10:00:00,19,0\r\n"
    "\r\n"
    "2024-03-05T10:00:00,19,4\r\n"
    "2024-03-06T10:00:00,21.5,5\r\n"
    "2024-03-09T10:00:00,,8\r\n"
)


def test_a_brewpi_csv_is_imported_with_its_warnings(page, appliance, tmp_path):
    page, problems = page
    problems.expect(401)
    problems.expect(400)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"date;temperature;days\n2024-03-01T10:00:00;19;0\n")
    page.goto("/#/profiles")
    form = page.get_by_role("form", name="Import a BrewPi CSV")
    form.get_by_label("CSV file").set_input_files(str(bad))
    form.get_by_role("button", name="Import").click()
    log_in_when_asked(page, appliance)
    expect(page.locator('[data-field="import-errors"]')).to_contain_text("Not imported: line 1:")
    expect(page.locator('[data-field="import-errors"]')).to_contain_text("(field body)")
    before = rest(appliance, "GET", "/api/profiles")
    good = tmp_path / "ale.csv"
    good.write_bytes(CSV.encode())
    form.get_by_label("CSV file").set_input_files(str(good))
    form.get_by_role("button", name="Import").click()
    expect(page).to_have_url(re.compile(r"#/profiles/\d+$"))
    warnings = parse_profile_csv(CSV, "C").warnings
    assert warnings and "line 3" in warnings[0]
    box = page.locator('[data-field="import-warnings"]')
    expect(box).to_contain_text(f"Imported with {len(warnings)} warning")
    for warning in warnings:
        expect(box).to_contain_text(warning)
    (stored,) = profiles_named(appliance, "Imported ale")
    assert len(rest(appliance, "GET", "/api/profiles")) == len(before) + 1
    assert points_of(stored) == [(0, 19.0, None), (4, 19.0, None), (5, 21.5, None), (8, None, None)]
    expect(page.get_by_label("Point 4 temperature (°C)")).to_have_value("")
    expect(page.locator('[data-field="preview-summary"]')).to_contain_text("control off")


def test_a_profile_is_exported_as_a_brewpi_csv_download(page, appliance, tmp_path):
    page, _ = page
    created = make_profile(appliance, "Export me")
    rest(appliance, "PUT", "/api/settings/units", {"value": "F"})
    page.goto(f"/#/profiles/{created['id']}")
    expect(page.get_by_label("Point 1 temperature (°F)")).to_have_value("50.0")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export Export me as BrewPi CSV").click()
    download = download_info.value
    assert download.suggested_filename == "Export_me.csv"
    path = tmp_path / "export.csv"
    download.save_as(path)
    lines = path.read_bytes().decode().split("\n")
    assert lines[0] == "date,temperature,days,Export me" and lines[-1] == ""
    rows = [line.split(",") for line in lines[1:-1]]
    assert [(row[1], row[2]) for row in rows] == [("50", "0"), ("50", "10"), ("60.8", "12")]  # °F, as shown
    dates = [datetime.fromisoformat(row[0]) for row in rows]
    assert [(date - dates[0]).total_seconds() / 86400 for date in dates] == [0, 10, 12]
    # and it imports back to the same profile
    again = parse_profile_csv(path.read_bytes().decode(), "F")
    back = [(p.offset_days, round(p.temperature_c, 2)) for p in again.points]
    assert back == [(0, 10.0), (10, 10.0), (12, 16.0)]


def test_a_profile_is_started_part_way_paused_resumed_and_stopped(page, appliance):
    page, problems = page
    problems.expect(401)
    created = make_profile(appliance, "Run me")
    page.goto(f"/#/profiles/{created['id']}")
    panel = page.get_by_role("region", name="Run on a chamber")
    expect(panel.get_by_label("Chamber")).to_contain_text("Sample fermenter (runs Sample ale)")
    panel.get_by_label("Start at day").fill("2")
    panel.get_by_role("button", name="Start").click()
    dialog = page.get_by_role("dialog", name="Start the profile")
    expect(dialog).to_contain_text('Start "Run me" on Sample fermenter now, part-way, at day 2?')
    expect(dialog).to_contain_text('It runs "Sample ale" now: that run ends.')
    dialog.get_by_role("button", name="Start").click()
    log_in_when_asked(page, appliance)
    run = panel.locator('.run[data-chamber="1"]')
    expect(run).to_have_attribute("data-state", "running")
    chamber = rest(appliance, "GET", "/api/chambers/1")
    assert chamber["mode"] == "profile" and chamber["profile_id"] == created["id"]
    started = datetime.fromisoformat(chamber["profile_started_at"]).timestamp()
    assert abs(time.time() - started - 2 * 86400) < 60
    expect(run.locator('[data-field="progress"]')).to_contain_text("day 2.00 of 12 days", timeout=5000)
    run.get_by_role("button", name="Pause").click()
    expect(run).to_have_attribute("data-state", "paused")
    assert rest(appliance, "GET", "/api/chambers/1")["profile_paused_at"] is not None
    run.get_by_role("button", name="Resume").click()
    expect(run).to_have_attribute("data-state", "running")
    chamber = rest(appliance, "GET", "/api/chambers/1")
    assert chamber["profile_paused_at"] is None and chamber["mode"] == "profile"
    run.get_by_role("button", name="Stop").click()
    page.get_by_role("dialog", name="Stop the profile").get_by_role("button", name="Stop").click()
    expect(run).to_have_attribute("data-state", "assigned")
    chamber = rest(appliance, "GET", "/api/chambers/1")
    assert chamber["mode"] == "beer" and chamber["profile_state"] == {}
    assert chamber["beer_setpoint"] == 10.0  # the profile's temperature at day 2 holds


def test_a_start_as_if_begun_at_a_time_and_a_cancelled_confirm_change_nothing_else(page, appliance):
    page, problems = page
    problems.expect(401)
    created = make_profile(appliance, "Back-dated")
    page.goto(f"/#/profiles/{created['id']}")
    panel = page.get_by_role("region", name="Run on a chamber")
    panel.get_by_role("button", name="Start").click()
    page.get_by_role("dialog", name="Start the profile").get_by_role("button", name="Cancel").click()
    assert rest(appliance, "GET", "/api/chambers/1")["profile_id"] == 1  # still the sample
    three_days_ago = datetime.fromtimestamp(time.time() - 3 * 86400).strftime("%Y-%m-%dT%H:%M")
    panel.get_by_label("As if started at").fill(three_days_ago)
    panel.get_by_role("button", name="Start").click()
    page.get_by_role("dialog", name="Start the profile").get_by_role("button", name="Start").click()
    log_in_when_asked(page, appliance)
    expect(panel.locator('.run[data-chamber="1"]')).to_have_attribute("data-state", "running")
    chamber = rest(appliance, "GET", "/api/chambers/1")
    assert chamber["profile_id"] == created["id"]
    started = datetime.fromisoformat(chamber["profile_started_at"]).timestamp()
    assert abs(time.time() - started - 3 * 86400) < 120


def test_the_profile_pages_reflow_on_a_phone_with_labelled_44px_controls(browser, appliance):
    created = make_profile(appliance, "Layout")
    rest(appliance, "PATCH", "/api/chambers/1", {"profile_id": created["id"], "mode": "profile"})
    wrong: list[str] = []
    for viewport in ({"width": 390, "height": 844}, {"width": 1280, "height": 800}):
        page, problems = open_page(browser, appliance.base_url, viewport)
        try:
            where = f"{viewport['width']}px"
            page.goto(f"/#/profiles/{created['id']}")
            expect(page.locator('.run[data-chamber="1"] [data-field="progress"]')).to_contain_text("day 0.0")
            wrong += audit(page, f"{where} profile page")
            page.goto("/#/profiles/new/mash")
            expect(page.get_by_label("Step 1 name")).to_have_value("Saccharification")
            wrong += audit(page, f"{where} mash form")
            page.goto("/#/profiles")
            expect(page.locator(f'tr[data-profile="{created["id"]}"]')).to_contain_text("running")
            wrong += audit(page, f"{where} list")
        finally:
            page.context.close()
        assert list(problems) == [], problems
    assert wrong == [], "\n".join(wrong)

"""The IO view in real Chromium: each board's connection and last seen; controllers and
chambers created in its forms; the API's refusals shown at their fields; a hardware scan
with live readings whose sensor is assigned to a chamber; a delete that asks and cascades."""

from __future__ import annotations

import re
import urllib.error

from playwright.sync_api import expect

from devices.simulator.probes import rom_for
from tests.client.test_dashboard import card, log_in_when_asked, rest

TEMPERATURE = re.compile(r"^-?\d+\.\d °C$")


def controller_card(page, controller_id: int):
    return page.locator(f'section.io-controller[data-controller="{controller_id}"]')


def status_of(appliance, path: str) -> int:
    try:
        rest(appliance, "GET", path)
    except urllib.error.HTTPError as error:
        return error.code
    return 200


def test_the_sample_board_is_connected_with_a_recent_last_seen_and_a_missing_one_is_offline(page, appliance):
    page, _ = page
    missing = rest(
        appliance,
        "POST",
        "/api/controllers",
        {"name": "Garage", "kind": "arduino", "address": "/dev/ttyMISSING0"},
    )
    page.goto("/#/io")
    sample = controller_card(page, 1)
    expect(sample.locator('[data-field="connection"]')).to_have_text("connected")
    expect(sample.locator('[data-field="connection"]')).to_have_attribute("data-state", "online")
    expect(sample.locator('[data-field="connection-detail"]')).to_have_text("board sim, firmware 1.0.0")
    seen = sample.locator('[data-field="last-seen"]')
    expect(seen).to_have_text(re.compile(r"^last seen \d+ s ago$"))
    assert int(re.search(r"\d+", seen.inner_text()).group()) <= 12
    expect(sample).not_to_have_class(re.compile(r"\bstale\b"))

    garage = controller_card(page, missing["id"])
    expect(garage.locator('[data-field="connection"]')).to_have_text("offline")
    expect(garage.locator('[data-field="connection-detail"]')).to_contain_text("/dev/ttyMISSING0")
    expect(garage.locator('[data-field="last-seen"]')).to_have_text("never seen")


def test_a_controller_and_a_chamber_added_in_the_forms_are_stored_and_shown(page, appliance):
    page, problems = page
    problems.expect(401)
    page.goto("/#/io")
    expect(controller_card(page, 1)).to_be_visible()
    page.get_by_role("button", name="Add controller").click()
    form = page.get_by_role("dialog", name="Add a controller")
    form.get_by_label("Name").fill("Garage")
    form.get_by_label("Kind").select_option("simulator")
    form.get_by_label("Address").fill("plant=fridge seed=2")
    form.get_by_role("button", name="Add controller").click()
    log_in_when_asked(page, appliance)
    expect(form).to_be_hidden()
    stored = [c for c in rest(appliance, "GET", "/api/controllers") if c["name"] == "Garage"]
    assert (
        len(stored) == 1
        and stored[0]["kind"] == "simulator"
        and stored[0]["address"] == "plant=fridge seed=2"
    )
    garage = controller_card(page, stored[0]["id"])
    expect(garage.locator("h2")).to_have_text("Garage")
    expect(garage.locator('[data-field="connection"]')).to_have_text("connected", timeout=5000)

    garage.get_by_role("button", name="Add a chamber to Garage").click()
    form = page.get_by_role("dialog", name="Add a chamber")
    expect(form.get_by_label("Controller")).to_have_value(str(stored[0]["id"]))
    form.get_by_label("Name").fill("FV2")
    form.get_by_label("Kind").select_option("fermenter")
    form.get_by_role("button", name="Add chamber").click()
    expect(form).to_be_hidden()
    chambers = rest(appliance, "GET", f"/api/chambers?controller_id={stored[0]['id']}")
    assert [(c["name"], c["kind"]) for c in chambers] == [("FV2", "fermenter")]
    expect(garage.locator(f'section.io-chamber[data-chamber="{chambers[0]["id"]}"] h3')).to_have_text("FV2")


def test_a_refused_value_shows_the_apis_message_at_its_field_and_stores_nothing(page, appliance):
    page, problems = page
    problems.expect(401)
    problems.expect(400)
    problems.expect(409)
    page.goto("/#/io")
    expect(controller_card(page, 1)).to_be_visible()
    page.get_by_role("button", name="Add controller").click()
    form = page.get_by_role("dialog", name="Add a controller")
    name_error = form.locator('[data-error-for="name"]')
    form.get_by_label("Name").fill("Simulator")  # the sample's name
    form.get_by_role("button", name="Add controller").click()
    log_in_when_asked(page, appliance)
    expect(name_error).to_have_text("a controller named 'Simulator' exists")
    form.get_by_label("Name").fill("   ")
    form.get_by_role("button", name="Add controller").click()
    expect(name_error).to_have_text("name: String should have at least 1 character")
    form.get_by_label("Name").fill("Garage")
    form.get_by_label("Kind").select_option("arduino")
    form.get_by_label("Address").fill("COM3")
    form.get_by_role("button", name="Add controller").click()
    expect(form.locator('[data-error-for="address"]')).to_have_text(
        "address of an arduino must be a serial port such as /dev/ttyACM0"
    )
    expect(name_error).to_have_text("")
    form.get_by_role("button", name="Cancel").click()
    expect(form).to_be_hidden()
    assert [c["name"] for c in rest(appliance, "GET", "/api/controllers")] == ["Simulator"]


def test_a_scanned_sensor_reads_live_and_is_assigned_to_a_new_chamber_as_its_beer_probe(page, appliance):
    page, problems = page
    problems.expect(401)
    sample = rest(appliance, "GET", "/api/controllers/1")
    room = next(d for d in sample["chambers"][0]["devices"] if d["function"] == "room_temp")
    rest(appliance, "DELETE", f"/api/devices/{room['id']}")  # the room probe is now unused
    chamber = rest(appliance, "POST", "/api/chambers", {"controller_id": 1, "name": "FV2"})
    page.goto("/#/io")
    board = controller_card(page, 1)
    board.get_by_role("button", name="Scan hardware of Simulator").click()
    log_in_when_asked(page, appliance)
    scan = board.locator("section.scan")
    expect(scan).to_be_visible()
    rows = {name: scan.locator(f'tr[data-rom="{rom_for(name)}"]') for name in ("beer", "fridge", "room")}
    for row in rows.values():
        expect(row.locator('[data-field="reading"]')).to_have_text(TEMPERATURE, timeout=6000)
    expect(rows["beer"].locator('[data-field="used-by"]')).to_have_text(
        "Sample fermenter: Beer (Beer temperature)"
    )
    expect(rows["room"].locator('[data-field="used-by"]')).to_have_text("unused")
    expect(scan.locator('tr[data-pin="5"] [data-field="used-by"]')).to_contain_text("Compressor")
    expect(scan.locator('tr[data-pin="8"] [data-field="used-by"]')).to_have_text("unused")

    # the readings are live: the unused probe's, read in a spare board slot, is refreshed
    refreshed = page.wait_for_event(
        "response",
        lambda r: r.url.endswith("/api/controllers/1/scan") and r.request.method == "GET",
        timeout=5000,
    )
    sensors = {s["address"]: s for s in refreshed.json()["onewire"]}
    assert (
        sensors[rom_for("room")]["reading"] is not None and sensors[rom_for("room")]["slot"] == room["slot"]
    )

    rows["room"].get_by_role("button", name=f"Assign sensor {rom_for('room')}").click()
    form = page.get_by_role("dialog", name=f"Assign sensor {rom_for('room')}")
    form.get_by_label("Chamber").select_option(str(chamber["id"]))
    form.get_by_label("Function").select_option("beer_temp")
    expect(form.get_by_label("Name")).to_have_value("Beer")
    form.get_by_role("button", name="Assign").click()
    expect(form).to_be_hidden()
    devices = rest(appliance, "GET", f"/api/devices?chamber_id={chamber['id']}")
    assert [(d["name"], d["function"], d["hardware"], d["address"], d["slot"]) for d in devices] == [
        ("Beer", "beer_temp", "onewire", rom_for("room"), room["slot"])  # the lowest free slot
    ]
    expect(rows["room"].locator('[data-field="used-by"]')).to_have_text("FV2: Beer (Beer temperature)")
    expect(board.locator(f'section.io-chamber[data-chamber="{chamber["id"]}"] tbody tr')).to_have_count(1)

    page.get_by_role("link", name="Dashboard").click()
    expect(card(page, chamber["id"]).locator('[data-field="beer"]')).to_have_text(TEMPERATURE, timeout=5000)


def test_deleting_a_controller_with_a_chamber_asks_first_and_then_deletes_it_all(page, appliance):
    page, problems = page
    problems.expect(401)
    spare = rest(appliance, "POST", "/api/controllers", {"name": "Spare", "kind": "simulator"})
    chamber = rest(appliance, "POST", "/api/chambers", {"controller_id": spare["id"], "name": "FV9"})
    fan = {
        "chamber_id": chamber["id"],
        "name": "Fan",
        "function": "fan",
        "hardware": "pin",
        "address": "4",
        "slot": 1,
    }
    device = rest(appliance, "POST", "/api/devices", fan)
    page.goto("/#/io")
    board = controller_card(page, spare["id"])
    board.get_by_role("button", name="Delete controller Spare").click()
    confirm = page.get_by_role("dialog", name="Delete controller Spare?")
    expect(confirm).to_contain_text("Its 1 chamber and 1 device are deleted with it.")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    assert status_of(appliance, f"/api/controllers/{spare['id']}") == 200

    board.get_by_role("button", name="Delete controller Spare").click()
    confirm.get_by_role("button", name="Delete").click()
    log_in_when_asked(page, appliance)
    expect(confirm).to_be_hidden()
    expect(board).to_have_count(0)
    assert status_of(appliance, f"/api/controllers/{spare['id']}") == 404
    assert status_of(appliance, f"/api/chambers/{chamber['id']}") == 404
    assert status_of(appliance, f"/api/devices/{device['id']}") == 404
    expect(controller_card(page, 1)).to_be_visible()  # the others stay

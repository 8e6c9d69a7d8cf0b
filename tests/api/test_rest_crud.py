"""REST CRUD of controllers, chambers, devices and profiles against a real server
(protocol.md §4): create, list and filter, read (nested), patch, delete, conflicts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from tests.helpers import bearer, http

COLLECTIONS = ("controllers", "chambers", "devices", "profiles")


async def fetch(server, method: str, path: str, body: Any = None):
    """The raw response (for headers), authenticated with the test token."""
    headers = bearer(server)
    if body is not None:
        body = json.dumps(body)
        headers["Content-Type"] = "application/json"
    request = HTTPRequest(server.base_url + path, method=method, body=body, headers=headers)
    try:
        return await AsyncHTTPClient().fetch(request)
    except HTTPClientError as error:
        return error.response


async def create(server, things: str, body: dict[str, Any]) -> dict[str, Any]:
    status, reply = await http(server, "POST", f"/api/{things}", body)
    assert status == 201, reply
    return reply


async def get(server, path: str) -> Any:
    status, reply = await http(server, "GET", path)
    assert status == 200, reply
    return reply


async def snapshot(server) -> dict[str, Any]:
    return {name: await get(server, f"/api/{name}") for name in COLLECTIONS}


def assert_error(reply: Any, code: str, field: str | None = None) -> dict[str, Any]:
    assert isinstance(reply, dict) and set(reply) == {"error"}, reply
    error = reply["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    if field is not None:
        assert error.get("field") == field, error
    return error


async def assert_gone(server, path: str) -> None:
    status, reply = await http(server, "GET", path)
    assert status == 404, reply
    assert_error(reply, "not_found")


async def a_controller(server, name: str = "Cellar") -> dict[str, Any]:
    return await create(server, "controllers", {"name": name, "kind": "simulator", "address": "plant=fridge"})


async def a_chamber(server, controller_id: int, name: str = "Fermenter 1", **extra: Any) -> dict[str, Any]:
    return await create(server, "chambers", {"controller_id": controller_id, "name": name, **extra})


async def a_device(server, chamber_id: int, name: str = "Beer probe", **extra: Any) -> dict[str, Any]:
    body = {
        "chamber_id": chamber_id,
        "name": name,
        "function": "beer_temp",
        "hardware": "onewire",
        "address": "28FF4A1B05160352",
        **extra,
    }
    return await create(server, "devices", body)


async def a_profile(server, name: str = "Ale", **extra: Any) -> dict[str, Any]:
    body = {"name": name, "points": [{"offset_days": 0, "temperature": 19}], **extra}
    return await create(server, "profiles", body)


# ---------------------------------------------------------------------------------------------
# controllers


@pytest.mark.gen_test
async def test_controller_create_list_read_patch_delete(server):
    response = await fetch(
        server, "POST", "/api/controllers", {"name": "Cellar", "kind": "simulator", "address": "plant=fridge"}
    )
    assert response.code == 201
    created = json.loads(response.body)
    assert response.headers["Location"] == f"/api/controllers/{created['id']}"
    assert created == {
        "id": created["id"],
        "name": "Cellar",
        "kind": "simulator",
        "address": "plant=fridge",
        "enabled": True,
        "last_seen": None,
    }
    assert isinstance(created["id"], int) and created["id"] >= 1
    path = f"/api/controllers/{created['id']}"

    assert await get(server, "/api/controllers") == [created]
    assert await get(server, path) == {**created, "chambers": []}

    status, patched = await http(server, "PATCH", path, {"name": "Brew house", "enabled": False})
    assert status == 200, patched
    assert patched == {**created, "name": "Brew house", "enabled": False}
    assert await get(server, path) == {**patched, "chambers": []}
    assert await get(server, "/api/controllers") == [patched]

    status, patched2 = await http(server, "PATCH", path, {"kind": "arduino", "address": "/dev/ttyACM0"})
    assert status == 200, patched2
    assert patched2 == {**patched, "kind": "arduino", "address": "/dev/ttyACM0"}
    assert await get(server, path) == {**patched2, "chambers": []}

    status, body = await http(server, "DELETE", path)
    assert status == 204 and body == ""
    await assert_gone(server, path)
    assert await get(server, "/api/controllers") == []
    status, reply = await http(server, "DELETE", path)
    assert status == 404
    assert_error(reply, "not_found")


@pytest.mark.gen_test
async def test_patch_with_an_empty_object_changes_nothing(server):
    controller = await a_controller(server)
    status, reply = await http(server, "PATCH", f"/api/controllers/{controller['id']}", {})
    assert status == 200, reply
    assert reply == controller


@pytest.mark.gen_test
async def test_unknown_ids_are_404_for_read_patch_and_delete(server):
    await a_controller(server)
    for path in ("/api/controllers/999", "/api/chambers/999", "/api/devices/999", "/api/profiles/999"):
        for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
            status, reply = await http(server, method, path, body)
            assert status == 404, (method, path, reply)
            assert_error(reply, "not_found")
    for path in ("/api/controllers/0", "/api/controllers/99999999999999999999", "/api/controllers/abc"):
        status, reply = await http(server, "GET", path)
        assert status == 404, (path, reply)
        assert_error(reply, "not_found")


@pytest.mark.gen_test
async def test_wrong_method_on_an_item_is_405_in_the_error_shape(server):
    controller = await a_controller(server)
    before = await snapshot(server)
    for method in ("PUT", "POST"):
        status, reply = await http(server, method, f"/api/controllers/{controller['id']}", {"name": "x"})
        assert status == 405, reply
        assert_error(reply, "method_not_allowed")
    assert await snapshot(server) == before


# ---------------------------------------------------------------------------------------------
# chambers


@pytest.mark.gen_test
async def test_chamber_create_list_filter_read_patch_delete(server):
    cellar = await a_controller(server, "Cellar")
    garage = await a_controller(server, "Garage")
    body = {
        "controller_id": cellar["id"],
        "name": "Fermenter 1",
        "mode": "beer",
        "beer_setpoint": 19.5,
        "tuning": {"beer_kp": 5.0, "cool_ti_s": 1800},
        "alarm_limits": {"high_c": 25, "low_c": 10, "deviation_c": 1.5},
    }
    response = await fetch(server, "POST", "/api/chambers", body)
    assert response.code == 201
    chamber = json.loads(response.body)
    assert response.headers["Location"] == f"/api/chambers/{chamber['id']}"
    assert chamber["controller_id"] == cellar["id"]
    assert chamber["name"] == "Fermenter 1"
    assert chamber["kind"] == "fermenter"  # default
    assert chamber["mode"] == "beer"
    assert chamber["beer_setpoint"] == 19.5
    assert chamber["fridge_setpoint"] is None
    assert chamber["tuning"] == {"beer_kp": 5.0, "cool_ti_s": 1800.0}
    assert chamber["alarm_limits"]["high_c"] == 25
    assert chamber["alarm_limits"]["low_c"] == 10
    assert chamber["alarm_limits"]["deviation_c"] == 1.5
    assert chamber["profile_id"] is None
    assert chamber["profile_started_at"] is None and chamber["profile_paused_at"] is None
    path = f"/api/chambers/{chamber['id']}"

    other = await a_chamber(server, garage["id"], "Lager fridge")
    assert other["mode"] == "off" and other["beer_setpoint"] is None

    assert await get(server, "/api/chambers") == [chamber, other]
    assert await get(server, f"/api/chambers?controller_id={cellar['id']}") == [chamber]
    assert await get(server, f"/api/chambers?controller_id={garage['id']}") == [other]
    assert await get(server, "/api/chambers?controller_id=999") == []
    assert await get(server, path) == {**chamber, "devices": [], "gravity": None}

    status, patched = await http(server, "PATCH", path, {"beer_setpoint": 18.25})
    assert status == 200, patched
    assert patched == {**chamber, "beer_setpoint": 18.25}
    assert await get(server, path) == {**patched, "devices": [], "gravity": None}

    status, patched = await http(server, "PATCH", path, {"mode": "fridge", "fridge_setpoint": 4})
    assert status == 200, patched
    assert patched["mode"] == "fridge" and patched["fridge_setpoint"] == 4
    assert patched["beer_setpoint"] == 18.25  # untouched
    assert await get(server, path) == {**patched, "devices": [], "gravity": None}

    # moving a chamber to another controller
    status, moved = await http(server, "PATCH", path, {"controller_id": garage["id"]})
    assert status == 200, moved
    assert moved["controller_id"] == garage["id"]
    ids = [c["id"] for c in await get(server, f"/api/chambers?controller_id={garage['id']}")]
    assert ids == [chamber["id"], other["id"]]

    status, _ = await http(server, "DELETE", path)
    assert status == 204
    await assert_gone(server, path)
    assert await get(server, "/api/chambers") == [other]


@pytest.mark.gen_test
async def test_chamber_runs_a_profile_of_its_kind(server):
    controller = await a_controller(server)
    ale = await a_profile(server)
    mash = await create(
        server, "profiles", {"name": "Single infusion", "kind": "mash", "steps": [_step("Rest", 66, 60)]}
    )
    fermenter = await a_chamber(server, controller["id"], "FV1", mode="profile", profile_id=ale["id"])
    assert fermenter["mode"] == "profile" and fermenter["profile_id"] == ale["id"]
    tun = await a_chamber(
        server, controller["id"], "Mash tun", kind="mash", mode="profile", profile_id=mash["id"]
    )
    assert tun["kind"] == "mash" and tun["profile_id"] == mash["id"]
    kettle = await a_chamber(server, controller["id"], "Kettle", kind="kettle", profile_id=mash["id"])
    assert kettle["profile_id"] == mash["id"]
    # stop the profile: back to off, profile unassigned
    status, stopped = await http(
        server, "PATCH", f"/api/chambers/{fermenter['id']}", {"mode": "off", "profile_id": None}
    )
    assert status == 200, stopped
    assert stopped["mode"] == "off" and stopped["profile_id"] is None
    assert (await get(server, f"/api/chambers/{fermenter['id']}"))["profile_id"] is None


# ---------------------------------------------------------------------------------------------
# devices


@pytest.mark.gen_test
async def test_device_create_list_filter_read_patch_delete(server):
    controller = await a_controller(server)
    fv1 = await a_chamber(server, controller["id"], "FV1")
    # a heater on a mechanical relay: its window must hold the relay's min on and min off
    fv2 = await a_chamber(server, controller["id"], "FV2", tuning={"heat_window_s": 600})
    response = await fetch(
        server,
        "POST",
        "/api/devices",
        {
            "chamber_id": fv1["id"],
            "name": "Beer probe",
            "function": "beer_temp",
            "hardware": "onewire",
            "address": "28ff4a1b05160352",
            "calibration_offset": -0.25,
        },
    )
    assert response.code == 201
    probe = json.loads(response.body)
    assert response.headers["Location"] == f"/api/devices/{probe['id']}"
    assert probe == {
        "id": probe["id"],
        "chamber_id": fv1["id"],
        "name": "Beer probe",
        "function": "beer_temp",
        "hardware": "onewire",
        "address": "28FF4A1B05160352",
        "slot": None,
        "invert": False,
        "calibration_offset": -0.25,
        "min_on_s": 0,
        "min_off_s": 0,
    }
    heater = await a_device(
        server,
        fv2["id"],
        "Heater",
        function="heat",
        hardware="pin",
        address="5",
        slot=2,
        invert=True,
        min_on_s=120,
        min_off_s=300,
    )
    assert heater["address"] == "5" and heater["slot"] == 2 and heater["invert"] is True
    assert heater["min_on_s"] == 120 and heater["min_off_s"] == 300

    assert await get(server, "/api/devices") == [probe, heater]
    assert await get(server, f"/api/devices?chamber_id={fv1['id']}") == [probe]
    assert await get(server, f"/api/devices?chamber_id={fv2['id']}") == [heater]
    path = f"/api/devices/{probe['id']}"
    assert await get(server, path) == probe

    status, patched = await http(
        server, "PATCH", path, {"calibration_offset": 0.5, "address": "28aabbccddeeff00"}
    )
    assert status == 200, patched
    assert patched == {**probe, "calibration_offset": 0.5, "address": "28AABBCCDDEEFF00"}
    assert await get(server, path) == patched

    status, _ = await http(server, "DELETE", path)
    assert status == 204
    await assert_gone(server, path)
    assert await get(server, "/api/devices") == [heater]


# ---------------------------------------------------------------------------------------------
# profiles


def _step(name: str, temperature: float, hold_min: float, **extra: Any) -> dict[str, Any]:
    return {"name": name, "temperature": temperature, "hold_min": hold_min, **extra}


@pytest.mark.gen_test
async def test_fermentation_profile_with_points_null_temperature_and_events(server):
    points = [
        {"offset_days": 0, "temperature": 18, "event": "pitch yeast"},
        {"offset_days": 4, "temperature": 18},
        {"offset_days": 6, "temperature": 21.5, "event": "diacetyl rest"},
        {"offset_days": 9, "temperature": None, "event": "control off while dry hopping"},
        {"offset_days": 10, "temperature": 2},
    ]
    response = await fetch(
        server, "POST", "/api/profiles", {"name": "Pale ale", "notes": "WLP001", "points": points}
    )
    assert response.code == 201
    profile = json.loads(response.body)
    assert response.headers["Location"] == f"/api/profiles/{profile['id']}"
    assert profile == {
        "id": profile["id"],
        "name": "Pale ale",
        "kind": "fermentation",
        "notes": "WLP001",
        "points": [
            {"offset_days": 0.0, "temperature": 18.0, "event": "pitch yeast"},
            {"offset_days": 4.0, "temperature": 18.0, "event": None},
            {"offset_days": 6.0, "temperature": 21.5, "event": "diacetyl rest"},
            {"offset_days": 9.0, "temperature": None, "event": "control off while dry hopping"},
            {"offset_days": 10.0, "temperature": 2.0, "event": None},
        ],
        "steps": [],
    }
    path = f"/api/profiles/{profile['id']}"
    assert await get(server, path) == profile
    assert await get(server, "/api/profiles") == [profile]

    # a partial patch keeps the points
    status, patched = await http(server, "PATCH", path, {"notes": "WLP001, 23 l"})
    assert status == 200, patched
    assert patched == {**profile, "notes": "WLP001, 23 l"}
    assert await get(server, path) == patched

    # new points replace the old ones, in order
    new_points = [{"offset_days": 0, "temperature": 12}, {"offset_days": 0.5, "temperature": None}]
    status, patched = await http(server, "PATCH", path, {"points": new_points})
    assert status == 200, patched
    assert patched["points"] == [
        {"offset_days": 0.0, "temperature": 12.0, "event": None},
        {"offset_days": 0.5, "temperature": None, "event": None},
    ]
    assert patched["notes"] == "WLP001, 23 l"
    assert await get(server, path) == patched

    status, _ = await http(server, "DELETE", path)
    assert status == 204
    await assert_gone(server, path)
    assert await get(server, "/api/profiles") == []


@pytest.mark.gen_test
async def test_mash_profile_with_ramp_and_confirm_steps(server):
    steps = [
        _step("Mash in", 52, 10, confirm=True),
        _step("Saccharification", 66, 60, ramp_c_per_min=1.5),
        _step("Mash out", 78, 10, ramp_c_per_min=2, confirm=True),
    ]
    profile = await create(server, "profiles", {"name": "Step mash", "kind": "mash", "steps": steps})
    assert profile["kind"] == "mash" and profile["points"] == []
    assert profile["steps"] == [
        {"name": "Mash in", "temperature": 52.0, "hold_min": 10.0, "ramp_c_per_min": None, "confirm": True},
        {
            "name": "Saccharification",
            "temperature": 66.0,
            "hold_min": 60.0,
            "ramp_c_per_min": 1.5,
            "confirm": False,
        },
        {"name": "Mash out", "temperature": 78.0, "hold_min": 10.0, "ramp_c_per_min": 2.0, "confirm": True},
    ]
    path = f"/api/profiles/{profile['id']}"
    assert await get(server, path) == profile

    status, patched = await http(server, "PATCH", path, {"steps": [steps[1]], "name": "Single infusion"})
    assert status == 200, patched
    assert patched["name"] == "Single infusion"
    assert [s["name"] for s in patched["steps"]] == ["Saccharification"]
    assert await get(server, path) == patched

    status, _ = await http(server, "DELETE", path)
    assert status == 204
    await assert_gone(server, path)


# ---------------------------------------------------------------------------------------------
# nested read


@pytest.mark.gen_test
async def test_controller_read_nests_its_chambers_and_their_devices(server):
    cellar = await a_controller(server, "Cellar")
    other = await a_controller(server, "Other")
    fv1 = await a_chamber(server, cellar["id"], "FV1")
    fv2 = await a_chamber(server, cellar["id"], "FV2", mode="beer", beer_setpoint=12)
    elsewhere = await a_chamber(server, other["id"], "Elsewhere")
    probe = await a_device(server, fv1["id"], "Beer probe")
    cooler = await a_device(server, fv1["id"], "Cooler", function="cool", hardware="pin", address="7")
    fan = await a_device(server, fv2["id"], "Fan", function="fan", hardware="pin", address="8")
    await a_device(server, elsewhere["id"], "Probe elsewhere")

    nested = await get(server, f"/api/controllers/{cellar['id']}")
    assert {k: v for k, v in nested.items() if k != "chambers"} == cellar
    assert nested["chambers"] == [
        {**fv1, "devices": [probe, cooler], "gravity": None},
        {**fv2, "devices": [fan], "gravity": None},
    ]
    # the same as reading each chamber
    for chamber in nested["chambers"]:
        assert await get(server, f"/api/chambers/{chamber['id']}") == chamber
    # a patched device shows up changed in the nested read
    await http(server, "PATCH", f"/api/devices/{fan['id']}", {"name": "Circulation fan"})
    nested = await get(server, f"/api/controllers/{cellar['id']}")
    assert nested["chambers"][1]["devices"][0]["name"] == "Circulation fan"


# ---------------------------------------------------------------------------------------------
# duplicate names


@pytest.mark.gen_test
async def test_controller_names_are_unique(server):
    cellar = await a_controller(server, "Cellar")
    before = await snapshot(server)
    for name in ("Cellar", "  Cellar  "):
        status, reply = await http(server, "POST", "/api/controllers", {"name": name, "kind": "simulator"})
        assert status == 409, reply
        assert_error(reply, "conflict", "name")
        assert await snapshot(server) == before
    garage = await a_controller(server, "Garage")
    before = await snapshot(server)
    status, reply = await http(server, "PATCH", f"/api/controllers/{garage['id']}", {"name": "Cellar"})
    assert status == 409, reply
    assert_error(reply, "conflict", "name")
    assert await snapshot(server) == before
    # renaming onto its own name is no conflict
    status, reply = await http(server, "PATCH", f"/api/controllers/{cellar['id']}", {"name": "Cellar"})
    assert status == 200, reply


@pytest.mark.gen_test
async def test_chamber_names_are_unique_per_controller(server):
    cellar = await a_controller(server, "Cellar")
    garage = await a_controller(server, "Garage")
    await a_chamber(server, cellar["id"], "FV1")
    before = await snapshot(server)
    status, reply = await http(
        server, "POST", "/api/chambers", {"controller_id": cellar["id"], "name": "FV1"}
    )
    assert status == 409, reply
    assert_error(reply, "conflict", "name")
    assert await snapshot(server) == before
    # the same name under another controller is fine
    same_name = await a_chamber(server, garage["id"], "FV1")
    fv2 = await a_chamber(server, cellar["id"], "FV2")
    before = await snapshot(server)
    # renaming onto a sibling's name
    status, reply = await http(server, "PATCH", f"/api/chambers/{fv2['id']}", {"name": "FV1"})
    assert status == 409, reply
    assert_error(reply, "conflict", "name")
    assert await snapshot(server) == before
    # moving onto a controller that has a chamber of that name
    status, reply = await http(
        server, "PATCH", f"/api/chambers/{same_name['id']}", {"controller_id": cellar["id"]}
    )
    assert status == 409, reply
    assert_error(reply, "conflict", "name")
    assert await snapshot(server) == before


@pytest.mark.gen_test
async def test_device_names_are_unique_per_chamber(server):
    controller = await a_controller(server)
    fv1 = await a_chamber(server, controller["id"], "FV1")
    fv2 = await a_chamber(server, controller["id"], "FV2")
    await a_device(server, fv1["id"], "Probe")
    before = await snapshot(server)
    status, reply = await http(
        server,
        "POST",
        "/api/devices",
        {
            "chamber_id": fv1["id"],
            "name": "Probe",
            "function": "fridge_temp",
            "hardware": "onewire",
            "address": "28FF4A1B05160353",
        },
    )
    assert status == 409, reply
    assert_error(reply, "conflict", "name")
    assert await snapshot(server) == before
    await a_device(server, fv2["id"], "Probe")  # another chamber: fine
    heater = await a_device(server, fv1["id"], "Heater", function="heat", hardware="pin", address="3")
    before = await snapshot(server)
    status, reply = await http(server, "PATCH", f"/api/devices/{heater['id']}", {"name": "Probe"})
    assert status == 409, reply
    assert_error(reply, "conflict", "name")
    assert await snapshot(server) == before


@pytest.mark.gen_test
async def test_profile_names_are_unique(server):
    await a_profile(server, "Ale")
    before = await snapshot(server)
    status, reply = await http(server, "POST", "/api/profiles", {"name": "Ale", "kind": "mash"})
    assert status == 409, reply
    assert_error(reply, "conflict", "name")
    assert await snapshot(server) == before
    lager = await a_profile(server, "Lager")
    before = await snapshot(server)
    status, reply = await http(server, "PATCH", f"/api/profiles/{lager['id']}", {"name": "Ale"})
    assert status == 409, reply
    assert_error(reply, "conflict", "name")
    assert await snapshot(server) == before


# ---------------------------------------------------------------------------------------------
# missing parents


@pytest.mark.gen_test
async def test_missing_parents_are_404_naming_the_field(server):
    controller = await a_controller(server)
    chamber = await a_chamber(server, controller["id"])
    before = await snapshot(server)
    cases = [
        ("POST", "/api/chambers", {"controller_id": 999, "name": "FV9"}, "controller_id"),
        (
            "POST",
            "/api/devices",
            {"chamber_id": 999, "name": "P", "function": "heat", "hardware": "pin", "address": "1"},
            "chamber_id",
        ),
        (
            "POST",
            "/api/chambers",
            {"controller_id": controller["id"], "name": "FV9", "profile_id": 999},
            "profile_id",
        ),
        (
            "POST",
            "/api/chambers",
            {"controller_id": controller["id"], "name": "FV9", "mode": "profile", "profile_id": 999},
            "profile_id",
        ),
        ("PATCH", f"/api/chambers/{chamber['id']}", {"controller_id": 999}, "controller_id"),
        ("PATCH", f"/api/chambers/{chamber['id']}", {"profile_id": 999}, "profile_id"),
    ]
    device = await a_device(server, chamber["id"])
    before = await snapshot(server)
    cases.append(("PATCH", f"/api/devices/{device['id']}", {"chamber_id": 999}, "chamber_id"))
    for method, path, body, field in cases:
        status, reply = await http(server, method, path, body)
        assert status == 404, (body, reply)
        error = assert_error(reply, "not_found", field)
        assert "999" in error["message"]
        assert await snapshot(server) == before


# ---------------------------------------------------------------------------------------------
# deletes that are refused or cascade


@pytest.mark.gen_test
async def test_deleting_a_controller_with_chambers_needs_cascade(server):
    cellar = await a_controller(server, "Cellar")
    keep = await a_controller(server, "Keep")
    fv1 = await a_chamber(server, cellar["id"], "FV1")
    fv2 = await a_chamber(server, cellar["id"], "FV2")
    kept_chamber = await a_chamber(server, keep["id"], "Kept")
    d1 = await a_device(server, fv1["id"], "P1")
    d2 = await a_device(server, fv2["id"], "P2")
    kept_device = await a_device(server, kept_chamber["id"], "Kept probe")
    before = await snapshot(server)

    for query in ("", "?cascade=false"):
        status, reply = await http(server, "DELETE", f"/api/controllers/{cellar['id']}{query}")
        assert status == 409, reply
        error = assert_error(reply, "conflict")
        assert "cascade" in error["message"]
        assert await snapshot(server) == before

    status, reply = await http(server, "DELETE", f"/api/controllers/{cellar['id']}?cascade=maybe")
    assert status == 400, reply
    assert_error(reply, "validation", "cascade")
    assert await snapshot(server) == before

    status, _ = await http(server, "DELETE", f"/api/controllers/{cellar['id']}?cascade=true")
    assert status == 204
    await assert_gone(server, f"/api/controllers/{cellar['id']}")
    for chamber in (fv1, fv2):
        await assert_gone(server, f"/api/chambers/{chamber['id']}")
    for device in (d1, d2):
        await assert_gone(server, f"/api/devices/{device['id']}")
    assert await get(server, "/api/controllers") == [keep]
    assert await get(server, "/api/chambers") == [kept_chamber]
    assert await get(server, "/api/devices") == [kept_device]


@pytest.mark.gen_test
async def test_deleting_an_empty_controller_needs_no_cascade(server):
    controller = await a_controller(server)
    status, _ = await http(server, "DELETE", f"/api/controllers/{controller['id']}")
    assert status == 204
    await assert_gone(server, f"/api/controllers/{controller['id']}")


@pytest.mark.gen_test
async def test_deleting_a_chamber_with_devices_needs_cascade(server):
    controller = await a_controller(server)
    chamber = await a_chamber(server, controller["id"])
    device = await a_device(server, chamber["id"])
    before = await snapshot(server)
    status, reply = await http(server, "DELETE", f"/api/chambers/{chamber['id']}")
    assert status == 409, reply
    assert_error(reply, "conflict")
    assert await snapshot(server) == before
    status, _ = await http(server, "DELETE", f"/api/chambers/{chamber['id']}?cascade=true")
    assert status == 204
    await assert_gone(server, f"/api/chambers/{chamber['id']}")
    await assert_gone(server, f"/api/devices/{device['id']}")
    assert (await get(server, f"/api/controllers/{controller['id']}"))["chambers"] == []


@pytest.mark.gen_test
async def test_a_chamber_running_a_profile_cannot_be_deleted(server):
    controller = await a_controller(server)
    profile = await a_profile(server)
    chamber = await a_chamber(server, controller["id"], mode="profile", profile_id=profile["id"])
    before = await snapshot(server)
    for query in ("", "?cascade=true"):
        status, reply = await http(server, "DELETE", f"/api/chambers/{chamber['id']}{query}")
        assert status == 409, reply
        assert_error(reply, "conflict")
        assert await snapshot(server) == before
    # nor its controller, even with cascade
    status, reply = await http(server, "DELETE", f"/api/controllers/{controller['id']}?cascade=true")
    assert status == 409, reply
    assert_error(reply, "conflict")
    assert await snapshot(server) == before
    # once stopped it can go
    status, _ = await http(server, "PATCH", f"/api/chambers/{chamber['id']}", {"mode": "off"})
    assert status == 200
    status, _ = await http(server, "DELETE", f"/api/chambers/{chamber['id']}")
    assert status == 204
    await assert_gone(server, f"/api/chambers/{chamber['id']}")


@pytest.mark.gen_test
async def test_a_profile_assigned_to_a_chamber_cannot_be_deleted(server):
    controller = await a_controller(server)
    profile = await a_profile(server)
    running = await a_chamber(server, controller["id"], "FV1", mode="profile", profile_id=profile["id"])
    before = await snapshot(server)
    status, reply = await http(server, "DELETE", f"/api/profiles/{profile['id']}")
    assert status == 409, reply
    assert_error(reply, "conflict")
    assert await snapshot(server) == before
    # assigned but not running still protects it
    await http(server, "PATCH", f"/api/chambers/{running['id']}", {"mode": "off"})
    before = await snapshot(server)
    status, reply = await http(server, "DELETE", f"/api/profiles/{profile['id']}")
    assert status == 409, reply
    assert await snapshot(server) == before
    # unassigned: it can go
    status, _ = await http(server, "PATCH", f"/api/chambers/{running['id']}", {"profile_id": None})
    assert status == 200
    status, _ = await http(server, "DELETE", f"/api/profiles/{profile['id']}")
    assert status == 204
    await assert_gone(server, f"/api/profiles/{profile['id']}")


# ---------------------------------------------------------------------------------------------
# chamber kind and profile kind stay consistent from both sides


@pytest.mark.gen_test
async def test_chamber_kind_cannot_change_away_from_its_profile_kind(server):
    controller = await a_controller(server)
    profile = await a_profile(server)
    chamber = await a_chamber(server, controller["id"], profile_id=profile["id"])
    before = await snapshot(server)
    status, reply = await http(server, "PATCH", f"/api/chambers/{chamber['id']}", {"kind": "mash"})
    assert status == 400, reply
    assert_error(reply, "validation", "profile_id")
    assert await snapshot(server) == before


@pytest.mark.gen_test
async def test_profile_kind_cannot_change_under_a_chamber_that_uses_it(server):
    controller = await a_controller(server)
    profile = await a_profile(server)
    chamber = await a_chamber(server, controller["id"], mode="profile", profile_id=profile["id"])
    before = await snapshot(server)
    status, reply = await http(
        server,
        "PATCH",
        f"/api/profiles/{profile['id']}",
        {"kind": "mash", "points": [], "steps": [_step("Rest", 66, 60)]},
    )
    assert status in (400, 409), reply
    assert reply["error"]["message"], reply
    assert await snapshot(server) == before
    # the fermenter still runs a fermentation profile
    assert (await get(server, f"/api/profiles/{chamber['profile_id']}"))["kind"] == "fermentation"

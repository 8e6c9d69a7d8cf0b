"""Every validation rule of app/api/schemas.py through the real REST API: a refused request
answers 400/413/415 in the error shape of protocol.md §4, names the field, never yields a
500 and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from app.control.tuning import tuning_fields
from tests.helpers import assert_error, connect, http

COLLECTIONS = ("controllers", "chambers", "devices", "profiles")
JSON = {"Content-Type": "application/json"}
ONEWIRE = "28FF4A1B05160352"


async def get(server, path: str) -> Any:
    status, reply = await http(server, "GET", path)
    assert status == 200, reply
    return reply


async def snapshot(server) -> dict[str, Any]:
    state = {name: await get(server, f"/api/{name}") for name in COLLECTIONS}
    state["settings"] = await get(server, "/api/settings")
    return state


async def create(server, things: str, body: dict[str, Any]) -> dict[str, Any]:
    status, reply = await http(server, "POST", f"/api/{things}", body)
    assert status == 201, reply
    return reply


async def world(server) -> dict[str, int]:
    """A controller, a fermenter, a mash tun, a device and one profile of each kind."""
    controller = await create(server, "controllers", {"name": "Cellar", "kind": "simulator"})
    ale = await create(server, "profiles", {"name": "Ale", "points": [{"offset_days": 0, "temperature": 19}]})
    mash = await create(
        server,
        "profiles",
        {"name": "Infusion", "kind": "mash", "steps": [{"name": "Rest", "temperature": 66, "hold_min": 60}]},
    )
    fermenter = await create(server, "chambers", {"controller_id": controller["id"], "name": "FV1"})
    tun = await create(server, "chambers", {"controller_id": controller["id"], "name": "Tun", "kind": "mash"})
    probe = await create(
        server,
        "devices",
        {
            "chamber_id": fermenter["id"],
            "name": "Probe",
            "function": "beer_temp",
            "hardware": "onewire",
            "address": ONEWIRE,
        },
    )
    heater = await create(
        server,
        "devices",
        {
            "chamber_id": fermenter["id"],
            "name": "Heater",
            "function": "heat",
            "hardware": "pin",
            "address": "4",
        },
    )
    return {
        "controller": controller["id"],
        "fermenter": fermenter["id"],
        "tun": tun["id"],
        "probe": probe["id"],
        "heater": heater["id"],
        "ale": ale["id"],
        "mash": mash["id"],
    }


async def refused(
    server,
    method: str,
    path: str,
    body: Any,
    *,
    field: str | None = None,
    words: tuple[str, ...] = (),
    status: int = 400,
    code: str = "validation",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Send a bad request; check the error shape, its field and words, and that nothing changed."""
    before = await snapshot(server)
    got, reply = await http(server, method, path, body, headers)
    assert got < 500, reply
    error = assert_error(got, reply, status, code)
    if field is not None:
        assert error.get("field") == field, error
    for word in words:
        assert word in error["message"], (word, error)
    assert await snapshot(server) == before
    return error


# ---------------------------------------------------------------------------------------------
# creates: (collection, body from the ids of `world`, field at fault or None, words in the message)

Body = Callable[[dict[str, int]], dict[str, Any]]


def controller(**fields: Any) -> Body:
    return lambda ids: {"name": "New", "kind": "simulator", **fields}


def chamber(**fields: Any) -> Body:
    return lambda ids: {"controller_id": ids["controller"], "name": "New", **fields}


def device(**fields: Any) -> Body:
    return lambda ids: {
        "chamber_id": ids["fermenter"],
        "name": "New",
        "function": "beer_temp",
        "hardware": "onewire",
        "address": ONEWIRE,
        **fields,
    }


def profile(**fields: Any) -> Body:
    return lambda ids: {"name": "New", **fields}


def point(offset: float = 0, temperature: Any = 20, **extra: Any) -> dict[str, Any]:
    return {"offset_days": offset, "temperature": temperature, **extra}


def step(**fields: Any) -> dict[str, Any]:
    return {"name": "Rest", "temperature": 66, "hold_min": 60, **fields}


def without(body: Body, key: str) -> Body:
    return lambda ids: {k: v for k, v in body(ids).items() if k != key}


BAD_CREATES = [
    # controllers: types, ranges, unknown fields
    ("controllers", controller(name=5), "name", ()),
    ("controllers", controller(name=""), "name", ()),
    ("controllers", controller(name="   "), "name", ()),
    ("controllers", controller(name="x" * 65), "name", ()),
    ("controllers", controller(name=None), "name", ()),
    ("controllers", without(controller(), "name"), "name", ()),
    ("controllers", controller(kind="esp32"), "kind", ()),
    ("controllers", without(controller(), "kind"), "kind", ()),
    ("controllers", controller(enabled="maybe"), "enabled", ()),
    ("controllers", controller(enabled=[True]), "enabled", ()),
    ("controllers", controller(enabled="yes"), "enabled", ()),  # as public_read "yes" is refused
    ("controllers", controller(address=5), "address", ()),
    ("controllers", controller(address="x" * 257), "address", ()),
    ("controllers", controller(colour="red"), "colour", ("unknown field",)),
    ("controllers", controller(last_seen="2024-01-01T00:00:00Z"), "last_seen", ("unknown field",)),
    ("controllers", controller(id=7), "id", ("unknown field",)),
    # controller address per kind
    ("controllers", controller(kind="arduino", address=""), None, ("arduino", "serial port")),
    ("controllers", controller(kind="arduino", address="COM3"), None, ("arduino",)),
    ("controllers", controller(kind="arduino", address="/dev/"), None, ("arduino",)),
    ("controllers", controller(kind="arduino", address="10.0.0.5:6666"), None, ("arduino",)),
    ("controllers", controller(kind="sparkcore", address=""), None, ("sparkcore", "host:port")),
    ("controllers", controller(kind="sparkcore", address="10.0.0.5"), None, ("sparkcore",)),
    ("controllers", controller(kind="sparkcore", address="10.0.0.5:0"), None, ("sparkcore",)),
    ("controllers", controller(kind="sparkcore", address="10.0.0.5:65536"), None, ("sparkcore",)),
    ("controllers", controller(kind="sparkcore", address="10.0.0.5:99999"), None, ("sparkcore",)),
    ("controllers", controller(kind="sparkcore", address="spark core:6666"), None, ("sparkcore",)),
    ("controllers", controller(kind="sparkcore", address="10.0.0.5:port"), None, ("sparkcore",)),
    # chambers: setpoints
    ("chambers", chamber(beer_setpoint=111), "beer_setpoint", ("beer_setpoint",)),
    ("chambers", chamber(beer_setpoint=-6), "beer_setpoint", ("beer_setpoint",)),
    ("chambers", chamber(beer_setpoint=110.01), "beer_setpoint", ()),
    ("chambers", chamber(beer_setpoint="hot"), "beer_setpoint", ()),
    # wrong JSON types are not coerced: a boolean is no temperature, "20" is a string
    ("chambers", chamber(beer_setpoint=True), "beer_setpoint", ()),
    ("chambers", chamber(beer_setpoint="20"), "beer_setpoint", ()),
    ("chambers", chamber(controller_id=True), "controller_id", ()),
    ("chambers", chamber(fridge_setpoint=200), "fridge_setpoint", ("fridge_setpoint",)),
    ("chambers", chamber(fridge_setpoint=-5.5), "fridge_setpoint", ()),
    ("chambers", chamber(controller_id="abc"), "controller_id", ()),
    ("chambers", chamber(controller_id=0), "controller_id", ()),
    ("chambers", chamber(controller_id=-1), "controller_id", ()),
    ("chambers", chamber(controller_id=2**53 + 1), "controller_id", ()),
    ("chambers", chamber(controller_id=1.5), "controller_id", ()),
    ("chambers", without(chamber(), "controller_id"), "controller_id", ()),
    ("chambers", chamber(name=""), "name", ()),
    ("chambers", chamber(kind="brewery"), "kind", ()),
    ("chambers", chamber(mode="auto"), "mode", ()),
    ("chambers", chamber(profile_id=0), "profile_id", ()),
    (
        "chambers",
        chamber(profile_started_at="2024-01-01T00:00:00Z"),
        "profile_started_at",
        ("unknown field",),
    ),
    ("chambers", chamber(colour="red"), "colour", ("unknown field",)),
    # chambers: what a mode needs
    ("chambers", chamber(mode="beer"), None, ("mode beer needs beer_setpoint",)),
    ("chambers", chamber(mode="beer", fridge_setpoint=4), None, ("beer_setpoint",)),
    ("chambers", chamber(mode="fridge"), None, ("fridge_setpoint",)),
    ("chambers", chamber(kind="mash", mode="fridge", fridge_setpoint=4), None, ("fridge", "mash")),
    ("chambers", chamber(kind="kettle", mode="fridge", fridge_setpoint=4), None, ("fridge", "kettle")),
    ("chambers", chamber(mode="profile"), None, ("mode profile needs profile_id",)),
    # chambers: tuning
    ("chambers", chamber(tuning="fast"), "tuning", ()),
    ("chambers", chamber(tuning={"kp": -1}), "tuning.kp", ()),
    ("chambers", chamber(tuning={"kp": 1e7}), "tuning.kp", ()),
    ("chambers", chamber(tuning={"kp": "x"}), "tuning.kp", ()),
    ("chambers", chamber(tuning={"Kp": 1}), None, ("tuning",)),
    ("chambers", chamber(tuning={"1kp": 1}), None, ("tuning",)),
    ("chambers", chamber(tuning={f"k{i}": 1 for i in range(33)}), "tuning", ()),
    # chambers: tuning keys of the chamber's kind, within their bounds (docs/control.md)
    ("chambers", chamber(tuning={"ti_s": 1800}), "tuning.ti_s", ("not a tuning key of a fermenter",)),
    ("chambers", chamber(kind="mash", tuning={"ti_s": 0}), "tuning.ti_s", ("from 5 to", "got 0")),
    ("chambers", chamber(kind="kettle", tuning={"window_s": 0}), "tuning.window_s", ("got 0",)),
    ("chambers", chamber(kind="kettle", tuning={"beer_kp": 12}), "tuning.beer_kp", ("kettle",)),
    ("chambers", chamber(tuning={"cool_window_s": 120}), "tuning.cool_window_s", ("from 300",)),
    ("chambers", chamber(tuning={"cool_min_on_s": 60}), "tuning.cool_min_on_s", ("device",)),
    ("chambers", chamber(tuning={"dead_s": 86400.5}), "tuning.dead_s", ()),
    # chambers: alarm limits
    ("chambers", chamber(alarm_limits={"low_c": 20, "high_c": 20}), "alarm_limits", ("low_c", "high_c")),
    ("chambers", chamber(alarm_limits={"low_c": 25, "high_c": 20}), "alarm_limits", ("low_c", "high_c")),
    ("chambers", chamber(alarm_limits={"high_c": 111}), "alarm_limits.high_c", ()),
    ("chambers", chamber(alarm_limits={"low_c": -6}), "alarm_limits.low_c", ()),
    ("chambers", chamber(alarm_limits={"deviation_c": 0}), "alarm_limits.deviation_c", ()),
    ("chambers", chamber(alarm_limits={"deviation_c": 20.5}), "alarm_limits.deviation_c", ()),
    ("chambers", chamber(alarm_limits={"deviation_delay_min": -1}), "alarm_limits.deviation_delay_min", ()),
    ("chambers", chamber(alarm_limits={"deviation_delay_min": 1441}), "alarm_limits.deviation_delay_min", ()),
    ("chambers", chamber(alarm_limits={"panic_c": 1}), "alarm_limits.panic_c", ("unknown field",)),
    ("chambers", chamber(alarm_limits=[1, 2]), "alarm_limits", ()),
    # devices
    ("devices", device(function="thermometer"), "function", ()),
    ("devices", device(hardware="i2c"), "hardware", ()),
    ("devices", without(device(), "address"), "address", ()),
    ("devices", device(address=28), "address", ()),
    ("devices", device(address="2" * 33), "address", ()),
    ("devices", device(chamber_id="FV1"), "chamber_id", ()),
    ("devices", device(function="beer_temp", hardware="pin", address="3"), None, ("onewire",)),
    ("devices", device(function="room_temp", hardware="pin", address="3"), None, ("onewire",)),
    ("devices", device(function="heat", hardware="onewire"), None, ("pin",)),
    ("devices", device(function="door", hardware="onewire"), None, ("pin",)),
    ("devices", device(address="28FF4A1B0516035"), None, ("16 hex",)),
    ("devices", device(address="28FF4A1B051603520"), None, ("16 hex",)),
    ("devices", device(address="28FF4A1B0516035G"), None, ("16 hex",)),
    ("devices", device(address="28:FF:4A:1B:05:16:03:52"), None, ("16 hex",)),
    ("devices", device(address=""), None, ("16 hex",)),
    ("devices", device(function="heat", hardware="pin", address="64"), None, ("0 to 63",)),
    ("devices", device(function="heat", hardware="pin", address="-1"), None, ("0 to 63",)),
    ("devices", device(function="heat", hardware="pin", address="A0"), None, ("0 to 63",)),
    ("devices", device(function="heat", hardware="pin", address=""), None, ("0 to 63",)),
    ("devices", device(function="heat", hardware="pin", address="1.5"), None, ("0 to 63",)),
    (
        "devices",
        device(function="heat", hardware="pin", address="\u0663"),
        None,
        ("0 to 63",),
    ),  # Arabic-Indic 3
    (
        "devices",
        device(function="heat", hardware="pin", address="\u00b2"),
        None,
        ("0 to 63",),
    ),  # superscript 2
    ("devices", device(slot=0), "slot", ()),
    ("devices", device(slot=33), "slot", ()),
    ("devices", device(slot=1.5), "slot", ()),
    ("devices", device(invert="sometimes"), "invert", ()),
    ("devices", device(calibration_offset=5.1), "calibration_offset", ()),
    ("devices", device(calibration_offset=-5.1), "calibration_offset", ()),
    ("devices", device(min_on_s=-1), "min_on_s", ()),
    ("devices", device(min_off_s=86401), "min_off_s", ()),
    ("devices", device(min_on_s=1.5), "min_on_s", ()),
    ("devices", device(colour="red"), "colour", ("unknown field",)),
    # profiles
    ("profiles", profile(kind="lager"), "kind", ()),
    ("profiles", profile(name=""), "name", ()),
    ("profiles", profile(notes="n" * 4097), "notes", ()),
    ("profiles", profile(points="flat"), "points", ()),
    ("profiles", profile(points=[point(i / 100) for i in range(1001)]), "points", ()),
    ("profiles", profile(points=[point(-1)]), "points.0.offset_days", ()),
    ("profiles", profile(points=[point(3651)]), "points.0.offset_days", ()),
    ("profiles", profile(points=[point(0, 111)]), "points.0.temperature", ()),
    ("profiles", profile(points=[point(0, -6)]), "points.0.temperature", ()),
    ("profiles", profile(points=[point(0, "warm")]), "points.0.temperature", ()),
    ("profiles", profile(points=[{"offset_days": 0}]), "points.0.temperature", ()),
    ("profiles", profile(points=[point(0, 20, event="e" * 257)]), "points.0.event", ()),
    ("profiles", profile(points=[point(0, 20, colour="red")]), "points.0.colour", ("unknown field",)),
    (
        "profiles",
        profile(points=[point(0), point(2), point(1)]),
        None,
        ("points[2].offset_days", "backwards"),
    ),
    ("profiles", profile(steps=[step()]), None, ("fermentation", "steps")),
    ("profiles", profile(kind="fermentation", steps=[step()]), None, ("fermentation", "steps")),
    ("profiles", profile(kind="mash", points=[point()]), None, ("mash", "points")),
    ("profiles", profile(kind="mash", steps=[step(temperature=106)]), "steps.0.temperature", ()),
    ("profiles", profile(kind="mash", steps=[step(temperature=-1)]), "steps.0.temperature", ()),
    ("profiles", profile(kind="mash", steps=[step(hold_min=1441)]), "steps.0.hold_min", ()),
    ("profiles", profile(kind="mash", steps=[step(hold_min=-1)]), "steps.0.hold_min", ()),
    ("profiles", profile(kind="mash", steps=[step(ramp_c_per_min=0)]), "steps.0.ramp_c_per_min", ()),
    ("profiles", profile(kind="mash", steps=[step(ramp_c_per_min=10.5)]), "steps.0.ramp_c_per_min", ()),
    ("profiles", profile(kind="mash", steps=[step(confirm="please")]), "steps.0.confirm", ()),
    ("profiles", profile(kind="mash", steps=[step(name="")]), "steps.0.name", ()),
    ("profiles", profile(kind="mash", steps=[step()] * 51), "steps", ()),
]


@pytest.mark.parametrize(
    ("things", "body", "field", "words"),
    BAD_CREATES,
    ids=[
        f"{things}-{index}-{(field or words[0]).replace(' ', '_')}"
        for index, (things, _, field, words) in enumerate(BAD_CREATES)
    ],
)
@pytest.mark.gen_test
async def test_bad_create_is_refused_naming_the_problem(server, things, body, field, words):
    ids = await world(server)
    error = await refused(server, "POST", f"/api/{things}", body(ids), field=field, words=words)
    if field is not None:
        # the message names the field too, for a human reading it
        assert field.split(".")[0] in error["message"], error


@pytest.mark.gen_test
async def test_beer_setpoint_out_of_range_names_field_and_range(server):
    ids = await world(server)
    for value in (111, -6):
        error = await refused(
            server, "POST", "/api/chambers", chamber(beer_setpoint=value)(ids), field="beer_setpoint"
        )
        assert "beer_setpoint" in error["message"]
        assert "110" in error["message"] or "-5" in error["message"], error


@pytest.mark.gen_test
async def test_chamber_kind_must_match_profile_kind(server):
    ids = await world(server)
    cases = [
        ("fermenter", ids["mash"]),
        ("mash", ids["ale"]),
        ("kettle", ids["ale"]),
    ]
    for kind, profile_id in cases:
        for mode in ("off", "profile"):
            body = chamber(kind=kind, mode=mode, profile_id=profile_id)(ids)
            error = await refused(server, "POST", "/api/chambers", body, field="profile_id")
            assert kind in error["message"], error
    # and the matching kinds are fine
    for kind, profile_id in (("fermenter", ids["ale"]), ("mash", ids["mash"]), ("kettle", ids["mash"])):
        await create(server, "chambers", chamber(name=f"Good {kind}", kind=kind, profile_id=profile_id)(ids))


@pytest.mark.gen_test
async def test_a_tuning_patch_that_cannot_run_is_refused_naming_the_key_and_changes_nothing(server):
    """Such a PATCH used to be stored, and the server then exited at its next start."""
    ids = await world(server)
    fermenter, tun = f"/api/chambers/{ids['fermenter']}", f"/api/chambers/{ids['tun']}"
    for path, tuning in ((fermenter, {"beer_kp": 8, "dead_s": 300}), (tun, {"ti_s": 90, "window_s": 600})):
        status, reply = await http(server, "PATCH", path, {"tuning": tuning})
        assert status == 200 and reply["tuning"] == tuning, reply
    cases = [
        # 0 where the control objects cannot run with it
        (tun, {"ti_s": 0}, ("from 5 to 1000000 s", "got 0")),
        (tun, {"window_s": 0}, ("got 0",)),
        (tun, {"element_lag_s": 0}, ()),
        (fermenter, {"cool_window_s": 0}, ()),
        (fermenter, {"clamp_c": 0}, ()),
        (fermenter, {"beer_kp": 0}, ()),
        # unknown for the chamber's kind, or set by the wiring
        (fermenter, {"ti_s": 1800}, ("not a tuning key of a fermenter", "beer_ti_s")),
        (tun, {"beer_kp": 5}, ("not a tuning key of a mash",)),
        (tun, {"dead_s": 300}, ()),
        (fermenter, {"heat_min_on_s": 30}, ("heat output device's min_on_s",)),
        # out of bounds
        (tun, {"boil_c": 120}, ("from 80 to 105 °C",)),
        (tun, {"room_c": -40}, ()),
        (fermenter, {"beer_ti_s": 2e6}, ()),
        (fermenter, {"neutral_zone_c": -1}, ()),
    ]
    for path, tuning, words in cases:
        key = next(iter(tuning))
        await refused(server, "PATCH", path, {"tuning": tuning}, field=f"tuning.{key}", words=words)
        # the same key next to good ones is refused too
        body = {"tuning": {"dead_s": 600, **tuning} if path == fermenter else {"ti_s": 60, **tuning}}
        await refused(server, "PATCH", path, body, field=f"tuning.{key}")
    assert (await get(server, fermenter))["tuning"] == {"beer_kp": 8.0, "dead_s": 300.0}
    assert (await get(server, tun))["tuning"] == {"ti_s": 90.0, "window_s": 600.0}


@pytest.mark.gen_test
async def test_the_kind_a_patch_leaves_decides_which_tuning_keys_exist(server):
    ids = await world(server)
    tun = f"/api/chambers/{ids['tun']}"
    status, reply = await http(server, "PATCH", tun, {"tuning": {"ti_s": 90}})
    assert status == 200, reply
    # the stored mash keys do not exist on a fermenter
    await refused(server, "PATCH", tun, {"kind": "fermenter"}, field="tuning.ti_s", words=("fermenter",))
    # the stored kind decides for a patch of the tuning alone
    await refused(server, "PATCH", tun, {"tuning": {"beer_kp": 8}}, field="tuning.beer_kp")
    status, reply = await http(server, "PATCH", tun, {"kind": "fermenter", "tuning": {"beer_kp": 8}})
    assert status == 200 and reply["kind"] == "fermenter" and reply["tuning"] == {"beer_kp": 8.0}, reply
    status, reply = await http(server, "PATCH", tun, {"kind": "kettle", "tuning": {}})
    assert status == 200 and reply["kind"] == "kettle" and reply["tuning"] == {}, reply


@pytest.mark.gen_test
async def test_a_duty_window_must_hold_its_outputs_min_on_and_min_off(server):
    """A relay that must stay on 120 s never fits a 10 s SSR window: the chamber would not heat."""
    ids = await world(server)
    fermenter, heater = f"/api/chambers/{ids['fermenter']}", f"/api/devices/{ids['heater']}"
    await refused(server, "PATCH", heater, {"min_on_s": 120}, field="min_on_s", words=("heat_window_s",))
    status, reply = await http(server, "PATCH", fermenter, {"tuning": {"heat_window_s": 600}})
    assert status == 200, reply
    status, reply = await http(server, "PATCH", heater, {"min_on_s": 120, "min_off_s": 600})
    assert status == 200, reply
    error = await refused(
        server, "PATCH", fermenter, {"tuning": {"heat_window_s": 300}}, field="tuning.heat_window_s"
    )
    assert "min_off_s (600 s)" in error["message"], error
    # a second heater must fit as well, and so must a compressor (180 s / 300 s at least)
    second = device(name="Heater 2", function="heat", hardware="pin", address="9", min_off_s=900)(ids)
    await refused(server, "POST", "/api/devices", second, field="min_off_s")
    # (a PATCH of tuning replaces it whole)
    windows = {"heat_window_s": 600, "cool_window_s": 300}
    status, reply = await http(server, "PATCH", fermenter, {"tuning": windows})
    assert status == 200, reply
    compressor = device(name="Compressor", function="cool", hardware="pin", address="10", min_on_s=400)(ids)
    await refused(server, "POST", "/api/devices", compressor, field="min_on_s", words=("cool_window_s",))
    await create(server, "devices", {**compressor, "min_on_s": 300})
    # the wired min times stay what the chamber's tuning is checked against
    await refused(server, "PATCH", fermenter, {"tuning": {}}, field="tuning.heat_window_s")
    assert (await get(server, fermenter))["tuning"] == windows


# ---------------------------------------------------------------------------------------------
# accepted edges of the same rules


@pytest.mark.gen_test
async def test_boundary_values_are_accepted(server):
    ids = await world(server)
    for index, (setpoint, fridge) in enumerate(((-5, 110), (110, -5))):
        made = await create(
            server,
            "chambers",
            chamber(name=f"Edge {index}", beer_setpoint=setpoint, fridge_setpoint=fridge)(ids),
        )
        assert made["beer_setpoint"] == setpoint and made["fridge_setpoint"] == fridge
    for address in ("/dev/ttyACM0", "/dev/serial/by-id/usb-Arduino_Uno-if00"):
        made = await create(server, "controllers", {"name": address, "kind": "arduino", "address": address})
        assert made["address"] == address
    for index, address in enumerate(("10.0.0.5:6666", "brewpi.local:1", "spark:65535", "/dev/ttyUSB0")):
        made = await create(
            server, "controllers", {"name": f"Spark {index}", "kind": "sparkcore", "address": address}
        )
        assert made["address"] == address
    for pin in ("0", "63"):
        made = await create(
            server, "devices", device(name=f"Pin {pin}", function="cool", hardware="pin", address=pin)(ids)
        )
        assert made["address"] == pin
    for index, slot in enumerate((1, 32)):
        made = await create(
            server, "devices", device(name=f"Slot {slot}", slot=slot, address=f"28FF4A1B0516035{index}")(ids)
        )
        assert made["slot"] == slot


@pytest.mark.gen_test
async def test_every_tuning_key_is_accepted_at_both_bounds(server):
    ids = await world(server)
    for kind in ("fermenter", "mash", "kettle"):
        for end in ("low", "high"):
            tuning = {name: getattr(bound, end) for name, bound in tuning_fields(kind).items()}
            made = await create(
                server, "chambers", chamber(name=f"{kind} {end}", kind=kind, tuning=tuning)(ids)
            )
            assert made["tuning"] == tuning


@pytest.mark.gen_test
async def test_lowercase_onewire_address_is_stored_uppercase(server):
    ids = await world(server)
    made = await create(server, "devices", device(name="Lower", address="28ff4a1b0516abcd")(ids))
    assert made["address"] == "28FF4A1B0516ABCD"
    assert (await get(server, f"/api/devices/{made['id']}"))["address"] == "28FF4A1B0516ABCD"
    status, patched = await http(
        server, "PATCH", f"/api/devices/{made['id']}", {"address": "28ff4a1b0516ef01"}
    )
    assert status == 200, patched
    assert patched["address"] == "28FF4A1B0516EF01"
    assert (await get(server, f"/api/devices/{made['id']}"))["address"] == "28FF4A1B0516EF01"


# ---------------------------------------------------------------------------------------------
# patches are validated against the whole merged row


def bad_patches(ids: dict[str, int]) -> list[tuple[str, dict[str, Any], str | None, tuple[str, ...]]]:
    chamber_path = f"/api/chambers/{ids['fermenter']}"
    return [
        (f"/api/controllers/{ids['controller']}", {"kind": "arduino"}, None, ("arduino",)),
        (
            f"/api/controllers/{ids['controller']}",
            {"kind": "sparkcore", "address": "host"},
            None,
            ("sparkcore",),
        ),
        (f"/api/controllers/{ids['controller']}", {"name": None}, "name", ()),
        (f"/api/controllers/{ids['controller']}", {"name": ""}, "name", ()),
        (f"/api/controllers/{ids['controller']}", {"enabled": "maybe"}, "enabled", ()),
        (f"/api/controllers/{ids['controller']}", {"colour": "red"}, "colour", ("unknown field",)),
        (f"/api/controllers/{ids['controller']}", {"id": 5}, "id", ("unknown field",)),
        (chamber_path, {"beer_setpoint": 111}, "beer_setpoint", ("beer_setpoint",)),
        (chamber_path, {"beer_setpoint": -6}, "beer_setpoint", ("beer_setpoint",)),
        (chamber_path, {"mode": "beer"}, None, ("beer_setpoint",)),
        (chamber_path, {"mode": "fridge"}, None, ("fridge_setpoint",)),
        (chamber_path, {"mode": "profile"}, None, ("profile_id",)),
        (chamber_path, {"profile_id": ids["mash"]}, "profile_id", ()),
        (chamber_path, {"mode": "profile", "profile_id": ids["mash"]}, "profile_id", ()),
        (chamber_path, {"kind": "mash", "mode": "fridge", "fridge_setpoint": 4}, None, ("fridge",)),
        (chamber_path, {"tuning": {"Kp": 1}}, None, ("tuning",)),
        (chamber_path, {"tuning": {"kp": -1}}, None, ("tuning",)),
        (chamber_path, {"alarm_limits": {"low_c": 30, "high_c": 20}}, "alarm_limits", ("low_c",)),
        (chamber_path, {"profile_state": {}}, "profile_state", ("unknown field",)),
        (f"/api/chambers/{ids['tun']}", {"mode": "fridge", "fridge_setpoint": 4}, None, ("fridge", "mash")),
        (f"/api/chambers/{ids['tun']}", {"profile_id": ids["ale"]}, "profile_id", ()),
        (f"/api/devices/{ids['probe']}", {"hardware": "pin"}, None, ("onewire",)),
        (f"/api/devices/{ids['probe']}", {"address": "zz"}, None, ("16 hex",)),
        (f"/api/devices/{ids['probe']}", {"function": "heat"}, None, ("pin",)),
        (f"/api/devices/{ids['heater']}", {"address": "64"}, None, ("0 to 63",)),
        (f"/api/devices/{ids['heater']}", {"slot": 33}, "slot", ()),
        (f"/api/devices/{ids['heater']}", {"calibration_offset": 6}, "calibration_offset", ()),
        (f"/api/profiles/{ids['ale']}", {"kind": "mash"}, None, ("mash", "points")),
        (f"/api/profiles/{ids['ale']}", {"steps": [step()]}, None, ("steps",)),
        (f"/api/profiles/{ids['ale']}", {"points": [point(3), point(1)]}, None, ("backwards",)),
        (f"/api/profiles/{ids['ale']}", {"points": [point(0, 111)]}, "points.0.temperature", ()),
        (f"/api/profiles/{ids['mash']}", {"points": [point()]}, None, ("mash", "points")),
        (f"/api/profiles/{ids['mash']}", {"steps": [step(ramp_c_per_min=0)]}, "steps.0.ramp_c_per_min", ()),
        (f"/api/profiles/{ids['mash']}", {"id": 9}, "id", ("unknown field",)),
    ]


@pytest.mark.gen_test
async def test_bad_patches_are_refused_and_change_nothing(server):
    ids = await world(server)
    for path, body, field, words in bad_patches(ids):
        await refused(server, "PATCH", path, body, field=field, words=words)


# ---------------------------------------------------------------------------------------------
# bodies that are not a JSON object


BAD_BODIES = [
    # (raw body, headers, status, code, field)
    ('{"name":"X","kind":"simulator","enabled":NaN}', JSON, 400, "bad_json", "body"),
    ('{"name":"X","kind":"simulator","enabled":Infinity}', JSON, 400, "bad_json", "body"),
    ('{"name":"X","kind":"simulator","enabled":-Infinity}', JSON, 400, "bad_json", "body"),
    ('{"name":"X","kind":"simulator"', JSON, 400, "bad_json", "body"),
    ("", JSON, 400, "bad_json", "body"),
    ("{'name': 'X'}", JSON, 400, "bad_json", "body"),
    (b'{"name":"\xff\xfe","kind":"simulator"}', JSON, 400, None, None),
    ('[{"name":"X","kind":"simulator"}]', JSON, 400, "validation", None),
    ("null", JSON, 400, "validation", None),
    ("42", JSON, 400, "validation", None),
    ('"X"', JSON, 400, "validation", None),
    ('{"name":"X","kind":"simulator"}', {"Content-Type": "text/plain"}, 415, "unsupported_media_type", None),
    ("name=X&kind=simulator", {"Content-Type": "application/x-www-form-urlencoded"}, 415, None, None),
    ('{"name":"X","kind":"simulator"}', {"Content-Type": "text/csv"}, 415, "unsupported_media_type", None),
]


@pytest.mark.parametrize(("raw", "headers", "status", "code", "field"), BAD_BODIES)
@pytest.mark.parametrize("target", ["POST /api/controllers", "PATCH /api/controllers/1"])
@pytest.mark.gen_test
async def test_bodies_that_are_not_a_json_object_are_refused(
    server, target, raw, headers, status, code, field
):
    await create(server, "controllers", {"name": "Cellar", "kind": "simulator"})
    method, path = target.split(" ")
    before = await snapshot(server)
    got, reply = await http(server, method, path, raw, headers)
    assert got == status, reply
    error = reply["error"]
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error
    assert error["message"], error
    assert await snapshot(server) == before


@pytest.mark.gen_test
async def test_nan_setpoint_is_refused(server):
    ids = await world(server)
    raw = json.dumps(chamber()(ids))[:-1] + ',"beer_setpoint":NaN}'
    await refused(
        server, "POST", "/api/chambers", raw, headers=JSON, code="bad_json", field="body", words=("NaN",)
    )
    raw = '{"beer_setpoint":Infinity}'
    await refused(
        server, "PATCH", f"/api/chambers/{ids['fermenter']}", raw, headers=JSON, code="bad_json", field="body"
    )
    # a number too large for a float reads as infinity: out of range, not stored
    raw = '{"beer_setpoint":1e400}'
    await refused(
        server, "PATCH", f"/api/chambers/{ids['fermenter']}", raw, headers=JSON, field="beer_setpoint"
    )


@pytest.mark.gen_test
async def test_body_over_256_kib_is_413(server):
    ids = await world(server)
    big = {"name": "Big", "notes": "n" * (256 * 1024)}
    await refused(server, "POST", "/api/profiles", big, status=413, code="too_large")
    await refused(server, "PATCH", f"/api/profiles/{ids['ale']}", big, status=413, code="too_large")
    # just under the limit is read (and refused only for its content)
    nearly = json.dumps({"name": "Big", "notes": "n" * (256 * 1024 - 40)})
    assert len(nearly.encode()) <= 256 * 1024
    await refused(server, "POST", "/api/profiles", nearly, headers=JSON, field="notes")


@pytest.mark.gen_test
async def test_deeply_nested_json_is_a_400_not_a_500(server):
    await world(server)
    depth = 100_000
    raw = '{"name":"X","kind":"simulator","address":' + "[" * depth + "]" * depth + "}"
    assert len(raw) < 256 * 1024
    await refused(server, "POST", "/api/controllers", raw, headers=JSON, code="bad_json", field="body")


@pytest.mark.gen_test
async def test_lone_surrogate_in_a_name_is_a_400_not_a_500(server):
    await world(server)
    raw = '{"name":"Cellar \\ud800","kind":"simulator"}'
    await refused(server, "POST", "/api/controllers", raw, headers=JSON, field="name")


# ---------------------------------------------------------------------------------------------
# queries


@pytest.mark.gen_test
async def test_bad_collection_filters_are_400(server):
    await world(server)
    for path, field in (
        ("/api/chambers?controller_id=abc", "controller_id"),
        ("/api/chambers?controller_id=0", "controller_id"),
        ("/api/chambers?controller_id=-1", "controller_id"),
        ("/api/devices?chamber_id=1.5", "chamber_id"),
        ("/api/devices?chamber_id=99999999999999999999", "chamber_id"),
    ):
        status, reply = await http(server, "GET", path)
        error = assert_error(status, reply, 400, "validation")
        assert error["field"] == field


# ---------------------------------------------------------------------------------------------
# no input yields a 500


FUZZ_VALUES = [None, True, 0, -1, 1.5, 2**63, 10**30, "", "x" * 300, "\u0000", "ü", [], [1], {}, {"a": 1}]
FUZZ_FIELDS = {
    "controllers": ["name", "kind", "address", "enabled"],
    "chambers": [
        "controller_id",
        "name",
        "kind",
        "mode",
        "beer_setpoint",
        "fridge_setpoint",
        "tuning",
        "alarm_limits",
        "profile_id",
    ],
    "devices": [
        "chamber_id",
        "name",
        "function",
        "hardware",
        "address",
        "slot",
        "invert",
        "calibration_offset",
        "min_on_s",
        "min_off_s",
    ],
    "profiles": ["name", "kind", "notes", "points", "steps"],
}


@pytest.mark.gen_test(timeout=60)
async def test_no_field_value_yields_a_500(server):
    ids = await world(server)
    valid = {
        "controllers": controller()(ids),
        "chambers": chamber()(ids),
        "devices": device()(ids),
        "profiles": profile()(ids),
    }
    items = {
        "controllers": ids["controller"],
        "chambers": ids["fermenter"],
        "devices": ids["probe"],
        "profiles": ids["ale"],
    }
    for things, fields in FUZZ_FIELDS.items():
        for name in fields:
            for value in FUZZ_VALUES:
                body = {**valid[things], name: value}
                status, reply = await http(server, "POST", f"/api/{things}", body)
                assert status < 500, (things, name, value, reply)
                if status == 201:
                    status, reply = await http(server, "DELETE", f"/api/{things}/{reply['id']}")
                    assert status == 204, reply
                status, reply = await http(server, "PATCH", f"/api/{things}/{items[things]}", {name: value})
                assert status < 500, (things, name, value, reply)


@pytest.mark.gen_test
async def test_deeply_nested_json_published_over_http_is_a_400_not_a_500(server):
    depth = 30_000
    raw = "[" * depth + "]" * depth
    status, reply = await http(server, "POST", "/api/channels/test", raw, JSON)
    assert status == 400, reply
    assert reply["error"]["code"] == "bad_json" and reply["error"]["field"] == "body", reply
    assert all(channel["published"] == 0 for channel in server.hub.stats())


@pytest.mark.gen_test
async def test_deeply_nested_websocket_frame_gets_an_error_reply_and_stays_open(server):
    client = await connect(server)
    depth = 30_000  # 60 KB: under the 64 KiB frame limit
    client.send('{"action":"publish","channel":"test","id":1,"data":' + "[" * depth + "]" * depth + "}")
    reply = await client.recv()
    assert reply["error"]["code"] == "bad_json", reply
    # the connection is still usable
    reply = await client.request({"action": "ping", "id": 2})
    assert reply["id"] == 2, reply

"""HTTP feeds on a real server: every body form, the iSpindel family's bodies, tokens where
devices can put them, and refusals (400/401/403/415) that change nothing."""

from __future__ import annotations

import json
import logging
import urllib.parse

import pytest

from tests.helpers import assert_error, connect, cookie_header, http, login

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
ISPINDEL_5 = {  # firmware 5.x, "HTTP" service, temperature in °C
    "name": "iSpindel000",
    "ID": 1234567,
    "angle": 45.12,
    "temperature": 21.5,
    "temp_units": "C",
    "battery": 4.05,
    "gravity": 12.3,
    "interval": 900,
    "RSSI": -67,
}
ISPINDEL_7_F = {  # firmware 7.x set to °F, with the token field it sends when one is set
    "name": "Red Spindel",
    "ID": 7654321,
    "angle": 30.5,
    "temperature": 68.9,
    "temp_units": "F",
    "battery": 3.9,
    "gravity": 1.0485,
    "interval": 600,
    "RSSI": -71,
}
GRAVITYMON = {
    "name": "gravmon",
    "ID": "2E6753",
    "interval": 900,
    "temperature": 293.65,
    "temp_units": "K",
    "gravity": 1.005,
    "angle": 45.34,
    "battery": 3.67,
    "rssi": -12,
    "corr-gravity": 1.0051,
    "gravity-unit": "G",
    "run-time": 6,
}
TILTBRIDGE = {  # TiltBridge's Brewfather-style body: numbers as strings, always °F and SG
    "name": "Red",
    "temp": "68.0",
    "temp_unit": "F",
    "gravity": "1.0500",
    "gravity_unit": "G",
    "device_source": "TiltBridge",
}
BREWFATHER_STREAM = {
    "name": "Fermzilla",
    "temp": 19.5,
    "aux_temp": 18.0,
    "temp_unit": "C",
    "gravity": 12.1,
    "gravity_unit": "P",
    "pressure": 0.8,
    "pressure_unit": "BAR",
    "ph": 4.4,
    "bpm": 12,
    "comment": "",
    "beer": "Pale",
}


def form(**fields: str) -> str:
    return urllib.parse.urlencode(fields)


async def subscribed(server):
    client = await connect(server)
    assert "result" in await client.request({"action": "subscribe", "channel": "ingest/#", "id": 1})
    return client


def by_series(reply) -> dict[str, dict]:
    return {sample["series"]: sample for sample in reply["samples"]}


def readings(reply) -> dict[str, tuple]:
    """series -> (value, unit) of a feed's answer."""
    return {name: (sample["value"], sample["unit"]) for name, sample in by_series(reply).items()}


@pytest.mark.gen_test
async def test_json_value_is_recorded_published_and_answered(server, sink):
    watcher = await subscribed(server)
    status, reply = await http(server, "POST", "/api/feeds/cellar/room", {"value": 12.5, "unit": "°C"})
    assert status == 200, reply
    [sample] = reply["samples"]
    assert sample == {
        "series": "cellar/room",
        "ts": sample["ts"],
        "kind": "measurement",
        "value": 12.5,
        "unit": "°C",
    }
    message = await watcher.recv()
    assert message["channel"] == "ingest/cellar/room" and message["data"] == sample
    assert [(s.series, s.value, s.unit) for s in sink.samples] == [("cellar/room", 12.5, "°C")]


@pytest.mark.parametrize(
    ("body", "ts"),
    [
        ({"value": 1, "ts": 1763891000}, "2025-11-23T09:43:20.000Z"),
        ({"value": "1.048", "ts": "1763891000.25"}, "2025-11-23T09:43:20.250Z"),
        ({"value": 1, "ts": "2025-11-23T10:43:20+01:00"}, "2025-11-23T09:43:20.000Z"),
    ],
)
@pytest.mark.gen_test
async def test_json_ts_as_epoch_seconds_or_iso(server, sink, fixed_times_kept, body, ts):
    status, reply = await http(server, "POST", "/api/feeds/logger", body)
    assert status == 200, reply
    assert reply["samples"][0]["ts"] == ts


@pytest.mark.gen_test
async def test_form_value_and_the_loggers_x_y_form(server, sink, fixed_times_kept):
    status, reply = await http(server, "POST", "/api/feeds/logger", form(value="19.5"), FORM)
    assert status == 200, reply
    status, reply = await http(server, "POST", "/api/feeds/logger", form(value="19.6", ts="1763891000"), FORM)
    assert status == 200 and reply["samples"][0]["ts"] == "2025-11-23T09:43:20.000Z"
    status, reply = await http(server, "POST", "/api/feeds/logger", form(x="1763891001", y="19.7"), FORM)
    assert status == 200 and reply["samples"][0]["ts"] == "2025-11-23T09:43:21.000Z", reply
    status, reply = await http(server, "POST", "/api/feeds/logger", form(y="19.8"), FORM)
    assert status == 200, reply
    assert [s.value for s in sink.samples] == [19.5, 19.6, 19.7, 19.8]


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        ({"value": "NaN"}, JSON, "value"),
        ({"value": "abc"}, JSON, "value"),
        ({"value": True}, JSON, "value"),
        ({"value": None}, JSON, "value"),
        ({"value": [1]}, JSON, "value"),
        ({"value": "1e999"}, JSON, "value"),
        ('{"value": 1' + "0" * 400 + "}", JSON, "value"),  # an integer beyond float's range
        ({}, JSON, "value"),
        ({"value": 1, "extra": 2}, JSON, "extra"),
        ({"value": 1, "ts": "yesterday"}, JSON, "ts"),
        ({"value": 1, "ts": 4102444800}, JSON, "ts"),
        ({"value": 1, "ts": "2025-11-23T09:00:00"}, JSON, "ts"),
        ({"value": 1, "unit": "u" * 17}, JSON, "unit"),
        ('{"value": NaN}', JSON, "body"),
        ("[1, 2]", JSON, "body"),
        ("{oops", JSON, "body"),
        (form(value="19,5"), FORM, "value"),
        (form(x="1763891000"), FORM, "y"),
        (form(x="1763891000", y="1", z="2"), FORM, "z"),
        (form(x="soon", y="1"), FORM, "x"),
        (form(y="abc"), FORM, "y"),
        (form(other="1"), FORM, "other"),
    ],
)
@pytest.mark.gen_test
async def test_bad_readings_are_400_naming_the_field_and_change_nothing(server, sink, body, headers, field):
    payload = body if isinstance(body, str) else json.dumps(body)
    status, reply = await http(server, "POST", "/api/feeds/logger", payload, headers)
    assert assert_error(status, reply, 400).get("field") == field, reply
    assert sink.samples == [] and "ingest/logger" not in server.hub.channels


@pytest.mark.parametrize(
    ("series", "words"),
    [
        ("Beer", "bad series name"),
        ("chamber/1/beer", "server's own"),
        ("a//b", "each side"),
        ("x" * 65, "1-64"),
    ],
)
@pytest.mark.gen_test
async def test_bad_series_names_are_400(server, sink, series, words):
    status, reply = await http(server, "POST", f"/api/feeds/{series}", {"value": 1})
    error = assert_error(status, reply, 400)
    assert error["field"] == "series" and words in error["message"]
    assert sink.samples == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "multipart/form-data; boundary=x"},
        {"Content-Type": "text/csv"},
    ],
)
@pytest.mark.gen_test
async def test_other_content_types_are_415(server, sink, headers):
    status, reply = await http(server, "POST", "/api/feeds/logger", "value=1", headers)
    assert_error(status, reply, 415, "unsupported_media_type")
    status, reply = await http(server, "POST", "/api/feeds/ispindel", json.dumps(ISPINDEL_5), headers)
    assert_error(status, reply, 415, "unsupported_media_type")
    status, reply = await http(server, "POST", "/api/feeds/ispindel", form(name="x", angle="1"), FORM)
    assert_error(status, reply, 415)  # a hydrometer body is JSON
    assert sink.samples == []


@pytest.mark.gen_test
async def test_body_over_the_limit_is_413(server, sink):
    status, reply = await http(server, "POST", "/api/feeds/logger", {"value": 1, "unit": "x" * 20_000})
    assert_error(status, reply, 413)


# -- tokens ------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_token_in_the_url_or_the_header(server, sink):
    path = f"/api/feeds/logger?token={server.test_token}"
    assert (await http(server, "POST", path, {"value": 1}, auth=False))[0] == 200
    assert (await http(server, "POST", "/api/feeds/logger", {"value": 2}))[0] == 200
    assert [s.value for s in sink.samples] == [1.0, 2.0]


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        ("/api/feeds/logger", {}, {"value": 1}),
        ("/api/feeds/logger?token=wrong", {}, {"value": 1}),
        ("/api/feeds/logger?token=", {}, {"value": 1}),
        ("/api/feeds/logger", {"Authorization": "Bearer wrong"}, {"value": 1}),
        ("/api/feeds/logger", {}, {"value": 1, "token": "TOKEN"}),  # the body token is iSpindel's only
        ("/api/feeds/ispindel", {}, ISPINDEL_5),
        ("/api/feeds/ispindel", {}, {**ISPINDEL_5, "token": "wrong"}),
        ("/api/feeds/ispindel", {}, {**ISPINDEL_5, "token": ""}),
        ("/api/feeds/ispindel", {}, {**ISPINDEL_5, "token": 5}),
        ("/api/feeds/ispindel?token=wrong", {}, {**ISPINDEL_5, "token": "TOKEN"}),
        ("/api/feeds/ispindel", {"Content-Type": "text/plain"}, "not json"),
        ("/api/feeds/ispindel", {}, "{broken"),
    ],
)
@pytest.mark.gen_test
async def test_missing_or_bad_tokens_are_401_and_change_nothing(server, sink, path, headers, body):
    if isinstance(body, dict):
        body = json.dumps({k: server.test_token if v == "TOKEN" else v for k, v in body.items()})
    status, reply = await http(
        server, "POST", path, body, {"Content-Type": "application/json", **headers}, auth=False
    )
    assert_error(status, reply, 401, "unauthorized")
    assert sink.samples == []


@pytest.mark.gen_test
async def test_a_revoked_token_is_401_wherever_it_is_sent(server, sink):
    token_id, token = await server.auth.issue_token("spindel")
    assert (await http(server, "POST", "/api/feeds/ispindel", {**ISPINDEL_5, "token": token}, auth=False))[
        0
    ] == 200
    await server.auth.revoke_token(token_id)
    for path, body in (
        ("/api/feeds/ispindel", {**ISPINDEL_5, "token": token}),
        (f"/api/feeds/ispindel?token={token}", ISPINDEL_5),
        (f"/api/feeds/logger?token={token}", {"value": 1}),
    ):
        status, reply = await http(server, "POST", path, body, auth=False)
        assert_error(status, reply, 401)
    assert len(sink.batches) == 1


@pytest.mark.gen_test
async def test_a_session_needs_its_xsrf_header(server, sink):
    jar, xsrf = await login(server)
    status, reply = await http(
        server, "POST", "/api/feeds/logger", {"value": 1}, cookie_header(jar), auth=False
    )
    assert_error(status, reply, 403, "xsrf")
    headers = {**cookie_header(jar), "X-XSRFToken": xsrf}
    assert (await http(server, "POST", "/api/feeds/logger", {"value": 1}, headers, auth=False))[0] == 200
    assert len(sink.samples) == 1


@pytest.mark.gen_test
async def test_tokens_never_reach_the_log(server, sink, caplog):
    caplog.set_level(logging.DEBUG)
    token = server.test_token
    await http(server, "POST", f"/api/feeds/logger?token={token}", {"value": 1}, auth=False)
    await http(server, "POST", f"/api/feeds/logger?token={token}", {"value": "bad"}, auth=False)
    await http(server, "POST", f"/api/feeds/ispindel?token={token}", "{", JSON, auth=False)
    await http(server, "POST", "/api/feeds/ispindel", {**ISPINDEL_5, "token": token}, auth=False)
    await http(server, "POST", "/api/feeds/logger?token=not-a-real-token", {"value": 1}, auth=False)
    assert "POST /api/feeds/logger" in caplog.text  # the requests were logged, by path
    assert token not in caplog.text and "not-a-real-token" not in caplog.text


# -- hydrometers -------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_ispindel_5_body_with_the_token_field(server, sink):
    watcher = await subscribed(server)
    body = {**ISPINDEL_5, "token": server.test_token}
    status, reply = await http(server, "POST", "/api/feeds/ispindel", body, auth=False)
    assert status == 200, reply
    got = readings(reply)
    assert got == {
        "ispindel000/angle": (45.12, "°"),
        "ispindel000/temperature": (21.5, "°C"),
        "ispindel000/battery": (4.05, "V"),
        "ispindel000/gravity": (12.3, "°P"),  # no unit said: iSpindel's default polynomial is °P
        "ispindel000/interval": (900, "s"),
        "ispindel000/rssi": (-67, "dBm"),
    }
    published = [(await watcher.recv())["channel"] for _ in got]
    assert published == [f"ingest/{name}" for name in got]
    assert len(sink.batches) == 1 and len(sink.batches[0]) == 6  # one batch per body


@pytest.mark.gen_test
async def test_ispindel_7_in_fahrenheit_is_stored_in_celsius_with_the_url_token_and_unit(server, sink):
    path = f"/api/feeds/ispindel?token={server.test_token}&gravity_unit=SG"
    status, reply = await http(server, "POST", path, ISPINDEL_7_F, auth=False)
    assert status == 200, reply
    samples = by_series(reply)
    assert samples["red_spindel/temperature"]["value"] == pytest.approx(20.5)
    assert samples["red_spindel/temperature"]["unit"] == "°C"
    assert (
        samples["red_spindel/gravity"]["value"] == 1.0485 and samples["red_spindel/gravity"]["unit"] == "SG"
    )


@pytest.mark.gen_test
async def test_gravitymon_kelvin_its_unit_hint_and_extension_fields(server, sink):
    status, reply = await http(server, "POST", "/api/feeds/ispindel?gravity_unit=P", GRAVITYMON)
    assert status == 200, reply
    samples = by_series(reply)
    assert samples["gravmon/temperature"]["value"] == pytest.approx(20.5)
    assert samples["gravmon/gravity"]["unit"] == "SG"  # the body's own hint beats the URL's
    assert samples["gravmon/corr_gravity"]["value"] == 1.0051
    assert samples["gravmon/rssi"]["value"] == -12
    assert "gravmon/run-time" not in samples and len(samples) == 7


@pytest.mark.gen_test
async def test_tiltbridge_body_with_numbers_as_strings(server, sink):
    status, reply = await http(server, "POST", "/api/feeds/ispindel", TILTBRIDGE)
    assert status == 200, reply
    samples = by_series(reply)
    assert set(samples) == {"red/temperature", "red/gravity"}
    assert samples["red/temperature"]["value"] == pytest.approx(20.0)
    assert samples["red/gravity"] == {**samples["red/gravity"], "value": 1.05, "unit": "SG"}


@pytest.mark.gen_test
async def test_brewfather_stream_body(server, sink):
    status, reply = await http(server, "POST", "/api/feeds/ispindel", BREWFATHER_STREAM)
    assert status == 200, reply
    got = readings(reply)
    assert got == {
        "fermzilla/temperature": (19.5, "°C"),
        "fermzilla/aux_temperature": (18.0, "°C"),
        "fermzilla/gravity": (12.1, "°P"),
        "fermzilla/pressure": (0.8, "bar"),
        "fermzilla/ph": (4.4, "pH"),
        "fermzilla/bpm": (12, "bpm"),
    }


@pytest.mark.gen_test
async def test_null_fields_are_not_measured(server, sink):
    body = {**ISPINDEL_5, "gravity": None, "corr-gravity": None, "RSSI": None}
    status, reply = await http(server, "POST", "/api/feeds/ispindel", body)
    assert status == 200 and set(by_series(reply)) == {
        "ispindel000/angle",
        "ispindel000/temperature",
        "ispindel000/battery",
        "ispindel000/interval",
    }


@pytest.mark.gen_test
async def test_a_nameless_ispindel_is_named_by_its_chip_id(server, sink):
    body = {key: value for key, value in ISPINDEL_5.items() if key != "name"}
    status, reply = await http(server, "POST", "/api/feeds/ispindel", body)
    assert status == 200 and "ispindel_1234567/angle" in by_series(reply)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ISPINDEL_5, "angle": "abc"}, "angle"),
        ({**ISPINDEL_5, "gravity": "NaN"}, "gravity"),
        ({**ISPINDEL_5, "battery": True}, "battery"),
        ({**ISPINDEL_5, "RSSI": {"dBm": -60}}, "RSSI"),
        ({**ISPINDEL_5, "temperature": "1e999"}, "temperature"),
        ({**ISPINDEL_5, "temp_units": "X"}, "temp_units"),
        ({**ISPINDEL_5, "temp_units": 1}, "temp_units"),
        ({**ISPINDEL_5, "gravity-unit": "brix"}, "gravity-unit"),
        ({**TILTBRIDGE, "gravity_unit": "Q"}, "gravity_unit"),
        ({**TILTBRIDGE, "temp": "warm"}, "temp"),
        ({**BREWFATHER_STREAM, "pressure_unit": "atm"}, "pressure_unit"),
        ({key: value for key, value in ISPINDEL_5.items() if key not in ("name", "ID")}, "name"),
        ({**ISPINDEL_5, "name": "  "}, "name"),
        ({**ISPINDEL_5, "name": "Chamber"}, "name"),
        ({"name": "x", "colour": "red"}, "body"),
    ],
)
@pytest.mark.gen_test
async def test_bad_hydrometer_bodies_are_400_naming_the_field_and_change_nothing(server, sink, body, field):
    status, reply = await http(server, "POST", "/api/feeds/ispindel", body)
    assert assert_error(status, reply, 400).get("field") == field, reply
    assert sink.samples == []


@pytest.mark.gen_test
async def test_a_bad_gravity_unit_in_the_url_is_400(server, sink):
    status, reply = await http(server, "POST", "/api/feeds/ispindel?gravity_unit=brix", ISPINDEL_5)
    assert assert_error(status, reply, 400)["field"] == "gravity_unit"


@pytest.mark.gen_test
async def test_the_openapi_document_describes_both_feeds(server):
    _, document = await http(server, "GET", "/api/openapi.json", auth=False)
    series = document["paths"]["/api/feeds/{series}"]["post"]
    assert set(series["requestBody"]["content"]) == {"application/json", "application/x-www-form-urlencoded"}
    assert {"400", "401", "403", "413", "415"} <= set(series["responses"])
    assert any(p["name"] == "token" and p["in"] == "query" for p in series["parameters"])
    ispindel = document["paths"]["/api/feeds/ispindel"]["post"]
    assert set(ispindel["requestBody"]["content"]) == {"application/json"}
    assert {p["name"] for p in ispindel["parameters"]} == {"token", "gravity_unit"}
    publish = document["paths"]["/publish"]["post"]["requestBody"]["content"]
    assert publish["application/x-www-form-urlencoded"]["schema"]["required"] == ["channel", "data"]


def test_device_names_are_sanitised_to_one_series_level():
    from app.ingest.hydrometers import sanitise_name

    assert sanitise_name(" iSpindel 000 ") == "ispindel_000"
    assert sanitise_name("Tilt/Red [SG]") == "tilt_red__sg_"
    assert sanitise_name("Gärbottich-1.a") == "g_rbottich-1.a"
    assert sanitise_name("x" * 60) == "x" * 48

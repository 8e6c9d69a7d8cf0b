"""Profile CSV import/export over HTTP with the real BrewPi reference files, GET /api/status
and GET /api/logs (protocol.md §4)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from app import __version__
from tests.helpers import assert_error, bearer, connect, http

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
CSV = {"Content-Type": "text/csv"}
SAMPLE_DAYS = [0.0, 1.5, 4.0, 6.0, 10.0, 12.0]
SAMPLE_C = [20.0, 20.0, 17.0, 17.0, 23.0, 23.0]


def reference(relative: str) -> str:
    """The file exactly as stored: bytes decoded without newline translation."""
    return (REFERENCE / relative).read_bytes().decode("utf-8")


async def fetch(server, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
    request = HTTPRequest(
        server.base_url + path,
        method=method,
        body=body.encode() if isinstance(body, str) else body,
        headers={**bearer(server), **(headers or {})},
        allow_nonstandard_methods=True,
    )
    try:
        return await AsyncHTTPClient().fetch(request)
    except HTTPClientError as error:
        return error.response


async def get(server, path: str) -> Any:
    status, reply = await http(server, "GET", path)
    assert status == 200, reply
    return reply


async def import_csv(server, text: str, query: str = "", expected: int = 201) -> Any:
    status, reply = await http(server, "POST", f"/api/profiles/import{query}", text, CSV)
    assert status == expected, reply
    return reply


def rows_of(csv_text: str) -> list[tuple[float, float | None]]:
    """(days, temperature) of each data row of a BrewPi CSV."""
    rows = []
    for line in csv_text.splitlines()[1:]:
        if line.strip():
            _, temperature, days = line.split(",")
            rows.append((float(days), float(temperature) if temperature else None))
    return rows


# ---------------------------------------------------------------------------------------------
# CSV import and export


@pytest.mark.gen_test
async def test_sample_profile_round_trip_through_http(server):
    text = reference("brewpi-profiles/brewpi-www_Sample-Profile.csv")
    events = await connect(server, auth=False)
    await events.request({"action": "subscribe", "channel": "_profiles"})
    response = await fetch(server, "POST", "/api/profiles/import?name=Sample%20ale", text, CSV)
    assert response.code == 201, response.body
    imported = json.loads(response.body)
    assert response.headers["Location"] == f"/api/profiles/{imported['id']}"
    assert imported["name"] == "Sample ale"
    assert imported["kind"] == "fermentation"
    assert imported["warnings"] == []
    assert [p["offset_days"] for p in imported["points"]] == SAMPLE_DAYS
    assert [p["temperature"] for p in imported["points"]] == SAMPLE_C

    # stored: a GET shows the same profile, and it was announced
    stored = await get(server, f"/api/profiles/{imported['id']}")
    assert stored == {k: v for k, v in imported.items() if k != "warnings"}
    message = await events.recv()
    assert message["channel"] == "_profiles"
    assert message["data"] == {"eventType": "create", "profile": stored}

    response = await fetch(server, "GET", f"/api/profiles/{imported['id']}.csv?start=2013-08-06T14:29:41Z")
    assert response.code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    exported = response.body.decode("utf-8")
    assert exported.splitlines()[0] == "date,temperature,days,Sample ale"
    assert rows_of(exported) == list(zip(SAMPLE_DAYS, SAMPLE_C, strict=True))
    # the data rows are the original's, dates included
    assert exported.split("\n")[1:] == text.split("\n")[1:]


@pytest.mark.gen_test
async def test_fahrenheit_file_imports_as_celsius_and_exports_back_identically(server):
    text = reference("brewpi-profiles/brewpi-script-rmx_tempProfile_F.csv")
    imported = await import_csv(server, text, "?units=F")
    assert imported["name"] == "Sample Profile"  # from the header
    assert imported["warnings"] == []
    assert [p["offset_days"] for p in imported["points"]] == SAMPLE_DAYS
    assert [p["temperature"] for p in imported["points"]] == pytest.approx(
        [20.0, 20.0, 18.3333, 18.3333, 22.2222, 22.2222], abs=1e-3
    )
    response = await fetch(
        server, "GET", f"/api/profiles/{imported['id']}.csv?units=F&start=2019-05-14T10:48:23Z"
    )
    assert response.code == 200
    assert response.body.decode("utf-8") == text
    # in °C the same points
    response = await fetch(
        server, "GET", f"/api/profiles/{imported['id']}.csv?units=C&start=2019-05-14T10:48:23Z"
    )
    assert [days for days, _ in rows_of(response.body.decode())] == SAMPLE_DAYS
    assert [t for _, t in rows_of(response.body.decode())] == pytest.approx(
        [20.0, 20.0, 18.33, 18.33, 22.22, 22.22], abs=0.01
    )


@pytest.mark.gen_test
async def test_units_setting_is_the_default_for_import_and_export(server):
    status, _ = await http(server, "PUT", "/api/settings/units", {"value": "F"})
    assert status == 200
    text = reference("brewpi-profiles/brewpi-script-rmx_tempProfile_F.csv")
    imported = await import_csv(server, text)
    assert imported["points"][0]["temperature"] == pytest.approx(20.0)
    response = await fetch(server, "GET", f"/api/profiles/{imported['id']}.csv?start=2019-05-14T10:48:23Z")
    assert response.body.decode("utf-8") == text


@pytest.mark.gen_test
async def test_broken_edge_files_import_with_warnings_naming_the_line(server):
    backwards = await import_csv(
        server,
        reference("brewpi-profiles-edge/rmx-2019-04_tempProfile_dates-not-increasing.csv"),
        "?units=F&name=Backwards",
    )
    assert backwards["name"] == "Backwards"
    assert [p["offset_days"] for p in backwards["points"]] == SAMPLE_DAYS
    assert len(backwards["warnings"]) == 1 and backwards["warnings"][0].startswith("line 3:")

    stray_cr = await import_csv(
        server, reference("brewpi-profiles-edge/rmx-2019-07_tempProfile_CR-inside-header.csv"), "?units=F"
    )
    assert stray_cr["name"] == "NewProfile"
    assert [p["offset_days"] for p in stray_cr["points"]] == SAMPLE_DAYS
    assert stray_cr["warnings"] == ["line 1: removed a stray carriage return (CR) inside the header"]
    # the warnings are the import's answer only, not part of the stored profile
    assert "warnings" not in await get(server, f"/api/profiles/{stray_cr['id']}")
    assert [p["name"] for p in await get(server, "/api/profiles")] == ["Backwards", "NewProfile"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("date,temperature,days\n,10,0\n,warm,1\n", 3),
        ("date,temperature,days\n,10,0\n,12,1\n,12,one\n", 4),
        ("date,temperature,days\n,10,0\n,10,3\n,10,2.5\n", 4),
        ("date,temperature,days\n,10,0\n,12\n", 3),
        ("2024-03-01T08:00:00,10,0\n", 1),
    ],
)
@pytest.mark.gen_test
async def test_broken_csv_is_400_naming_the_line_and_creates_nothing(server, text, line):
    reply = await import_csv(server, text, "?name=Broken", expected=400)
    error = assert_error(400, reply, 400, "validation")
    assert f"line {line}" in error["message"], error
    assert await get(server, "/api/profiles") == []


@pytest.mark.gen_test
async def test_csv_temperature_a_chamber_cannot_reach_is_refused_naming_the_line(server):
    # 115 °C is inside the CSV format's -20..120 but above a setpoint's 110 °C
    reply = await import_csv(server, "date,temperature,days\n,10,0\n,115,1\n", "?name=Hot", expected=400)
    error = assert_error(400, reply, 400, "validation")
    assert "line 3" in error["message"], error
    assert await get(server, "/api/profiles") == []


@pytest.mark.gen_test
async def test_fermentrack_export_is_refused(server):
    reply = await import_csv(
        server, reference("legacy-profiles/fermentrack-profile-export.txt"), "?name=FT", expected=400
    )
    error = assert_error(400, reply, 400, "validation")
    assert "line 1" in error["message"] and "Fermentrack" in error["message"], error
    assert await get(server, "/api/profiles") == []


@pytest.mark.gen_test
async def test_import_refusals(server):
    text = reference("brewpi-profiles/brewpi-www_Sample-Profile.csv")
    await import_csv(server, text, "?name=Taken")
    before = await get(server, "/api/profiles")
    cases = [
        ("?name=Taken", CSV, text, 409, "conflict"),
        ("", CSV, text, 400, "validation"),  # no ?name= and none in the header
        ("?name=X&units=K", CSV, text, 400, "validation"),
        (
            "?name=X",
            {"Content-Type": "application/json"},
            json.dumps({"csv": text}),
            415,
            "unsupported_media_type",
        ),
        ("?name=X", {"Content-Type": "application/octet-stream"}, text, 415, "unsupported_media_type"),
        ("?name=X", CSV, b"date,temperature,days\n,\xff10,0\n", 400, "validation"),
        ("?name=X", CSV, "", 400, "validation"),
    ]
    for query, headers, body, status, code in cases:
        got, reply = await http(server, "POST", f"/api/profiles/import{query}", body, headers)
        assert_error(got, reply, status, code)
        assert await get(server, "/api/profiles") == before
    got, reply = await http(server, "POST", "/api/profiles/import?name=X", text, CSV, auth=False)
    assert_error(got, reply, 401, "unauthorized")
    assert await get(server, "/api/profiles") == before


@pytest.mark.gen_test
async def test_export_refusals(server):
    mash = await http(
        server,
        "POST",
        "/api/profiles",
        {"name": "Mash", "kind": "mash", "steps": [{"name": "Rest", "temperature": 66, "hold_min": 60}]},
    )
    empty = await http(server, "POST", "/api/profiles", {"name": "Empty"})
    ale = await import_csv(server, reference("brewpi-profiles/brewpi-www_Sample-Profile.csv"), "?name=Ale")
    for path, status in (
        ("/api/profiles/999.csv", 404),
        (f"/api/profiles/{mash[1]['id']}.csv", 409),
        (f"/api/profiles/{empty[1]['id']}.csv", 409),
        (f"/api/profiles/{ale['id']}.csv?units=K", 400),
        (f"/api/profiles/{ale['id']}.csv?start=yesterday", 400),
    ):
        got, reply = await http(server, "GET", path)
        assert_error(got, reply, status)


@pytest.mark.gen_test
async def test_exported_profile_with_control_off_points_reimports_the_same(server):
    points = [
        {"offset_days": 0, "temperature": 18.5},
        {"offset_days": 2.25, "temperature": None},
        {"offset_days": 3, "temperature": 21},
        {"offset_days": 3, "temperature": 4},
    ]
    status, made = await http(server, "POST", "/api/profiles", {"name": "Cold crash", "points": points})
    assert status == 201, made
    response = await fetch(server, "GET", f"/api/profiles/{made['id']}.csv?start=2024-03-01T08:00:00Z")
    assert response.code == 200
    again = await import_csv(server, response.body.decode(), "?name=Again")
    assert again["warnings"] == []
    assert [(p["offset_days"], p["temperature"]) for p in again["points"]] == [
        (0.0, 18.5),
        (2.25, None),
        (3.0, 21.0),
        (3.0, 4.0),
    ]


# ---------------------------------------------------------------------------------------------
# status


@pytest.mark.gen_test
async def test_status_counts_what_exists(server):
    status = await get(server, "/api/status")
    assert status["version"] == __version__ and isinstance(status["version"], str)
    assert isinstance(status["uptime_s"], int | float) and status["uptime_s"] >= 0
    assert status["database"]["size_bytes"] > 0
    assert status["counts"] == {
        "controllers": 0,
        "chambers": 0,
        "devices": 0,
        "profiles": 0,
        "alarms": 0,
        "logs": 0,
        "tokens": 1,  # the test token
    }

    controllers = []
    for name in ("A", "B"):
        _, made = await http(server, "POST", "/api/controllers", {"name": name, "kind": "simulator"})
        controllers.append(made)
    chambers = []
    for index, name in enumerate(("FV1", "FV2", "FV3")):
        _, made = await http(
            server, "POST", "/api/chambers", {"controller_id": controllers[index % 2]["id"], "name": name}
        )
        chambers.append(made)
    await http(
        server,
        "POST",
        "/api/devices",
        {
            "chamber_id": chambers[0]["id"],
            "name": "Fan",
            "function": "fan",
            "hardware": "pin",
            "address": "1",
        },
    )
    await http(server, "POST", "/api/profiles", {"name": "P1"})
    await import_csv(server, reference("brewpi-profiles/brewpi-www_Sample-Profile.csv"), "?name=P2")
    await http(server, "POST", "/api/tokens", {"name": "script"})
    # a refused request counts for nothing
    await http(server, "POST", "/api/controllers", {"name": "A", "kind": "simulator"})

    # the boards log their coming online meanwhile: the count is what /api/logs lists
    # (read before and after, as a line may land in between)
    listed_before = len(await get(server, "/api/logs?limit=1000"))
    later = await get(server, "/api/status")
    logs = later["counts"].pop("logs")
    assert listed_before <= logs <= len(await get(server, "/api/logs?limit=1000"))
    assert later["counts"] == {
        "controllers": 2,
        "chambers": 3,
        "devices": 1,
        "profiles": 2,
        "alarms": 0,
        "tokens": 2,
    }
    assert later["uptime_s"] >= status["uptime_s"]
    assert later["database"]["size_bytes"] > 0

    await http(server, "DELETE", f"/api/controllers/{controllers[0]['id']}?cascade=true")
    counts = (await get(server, "/api/status"))["counts"]
    assert counts["controllers"] == 1 and counts["chambers"] == 1 and counts["devices"] == 0


# ---------------------------------------------------------------------------------------------
# logs


async def publish_logs(server, *entries: dict[str, Any]) -> None:
    status, reply = await http(server, "POST", "/api/channels/logs", {"entries": list(entries)})
    assert status == 200, reply


async def logs(server, query: str = "", count: int | None = None) -> list[dict[str, Any]]:
    """GET /api/logs, waiting briefly for the recorder when `count` entries are expected."""
    deadline = time.monotonic() + 3
    while True:
        reply = await get(server, f"/api/logs{query}")
        if count is None or len(reply) >= count or time.monotonic() > deadline:
            return reply
        await asyncio.sleep(0.05)


@pytest.mark.gen_test
async def test_published_log_entries_are_stored_and_listed_newest_first(server):
    assert await get(server, "/api/logs") == []
    await publish_logs(
        server, {"source": "controller_1::chamber_2", "level": "warning", "msg": "probe drift"}
    )
    listed = await logs(server, count=1)
    assert len(listed) == 1
    entry = listed[0]
    assert set(entry) == {"id", "ts", "source", "level", "message"}
    assert entry["source"] == "controller_1::chamber_2"
    assert entry["level"] == "warning"
    assert entry["message"] == "probe drift"
    assert entry["ts"]

    await publish_logs(
        server,
        {"source": "controller_1", "level": "info", "msg": "connected"},
        {"source": "controller_1::chamber_2", "level": "error", "msg": "heater stuck"},
    )
    await publish_logs(server, {"source": "script", "level": "WARNING", "msg": "disk nearly full"})
    listed = await logs(server, count=4)
    assert [e["message"] for e in listed] == ["disk nearly full", "heater stuck", "connected", "probe drift"]
    assert [e["id"] for e in listed] == sorted((e["id"] for e in listed), reverse=True)
    assert listed[0]["level"] == "warning"  # levels are stored in lower case

    warnings = await get(server, "/api/logs?level=warning")
    assert [e["message"] for e in warnings] == ["disk nearly full", "probe drift"]
    chamber = await get(server, "/api/logs?source=controller_1::chamber_2")
    assert [e["message"] for e in chamber] == ["heater stuck", "probe drift"]
    both = await get(server, "/api/logs?source=controller_1::chamber_2&level=error")
    assert [e["message"] for e in both] == ["heater stuck"]
    assert await get(server, "/api/logs?source=nobody") == []
    newest = await get(server, "/api/logs?limit=2")
    assert [e["message"] for e in newest] == ["disk nearly full", "heater stuck"]
    assert (await get(server, "/api/status"))["counts"]["logs"] == 4


@pytest.mark.gen_test
async def test_log_entries_without_a_message_are_not_stored(server):
    await publish_logs(server, {"source": "x", "level": "info"}, {"source": "x", "msg": 5})
    status, reply = await http(server, "POST", "/api/channels/logs", {"no": "entries"})
    assert status == 200, reply
    await publish_logs(server, {"source": "x", "level": "loud", "msg": "marker"})
    listed = await logs(server, count=1)
    assert [(e["message"], e["level"]) for e in listed] == [("marker", "info")]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=-1", "limit"),
        ("?limit=ten", "limit"),
        ("?limit=", "limit"),
        ("?level=fatal", "level"),
    ],
)
@pytest.mark.gen_test
async def test_bad_log_queries_are_400(server, query, field):
    got, reply = await http(server, "GET", f"/api/logs{query}")
    error = assert_error(got, reply, 400, "validation")
    assert error["field"] == field

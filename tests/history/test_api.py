"""`GET /api/history` and `GET /api/series` through the real server: JSON and CSV, every
bad parameter a 400 naming its field, the routes in the OpenAPI document, the history
tasks in `GET /api/status`."""

from __future__ import annotations

import pytest

from app.history.store import NewSample
from tests.helpers import assert_error, http, raw
from tests.history.common import roll_up_all, write

BASE = 1_763_856_000_000  # 2025-11-23T00:00:00Z
FROM, TO = "2025-11-23T00:00:00Z", "2025-11-23T01:00:00Z"


def seed(server) -> None:
    """An hour of 10 s samples of a temperature and a gravity, rolled up."""
    write(
        server.sessions,
        [NewSample("cellar/temp", BASE + i * 10_000, 20 + (i % 6) / 10, unit="°C") for i in range(361)]
        + [NewSample("ispindel/gravity", BASE + i * 900_000, 1.050 - i / 1000, unit="SG") for i in range(5)],
    )
    roll_up_all(server.sessions)


@pytest.mark.gen_test
async def test_history_json_picks_each_series_resolution(server):
    seed(server)
    status, body = await http(
        server, "GET", f"/api/history?series=cellar/temp,ispindel/gravity&from={FROM}&to={TO}&points=100"
    )
    assert status == 200, body
    temp, gravity = body["series"]
    assert temp["name"] == "cellar/temp" and temp["unit"] == "°C" and temp["resolution"] == "1m"
    assert len(temp["points"]) == 61 and temp["points"][0] == [BASE, 20.25, 20.0, 20.5]
    assert gravity == {
        "name": "ispindel/gravity",
        "unit": "SG",
        "kind": "measurement",
        "resolution": "raw",
        "points": [[BASE + i * 900_000, *[1.050 - i / 1000] * 3] for i in range(5)],
        "events": [],
        "truncated": False,
    }
    # anonymous readers too (public_read), and the default span is the day before now: empty here
    status, body = await http(server, "GET", "/api/history?series=cellar/temp", auth=False)
    assert status == 200 and body == {
        "series": [
            {
                "name": "cellar/temp",
                "unit": "°C",
                "kind": "measurement",
                "resolution": "raw",
                "points": [],
                "events": [],
                "truncated": False,
            }
        ]
    }


@pytest.mark.gen_test
async def test_history_csv_is_a_download(server):
    seed(server)
    response = await raw(
        server,
        "GET",
        f"/api/history?series=cellar/temp&from={FROM}&to=2025-11-23T00:00:10Z&format=csv&units=F",
    )
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and disposition.endswith('.csv"')
    assert response.body.decode().splitlines() == [
        "series,unit,resolution,time,ts_ms,mean,min,max",
        f"cellar/temp,°F,raw,2025-11-23T00:00:00.000Z,{BASE},68.0,68.0,68.0",
        f"cellar/temp,°F,raw,2025-11-23T00:00:10.000Z,{BASE + 10_000},68.18,68.18,68.18",
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "series"),
        ("series=", "series"),
        ("series=nope", "series"),  # unknown
        ("series=cellar/temp,nope", "series"),
        ("series=Cellar", "series"),
        ("series=a,,b", "series"),
        ("series=" + ",".join(f"s{i}" for i in range(21)), "series"),
        ("series=cellar/temp&from=2025-11-24T00:00:00Z&to=2025-11-23T00:00:00Z", "from"),
        ("series=cellar/temp&from=yesterday", "from"),
        ("series=cellar/temp&to=2025-02-30T00:00:00Z", "to"),
        ("series=cellar/temp&from=1969-12-31T00:00:00Z", "from"),
        ("series=cellar/temp&points=0", "points"),
        ("series=cellar/temp&points=10001", "points"),
        ("series=cellar/temp&points=-5", "points"),
        ("series=cellar/temp&points=1.5", "points"),
        ("series=cellar/temp&points=%D9%A3", "points"),  # an Arabic-Indic 3 is not an ASCII integer
        ("series=cellar/temp&format=xml", "format"),
        ("series=cellar/temp&format=csv&units=K", "units"),
    ],
)
@pytest.mark.gen_test
async def test_bad_history_parameters_are_400_naming_the_field(server, query, field):
    seed(server)
    status, reply = await http(server, "GET", f"/api/history?{query}")
    assert assert_error(status, reply, 400, "validation")["field"] == field


@pytest.mark.gen_test
async def test_series_lists_every_series(server):
    seed(server)
    status, listed = await http(server, "GET", "/api/series")
    assert status == 200
    assert listed == [
        {
            "name": "cellar/temp",
            "unit": "°C",
            "kind": "measurement",
            "count": 361,
            "first": "2025-11-23T00:00:00.000Z",
            "last": "2025-11-23T01:00:00.000Z",
        },
        {
            "name": "ispindel/gravity",
            "unit": "SG",
            "kind": "measurement",
            "count": 5,
            "first": "2025-11-23T00:00:00.000Z",
            "last": "2025-11-23T01:00:00.000Z",
        },
    ]


@pytest.mark.gen_test
async def test_the_routes_are_documented_with_their_schemas(server):
    _, document = await http(server, "GET", "/api/openapi.json", auth=False)
    history = document["paths"]["/api/history"]["get"]
    params = {p["name"]: p for p in history["parameters"]}
    assert params["series"]["required"] is True
    assert params["points"]["schema"] | {} == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10000,
        "default": 1000,
    }
    assert params["from"]["schema"]["format"] == "date-time" and params["format"]["schema"]["enum"] == [
        "json",
        "csv",
    ]
    assert set(history["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert "400" in history["responses"]
    schemas = document["components"]["schemas"]
    points = schemas["HistorySeriesOut"]["properties"]["points"]["items"]
    assert len(points["prefixItems"]) == 4
    listed = document["paths"]["/api/series"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    assert listed["items"]["$ref"].endswith("/SeriesOut")


@pytest.mark.gen_test
async def test_status_reports_the_history_tasks(server):
    seed(server)
    _, status = await http(server, "GET", "/api/status")
    history = status["history"]
    assert history["rollup"]["state"] == "running" and history["retention"]["state"] == "running"
    assert set(history["rollup"]) >= {"last_run", "lag_s", "frames_done", "pending_minutes", "period_s"}
    assert history["recorder"]["interval_s"] == 10.0
    await server.history.rollup.run_once()
    _, status = await http(server, "GET", "/api/status")
    assert status["history"]["rollup"]["last_run"].endswith("Z")
    assert status["history"]["rollup"]["lag_s"] == 0

"""Gravity beside temperature: a chamber linked to an ingested series carries its latest
sample with its age in the tick record (`chamber/<id>/data`) and in GET /api/chambers/<id>,
from the ingest's memory (docs/ingest.md "Gravity beside temperature")."""

from __future__ import annotations

import time

import pytest

from app.config import build_config
from app.server import Maelstrom
from tests.control.test_spine import simulated_chamber
from tests.helpers import assert_error, chamber_record, connect, http

SERIES = "ispindel_000/gravity"


async def chamber_of(server, chamber_id: int) -> dict:
    status, body = await http(server, "GET", f"/api/chambers/{chamber_id}")
    assert status == 200, body
    return body


@pytest.mark.gen_test(timeout=30)
async def test_a_linked_series_shows_its_latest_sample_with_its_age_in_the_tick_and_the_snapshot(server):
    chamber = await simulated_chamber(server, "A")
    path = f"/api/chambers/{chamber['id']}"
    status, patched = await http(server, "PATCH", path, {"gravity_series": SERIES})
    assert status == 200 and patched["gravity_series"] == SERIES, patched
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})

    # linked, nothing received yet: null, in the tick and the snapshot
    record = await chamber_record(client, chamber["id"], lambda r: r["beer"] is not None)
    assert record["gravity"] is None
    assert (await chamber_of(server, chamber["id"]))["gravity"] is None

    # a reading taken 42 s ago, as a logger sends its timestamp
    taken = round(time.time()) - 42
    status, reply = await http(
        server, "POST", f"/api/feeds/{SERIES}", {"value": 1.012, "ts": taken, "unit": "SG"}
    )
    assert status == 200, reply
    record = await chamber_record(client, chamber["id"], lambda r: r["gravity"] is not None)
    gravity = record["gravity"]
    assert gravity["series"] == SERIES and gravity["value"] == 1.012 and gravity["unit"] == "SG"
    assert gravity["ts"] == time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(taken))
    assert 42 <= gravity["age_s"] <= 45, gravity
    snapshot = (await chamber_of(server, chamber["id"]))["gravity"]
    assert snapshot["value"] == 1.012 and snapshot["ts"] == gravity["ts"] and snapshot["age_s"] >= 42

    # the iSpindel itself posts (no timestamp: now), in the unit its URL names
    ispindel = {"name": "iSpindel 000", "ID": 1234, "angle": 30.1, "temperature": 19.5, "gravity": 1.010}
    status, reply = await http(server, "POST", "/api/feeds/ispindel?gravity_unit=SG", ispindel)
    assert status == 200, reply
    record = await chamber_record(client, chamber["id"], lambda r: r["gravity"]["value"] == 1.010)
    assert record["gravity"]["age_s"] <= 2 and record["gravity"]["unit"] == "SG"

    # a late sample (a backlog) never replaces a newer one
    status, _ = await http(server, "POST", f"/api/feeds/{SERIES}", {"value": 1.030, "ts": taken - 600})
    assert status == 200
    record = await chamber_record(client, chamber["id"], lambda r: True)
    assert record["gravity"]["value"] == 1.010
    assert (await chamber_of(server, chamber["id"]))["gravity"]["value"] == 1.010

    # the controller's read nests the same
    status, controller = await http(server, "GET", f"/api/controllers/{chamber['controller_id']}")
    assert status == 200 and controller["chambers"][0]["gravity"]["value"] == 1.010

    # unlinked: null again, though the series goes on
    status, patched = await http(server, "PATCH", path, {"gravity_series": None})
    assert status == 200 and patched["gravity_series"] is None
    record = await chamber_record(client, chamber["id"], lambda r: r["gravity"] is None)
    assert (await chamber_of(server, chamber["id"]))["gravity"] is None
    client.close()


@pytest.mark.gen_test(timeout=30)
async def test_an_unknown_series_is_null_and_a_name_no_ingest_can_feed_is_refused(server):
    status, controller = await http(server, "POST", "/api/controllers", {"name": "C", "kind": "simulator"})
    assert status == 201, controller
    body = {"controller_id": controller["id"], "name": "FV", "gravity_series": "tilt_red/gravity"}
    status, chamber = await http(server, "POST", "/api/chambers", body)
    assert status == 201 and chamber["gravity_series"] == "tilt_red/gravity", chamber
    path = f"/api/chambers/{chamber['id']}"
    assert (await chamber_of(server, chamber["id"]))["gravity"] is None  # linked, never fed

    # another series' samples are not this one's
    status, _ = await http(server, "POST", "/api/feeds/tilt_blue/gravity", {"value": 1.05})
    assert status == 200
    assert (await chamber_of(server, chamber["id"]))["gravity"] is None

    for bad, what in (
        ("chamber/1/beer", "chamber/"),  # the server's own series: no ingest can feed it
        ("Tilt Red", "a-z"),
        ("tilt//gravity", "'/'"),
        ("x" * 65, "1-64"),
        (12, "string"),
    ):
        status, reply = await http(server, "PATCH", path, {"gravity_series": bad})
        error = assert_error(status, reply, 400, "validation")
        assert error["field"] == "gravity_series" and what in error["message"], error
    assert (await chamber_of(server, chamber["id"]))["gravity_series"] == "tilt_red/gravity"  # unchanged


@pytest.mark.gen_test(timeout=30)
async def test_after_a_restart_the_last_stored_reading_shows_with_its_true_age(io_loop, server_config):
    """An iSpindel posts every 15 min or more: a restart must not blank the gravity until then."""

    async def started() -> Maelstrom:
        maelstrom = Maelstrom(build_config(server_config))
        await maelstrom.start()
        _, maelstrom.test_token = await maelstrom.auth.issue_token(f"tests {time.monotonic()}")
        maelstrom.base_url = f"http://127.0.0.1:{maelstrom.ports[0]}"
        return maelstrom

    server = await started()
    try:
        _, controller = await http(server, "POST", "/api/controllers", {"name": "C", "kind": "simulator"})
        body = {"controller_id": controller["id"], "name": "FV", "gravity_series": SERIES}
        status, chamber = await http(server, "POST", "/api/chambers", body)
        assert status == 201, chamber
        taken = round(time.time()) - 600
        for ts, value in ((taken - 900, 1.020), (taken, 1.015)):
            status, _ = await http(
                server, "POST", f"/api/feeds/{SERIES}", {"value": value, "ts": ts, "unit": "SG"}
            )
            assert status == 200
    finally:
        await server.stop()  # what the recorder holds is written
    server = await started()
    try:
        gravity = (await chamber_of(server, chamber["id"]))["gravity"]
        assert gravity["value"] == 1.015 and gravity["unit"] == "SG" and 600 <= gravity["age_s"] <= 603
    finally:
        await server.stop()

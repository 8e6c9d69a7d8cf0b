"""An ingested sample is stored as history, not only published."""

import pytest

from tests.helpers import http


@pytest.mark.gen_test
async def test_a_fed_sample_is_kept_as_a_series_with_its_unit(server):
    status, reply = await http(server, "POST", "/api/feeds/cellar/room", {"value": 12.5, "unit": "°C"})
    assert status == 200, reply
    server.history.recorder.flush()
    await server.db_writer.drain()
    status, series = await http(server, "GET", "/api/series")
    assert status == 200
    [room] = [s for s in series if s["name"] == "cellar/room"]
    assert room["count"] == 1 and room["unit"] == "°C"

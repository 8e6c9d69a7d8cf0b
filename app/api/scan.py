"""`/api/controllers/<id>/scan`: what a board has (`h`, protocol.md §5), with a live
reading of each OneWire sensor it found and the devices already on each sensor and pin.

`POST` asks the board; `GET` answers the last scan with the readings of now. While a scan
is looked at, the sensors no device uses are read in free board slots (app/control/scan.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from devices.driver import BoardError, BoardUnavailable

from ..control.loop import NotRunning
from ..control.scan import BoardScan
from ..db.models import Chamber, Controller, Device
from ..web.errors import ApiError
from ..web.handler import JsonHandler
from .crud import parse_id


class ScanHandler(JsonHandler):
    async def post(self, item_id: str) -> None:
        controller_id = self._controller_id(item_id)
        try:
            scan = await self.maelstrom.control.scan(controller_id)
        except BoardError as error:
            raise ApiError(502, "board_error", f"the board answered the scan with {error}") from None
        except (NotRunning, BoardUnavailable) as error:
            raise ApiError(409, "offline", str(error)) from None
        self.send_json(self._answer(controller_id, scan))

    def get(self, item_id: str) -> None:
        controller_id = self._controller_id(item_id)
        try:
            scan = self.maelstrom.control.last_scan(controller_id)
        except NotRunning as error:
            raise ApiError(409, "offline", str(error)) from None
        if scan is None:
            raise ApiError(404, "not_found", f"controller {controller_id} was not scanned yet; POST to scan")
        self.send_json(self._answer(controller_id, scan))

    def _controller_id(self, item_id: str) -> int:
        controller_id = parse_id(item_id)
        with self.maelstrom.sessions() as session:
            if controller_id is None or session.get(Controller, controller_id) is None:
                raise ApiError(404, "not_found", f"no controller {item_id}")
        return controller_id

    def _answer(self, controller_id: int, scan: BoardScan) -> dict[str, Any]:
        with self.maelstrom.sessions() as session:
            devices = session.scalars(
                select(Device).join(Chamber).where(Chamber.controller_id == controller_id).order_by(Device.id)
            ).all()
            on: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for device in devices:
                entry = {"id": device.id, "chamber_id": device.chamber_id, "name": device.name}
                on.setdefault((device.hardware, device.address), []).append(
                    {**entry, "function": device.function}
                )
        readings, read_at = self.maelstrom.control.sensor_readings(controller_id)
        return {
            "controller_id": controller_id,
            "scanned_at": datetime.fromtimestamp(scan.scanned_at, UTC).isoformat().replace("+00:00", "Z"),
            "read_at": read_at,
            "onewire": [
                {
                    "address": rom,
                    "reading": readings.get(rom, (None, None))[1],
                    "slot": readings.get(rom, (None, None))[0],
                    "devices": on.get(("onewire", rom), []),
                }
                for rom in scan.roms
            ],
            "pins": [{"pin": pin, "devices": on.get(("pin", str(pin)), [])} for pin in scan.pins],
        }

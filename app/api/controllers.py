"""`/api/controllers`: boards (Arduino, Spark Core, simulator); an item nests its chambers
and their devices so the client needs one round trip."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..db.models import Controller
from ..web.errors import ApiError
from . import chambers
from .crud import Resource
from .schemas import ControllerDetail, ControllerIn, ControllerOut, ControllerPatch


def _check_delete(session: Session, row: Controller) -> None:
    for chamber in row.chambers:
        if chamber.mode == "profile":
            raise ApiError(
                409, "conflict", f"chamber {chamber.id} on this controller runs a profile; stop it first"
            )


def _live(maelstrom: Any, body: dict[str, Any]) -> dict[str, Any]:
    body["chambers"] = [chambers.live(maelstrom, chamber) for chamber in body["chambers"]]
    return body


def _cascaded(row: Controller) -> list[tuple[str, int]]:
    gone: list[tuple[str, int]] = []
    for chamber in row.chambers:
        gone += [("_devices", device.id) for device in chamber.devices]
        gone.append(("_chambers", chamber.id))
    return gone


RESOURCE = Resource(
    name="controllers",
    singular="controller",
    model=Controller,
    create=ControllerIn,
    patch=ControllerPatch,
    out=ControllerOut,
    detail=ControllerDetail,
    children="chambers",
    check_delete=_check_delete,
    cascaded=_cascaded,
    live=_live,
)

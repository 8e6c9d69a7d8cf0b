"""`/api/devices`: sensors, outputs and inputs of a chamber, with their board address."""

from __future__ import annotations

from ..db.models import Chamber, Device
from .crud import Parent, Resource
from .schemas import DeviceIn, DeviceOut, DevicePatch

RESOURCE = Resource(
    name="devices",
    singular="device",
    model=Device,
    create=DeviceIn,
    patch=DevicePatch,
    out=DeviceOut,
    parents=[Parent("chamber_id", Chamber, "chamber")],
    unique_within="chamber_id",
    filters=("chamber_id",),
)

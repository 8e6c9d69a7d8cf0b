"""`/api/chambers`: fermenters, mash tuns and kettles under a controller. Mode and
setpoints are stored here; the control loop picks them up on its next tick."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from ..control.gravity import linked_reading
from ..control.profile_commands import CommandError, apply_command
from ..control.profiles import FermentationProfile, ProfileRun
from ..control.runtime import protected_min_times
from ..control.tuning import TuningError, build_tuning, wired_values
from ..db.models import Chamber, Controller, Profile
from ..web.errors import ApiError
from .crud import Parent, Resource
from .schemas import ChamberIn, ChamberLive, ChamberOut, ChamberPatch


def wired_min_times(kind: str, outputs: Iterable[tuple[str, int, int]]) -> dict[str, float]:
    """The min times a chamber's output devices, (function, min_on_s, min_off_s) each, set
    in its tuning, with a compressor's protection as the loop applies it. Of two outputs of
    one function the longer times count: the window must hold both."""
    longest: dict[str, tuple[int, int]] = {}
    for function, min_on_s, min_off_s in outputs:
        on_s, off_s = protected_min_times(function, min_on_s, min_off_s)
        was_on_s, was_off_s = longest.get(function, (0, 0))
        longest[function] = (max(was_on_s, on_s), max(was_off_s, off_s))
    return wired_values(kind, ((function, on_s, off_s) for function, (on_s, off_s) in longest.items()))


def _check_tuning(row: Chamber, values: dict[str, Any]) -> None:
    """The tuning must run for the chamber's kind (as patched, or as stored) and wiring:
    a value the control loop refuses would only fail at its next start."""
    outputs = [(device.function, device.min_on_s, device.min_off_s) for device in row.devices]
    try:
        build_tuning(values["kind"], values["tuning"], wired_min_times(values["kind"], outputs))
    except TuningError as error:
        field = f"tuning.{error.field}"
        raise ApiError(400, "validation", f"{field}: {error.message}", field) from None


def _apply(session: Session, row: Chamber, values: dict[str, Any]) -> None:
    _check_tuning(row, values)
    command = values.pop("profile_command", None)
    before = (row.mode, row.profile_id)
    profile_id = values.get("profile_id")
    profile = None
    if profile_id is not None:
        profile = session.get(Profile, profile_id)
        if profile is None:
            raise ApiError(404, "not_found", f"no profile {profile_id}", "profile_id")
        wanted = "mash" if values["kind"] in ("mash", "kettle") else "fermentation"
        if profile.kind != wanted:
            raise ApiError(
                400,
                "validation",
                f"a {values['kind']} runs {wanted} profiles, "
                f"profile {profile_id} is a {profile.kind} profile",
                "profile_id",
            )
    for name, value in values.items():
        setattr(row, name, value)
    _run_profile(row, profile, command, before)


def _run_profile(
    row: Chamber, profile: Profile | None, command: dict[str, Any] | None, before: tuple[str, int | None]
) -> None:
    """Start, pause, resume, stop or confirm the profile run (docs/control.md "Profile runs").

    Choosing mode `profile` starts the chosen profile when none runs; choosing another
    profile in mode `profile` starts that one; leaving mode `profile` stops the run."""
    kind = profile.kind if profile is not None else "fermentation"
    now = time.time()
    running = bool((row.profile_state or {}).get("run"))
    try:
        if command is not None:
            if command["action"] == "stop" and kind == "fermentation" and profile is not None:
                _hold_current_temperature(row, profile, now)
            apply_command(row, command["action"], now, kind, command["offset_days"] * 86400)
        elif row.mode == "profile" and (not running or before != ("profile", row.profile_id)):
            apply_command(row, "start", now, kind)
        elif before[0] == "profile" and row.mode != "profile" and running:
            row.profile_state, row.profile_started_at, row.profile_paused_at = {}, None, None
    except CommandError as error:
        raise ApiError(409, "conflict", str(error), "profile_command") from None


def _hold_current_temperature(row: Chamber, profile: Profile, now: float) -> None:
    """A fermenter whose profile stops holds the beer where the profile had it."""
    state = row.profile_state or {}
    if not state.get("run") or not profile.points:
        return
    try:
        elapsed = ProfileRun.from_state(state).elapsed_s(now)
    except ValueError:
        return
    setpoint = FermentationProfile.of(profile.points).setpoint_at(elapsed)
    if setpoint is not None:
        row.beer_setpoint = round(setpoint, 2)


def _check_delete(session: Session, row: Chamber) -> None:
    if row.mode == "profile":
        raise ApiError(409, "conflict", f"chamber {row.id} runs a profile; stop it first")


def live(maelstrom: Any, body: dict[str, Any]) -> dict[str, Any]:
    """The linked series' latest sample, from the ingest's memory (never the database)."""
    body["gravity"] = linked_reading(body["gravity_series"], maelstrom.latest.get, time.time())
    return body


def _cascaded(row: Chamber) -> list[tuple[str, int]]:
    return [("_devices", device.id) for device in row.devices]


RESOURCE = Resource(
    name="chambers",
    singular="chamber",
    model=Chamber,
    create=ChamberIn,
    patch=ChamberPatch,
    out=ChamberOut,
    detail=ChamberLive,
    parents=[Parent("controller_id", Controller, "controller")],
    unique_within="controller_id",
    children="devices",
    apply=_apply,
    check_delete=_check_delete,
    filters=("controller_id",),
    cascaded=_cascaded,
    live=live,
)

"""Profile run commands (start, start part-way, pause, resume, stop, confirm a mash step)
applied to a chamber's stored run.

The stored run (`chamber.profile_state`) is the one source of truth: the REST API applies
a command here and commits; the control loop sees the new `rev` on its next tick and
takes the run from the database, and its own saves never overwrite a newer `rev`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from .profiles import MashRun, MashSchedule, ProfileRun

ACTIONS = ("start", "pause", "resume", "stop", "confirm")


class CommandError(ValueError):
    """The command does not fit the chamber's state (answered with 409)."""


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def new_run_state(kind: str, now: float, offset_s: float = 0.0) -> dict[str, Any]:
    """A fresh run of a fermentation (`kind` "fermentation") or mash profile."""
    if kind == "fermentation":
        state = ProfileRun.start_at_offset(now, offset_s).to_state()
    else:
        if offset_s:
            raise CommandError("a mash profile starts at its first step; offset_days is for fermentation")
        state = MashRun(MashSchedule(())).to_state()
        state["started_at"] = now
    state["run"] = secrets.token_hex(4)  # tells this run from an earlier one of the same profile
    state["rev"] = 1
    state["seen_at"] = now
    return state


def apply_command(row: Any, action: str, now: float, profile_kind: str, offset_s: float = 0.0) -> None:
    """Change `row` (a Chamber) for `action`; CommandError when it does not apply now.

    `stop` leaves a fermenter holding the beer at `row.beer_setpoint` (the caller sets it
    to the profile's current temperature) and switches a mash tun or kettle off: a heater
    left on in a vessel that may be drained is the hazard.
    """
    state = dict(row.profile_state or {})
    running = bool(state.get("run")) and row.mode == "profile"
    if action == "start":
        if row.profile_id is None:
            raise CommandError("no profile_id: choose the profile to run")
        row.profile_state = new_run_state(profile_kind, now, offset_s)
        row.mode = "profile"
        row.profile_started_at = _utc(now - offset_s)
        row.profile_paused_at = None
        return
    if not running:
        raise CommandError(f"no profile is running; {action} needs one")
    if action == "pause":
        if state.get("paused_at") is not None:
            raise CommandError("the profile is already paused")
        state["paused_at"] = now
        row.profile_paused_at = _utc(now)
    elif action == "resume":
        paused_at = state.get("paused_at")
        if paused_at is None:
            raise CommandError("the profile is not paused")
        if profile_kind == "fermentation":
            state = {**ProfileRun.from_state(state).resume(now).to_state(), **_keys(state)}
        state["paused_at"] = None
        row.profile_paused_at = None
    elif action == "confirm":
        if profile_kind != "mash":
            raise CommandError("only mash steps wait for a confirm")
        if state.get("awaiting_confirm") is not True:
            raise CommandError("the current mash step is not waiting for a confirm")
        state["confirmed_at"] = now
        state["awaiting_confirm"] = False
    elif action == "stop":
        row.profile_state = {}
        row.profile_started_at = row.profile_paused_at = None
        row.mode = "beer" if profile_kind == "fermentation" and row.beer_setpoint is not None else "off"
        return
    else:
        raise CommandError(f"unknown action {action!r}")
    state["rev"] = int(state.get("rev", 0)) + 1
    row.profile_state = state


def _keys(state: dict[str, Any]) -> dict[str, Any]:
    return {key: state[key] for key in ("run", "rev", "seen_at") if key in state}

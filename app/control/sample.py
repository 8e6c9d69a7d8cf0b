"""The sample a fresh install starts with: a simulated fermenter on a `simulator`
controller running a sample ale profile, so the server shows live data at once.

Installed once, on an empty database (no controllers, chambers or profiles); a setting
remembers it, so a user who deletes the sample does not get it back at the next start.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from devices.simulator.probes import rom_for

from ..db.models import Chamber, Controller, Device, Profile, ProfilePoint, Setting
from .profile_commands import new_run_state

log = logging.getLogger(__name__)
INSTALLED_SETTING = "_sample_installed"

# A clean ale: pitch and hold 19 °C through high krausen, a 24 h rise to 21 °C for the
# diacetyl rest, then a cold crash to 4 °C before packaging.
SAMPLE_POINTS = (
    (0.0, 19.0, None),
    (4.0, 19.0, None),
    (5.0, 21.0, "diacetyl rest"),
    (7.0, 21.0, None),
    (7.0, 4.0, "cold crash"),
    (9.0, 4.0, "ready to package"),
)


def install_sample(sessions: sessionmaker[Session]) -> bool:
    """Create the sample on an empty database; True if it did."""
    with sessions.begin() as session:
        if session.scalar(select(Setting).where(Setting.name == INSTALLED_SETTING)) is not None:
            return False
        session.add(Setting(name=INSTALLED_SETTING, value=True))
        if any(session.scalar(select(func.count()).select_from(m)) for m in (Controller, Chamber, Profile)):
            return False  # an existing install: never add to a user's setup
        profile = Profile(
            name="Sample ale", kind="fermentation", notes="Installed with Maelstrom; delete at will."
        )
        profile.points = [
            ProfilePoint(position=i, offset_days=d, temperature=t, event=e)
            for i, (d, t, e) in enumerate(SAMPLE_POINTS)
        ]
        controller = Controller(name="Simulator", kind="simulator", address="plant=fridge speed=1 seed=1")
        session.add_all([profile, controller])
        session.flush()
        now = time.time()
        chamber = Chamber(
            controller_id=controller.id,
            name="Sample fermenter",
            kind="fermenter",
            mode="profile",
            beer_setpoint=19.0,
            profile_id=profile.id,
            profile_state=new_run_state("fermentation", now),
        )
        chamber.devices = [
            Device(name="Beer", function="beer_temp", hardware="onewire", address=rom_for("beer"), slot=1),
            Device(
                name="Fridge air",
                function="fridge_temp",
                hardware="onewire",
                address=rom_for("fridge"),
                slot=2,
            ),
            Device(name="Room", function="room_temp", hardware="onewire", address=rom_for("room"), slot=3),
            Device(
                name="Compressor",
                function="cool",
                hardware="pin",
                address="5",
                slot=4,
                min_on_s=180,
                min_off_s=300,
            ),
            Device(name="Heater", function="heat", hardware="pin", address="6", slot=5),
        ]
        chamber.profile_started_at = datetime.fromtimestamp(now, UTC)
        session.add(chamber)
    log.info("first start: created a simulated fermenter running the sample ale profile")
    return True

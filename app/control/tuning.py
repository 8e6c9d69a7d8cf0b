"""A chamber's tuning keys (docs/control.md "Tuning keys"): one table per kind, read by the
control dataclasses' own validation, by the REST API and by the docs.

A fermenter runs `FermenterTuning`, a mash tun or kettle `VesselTuning`. Every field of
those dataclasses has its bounds here, and `__post_init__` enforces exactly these, so a
value the API accepts is a value the control objects run with. The output min on/off
times are fields too, but the wiring sets them (each output device's `min_on_s` and
`min_off_s`, with a compressor's protection): they are not tuning keys.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .chamber import FermenterTuning
    from .vessel import VesselTuning


class TuningError(ValueError):
    """A tuning value the control objects cannot run with; `field` names it."""

    def __init__(self, field: str, message: str, wired: str | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.wired = wired  # the output device's field a window is too short for, if that is it


@dataclass(frozen=True)
class Bound:
    low: float
    high: float
    unit: str  # "" for a plain ratio
    help: str
    wired: bool = False  # set from the output devices, not through `tuning`

    def describe(self) -> str:
        """The range in words, such as "from 5 to 1000000 s"."""
        unit = f" {self.unit}" if self.unit else ""
        return f"from {_number(self.low)} to {_number(self.high)}{unit}"

    def problem(self, value: float) -> str | None:
        """Why `value` is out of bounds, or None."""
        if not math.isfinite(value):
            return f"must be a finite number, got {value}"
        if not self.low <= value <= self.high:
            return f"must be {self.describe()}, got {_number(value)}"
        return None


def _number(value: float) -> str:
    return f"{value:.10g}"  # 1000000, not 1e+06


GAIN_DUTY = "duty per °C"  # duty (0-1) of the output per °C of error

FERMENTER: dict[str, Bound] = {
    # a gain of 0 would switch its loop off altogether (the integral is Kp/Ti), so none is 0
    "beer_kp": Bound(0.01, 100, "°C per °C", "beer loop: air target offset per °C of beer error"),
    "beer_ti_s": Bound(60, 1e6, "s", "beer loop integral time"),
    "beer_td_s": Bound(0, 86400, "s", "beer loop derivative time (0: none)"),
    "beer_band_c": Bound(0.1, 20, "°C", "the beer loop integrates only this close to its setpoint"),
    "beer_period_s": Bound(1, 3600, "s", "how often the beer loop runs"),
    "clamp_c": Bound(0.5, 15, "°C", "air targets at most this far from the beer setpoint"),
    "neutral_zone_c": Bound(0, 5, "°C", "gap between the heat and the cool air target"),
    "direction_hold_s": Bound(0, 86400, "s", "no heat<->cool swap sooner than this after the last use"),
    "heat_kp": Bound(0.01, 100, GAIN_DUTY, "heat loop gain on the fridge air"),
    "heat_ti_s": Bound(10, 1e6, "s", "heat loop integral time"),
    "cool_kp": Bound(0.01, 100, GAIN_DUTY, "cool loop gain on the fridge air"),
    "cool_ti_s": Bound(10, 1e6, "s", "cool loop integral time"),
    "heat_window_s": Bound(1, 7200, "s", "heater duty window; at least the heater's min on and min off"),
    # 300 s: a compressor's min off is never below that (runtime.protected_min_times)
    "cool_window_s": Bound(300, 14400, "s", "compressor duty window; at least its min on and min off"),
    "heat_min_on_s": Bound(0, 86400, "s", "the heat output device's min_on_s", wired=True),
    "heat_min_off_s": Bound(0, 86400, "s", "the heat output device's min_off_s", wired=True),
    "cool_min_on_s": Bound(0, 86400, "s", "the cool output device's min_on_s (at least 180)", wired=True),
    "cool_min_off_s": Bound(0, 86400, "s", "the cool output device's min_off_s (at least 300)", wired=True),
    # the board takes whole seconds up to 86400; hours of dead time would only stall a chamber
    "dead_s": Bound(0, 7200, "s", "heat<->cool dead time, host and board"),
    "fan_after_s": Bound(0, 3600, "s", "a fan output runs with the compressor and this long after it"),
}

VESSEL: dict[str, Bound] = {
    "kp": Bound(0.01, 100, GAIN_DUTY, "heat loop gain on the predicted vessel temperature"),
    "ti_s": Bound(5, 1e6, "s", "integral time"),
    "td_s": Bound(0, 3600, "s", "derivative time (0: none)"),
    "derivative_filter_n": Bound(1, 100, "", "derivative filter: time constant td_s / n"),
    "integrate_band_c": Bound(0.1, 20, "°C", "integrate only this close to the setpoint"),
    "approach_aim_c": Bound(0, 2, "°C", "on a step, aim this far past the setpoint until it is reached"),
    "window_s": Bound(1, 7200, "s", "heater duty window; at least the heater's min on and min off"),
    "min_on_s": Bound(0, 86400, "s", "the heat output device's min_on_s", wired=True),
    "min_off_s": Bound(0, 86400, "s", "the heat output device's min_off_s", wired=True),
    "element_lag_s": Bound(1, 3600, "s", "the element's first-order lag"),
    "element_store_c": Bound(0, 10, "°C", "rise still to come after full power is switched off (0: off)"),
    "loss_duty_per_c": Bound(0, 0.1, GAIN_DUTY, "hold duty fed forward per °C above the room (0: off)"),
    "room_c": Bound(-20, 50, "°C", "room temperature assumed without a room probe"),
    "boil_c": Bound(80, 105, "°C", "boil mode: full power below this (lower it ~1 °C per 300 m)"),
    "boil_duty": Bound(0.1, 1, "duty", "boil mode: duty once the kettle boils"),
    "boil_band_c": Bound(0.1, 10, "°C", "boil mode: back to full power this far below boil_c"),
}

# a chamber kind -> the table it runs with: a mash tun and a kettle are both vessels
FAMILY = {"fermenter": "fermenter", "mash": "vessel", "kettle": "vessel"}
TABLES: dict[str, dict[str, Bound]] = {"fermenter": FERMENTER, "vessel": VESSEL}

# output device function -> its (min on, min off) fields, per kind; a vessel has no cooler
WIRED: dict[str, dict[str, tuple[str, str]]] = {
    "fermenter": {
        "heat": ("heat_min_on_s", "heat_min_off_s"),
        "cool": ("cool_min_on_s", "cool_min_off_s"),
    },
    "vessel": {"heat": ("min_on_s", "min_off_s")},
}

# output device function -> its duty window. A window shorter than the output's min on
# never fits the output in, one shorter than its min off plans starts the relay refuses:
# either way the output falls short of its duty.
WINDOWS: dict[str, dict[str, str]] = {
    "fermenter": {"heat": "heat_window_s", "cool": "cool_window_s"},
    "vessel": {"heat": "window_s"},
}


def _family(kind: str) -> str:
    """The table family of a chamber kind (or of a family's own name): fermenter or vessel."""
    family = FAMILY.get(kind, kind)
    if family not in TABLES:
        raise ValueError(f"no tuning for a chamber kind {kind!r}")
    return family


def tuning_fields(kind: str) -> dict[str, Bound]:
    """The keys a chamber of `kind` accepts in its `tuning`, with their bounds."""
    return {name: bound for name, bound in TABLES[_family(kind)].items() if not bound.wired}


def tuning_defaults(kind: str) -> dict[str, float]:
    """The value each tuning key of `kind` has when a chamber does not set it."""
    defaults = _tuning_class(kind)()
    return {name: getattr(defaults, name) for name in tuning_fields(kind)}


def check(family: str, tuning: Any) -> None:
    """Raise TuningError naming the first field of `tuning` (a FermenterTuning: family
    "fermenter", or a VesselTuning: "vessel") out of its bounds, or a window shorter than
    a min time it must hold."""
    family = _family(family)
    for name, bound in TABLES[family].items():
        problem = bound.problem(getattr(tuning, name))
        if problem is not None:
            raise TuningError(name, problem)
    for function, window in WINDOWS[family].items():
        for name, device_field in zip(WIRED[family][function], ("min_on_s", "min_off_s"), strict=True):
            if getattr(tuning, window) < getattr(tuning, name):
                raise TuningError(
                    window,
                    f"must be at least the {function} output's {device_field} "
                    f"({_number(getattr(tuning, name))} s), got {_number(getattr(tuning, window))}",
                    wired=device_field,
                )


def wired_values(kind: str, outputs: Iterable[tuple[str, float, float]]) -> dict[str, float]:
    """The dataclass fields the wiring sets: (device function, min_on_s, min_off_s) of each
    output, as host and board apply them; a later output of the same function wins."""
    names = WIRED[_family(kind)]
    values: dict[str, float] = {}
    for function, min_on_s, min_off_s in outputs:
        if function in names:
            on_name, off_name = names[function]
            values[on_name], values[off_name] = float(min_on_s), float(min_off_s)
    return values


def _tuning_class(kind: str) -> type[FermenterTuning] | type[VesselTuning]:
    # imported here: chamber.py and vessel.py import this module for their own validation
    from .chamber import FermenterTuning
    from .vessel import VesselTuning

    return FermenterTuning if _family(kind) == "fermenter" else VesselTuning


def build_tuning(
    kind: str, overrides: Mapping[str, Any], wiring_values: Mapping[str, float]
) -> FermenterTuning | VesselTuning:
    """The tuning a chamber of `kind` runs: the defaults, its `tuning` entries
    (`overrides`) and the min times its wiring sets (`wiring_values`, see `wired_values`),
    which no tuning entry may set. Raises TuningError naming the field for an unknown key,
    a value that is no number or out of bounds, or a window shorter than a wired min time."""
    table = TABLES[_family(kind)]
    values: dict[str, float] = {}
    for name, raw in overrides.items():
        bound = table.get(name)
        if bound is not None and bound.wired:
            raise TuningError(name, f"is not a tuning key: it is set by {bound.help}")
        if bound is None:
            known = ", ".join(tuning_fields(kind))
            raise TuningError(name, f"is not a tuning key of a {kind} (known: {known})")
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise TuningError(name, f"must be a number, got {raw!r}")
        values[name] = float(raw)
    values.update(wiring_values)
    return _tuning_class(kind)(**values)

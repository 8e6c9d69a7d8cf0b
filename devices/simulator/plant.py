"""Thermal plant models for the simulator: a fermentation fridge and a direct-fired kettle.

Both are lumped-capacity models stepped by explicit Euler at 1 s of simulated time. A call
`step(dt_s, heat, cool)` may cover any span: it runs whole 1 s substeps and one shorter last
substep for a fractional remainder, so `step(60)` gives exactly the same state as sixty calls
of `step(1)`. Nothing here reads the wall clock, sleeps or draws random numbers, so a run is
a pure function of its parameters and its inputs; the `seed` is kept for the probes built on
the plant (see `devices.simulator.probes.probes_for`).

Temperatures are in °C, time in seconds, powers in W, heat capacities in J/K, energies in J.
The units and the physics behind every parameter are in `docs/simulator.md`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Union

#: Longest Euler substep, in seconds.
MAX_SUBSTEP_S = 1.0

#: Fermentation heat: a constant in W, or a function of the plant's time `t` (s) giving W.
FermentationHeat = Union[float, Callable[[float], float]]


def _duty(value: float | bool, name: str) -> float:
    """An actuator input as a fraction 0…1 (a relay's on/off, or its average duty)."""
    duty = float(value)
    if not 0.0 <= duty <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1 (got {value!r})")
    return duty


class _Ambient:
    """Room temperature: `mean + amplitude · sin(2π (t + phase) / period)`.

    With the default phase of 0, t = 0 is the daily mean on the way up; the room peaks a
    quarter period later (6 h for a day) and is coolest three quarters of a period in.
    """

    ambient_mean_c: float
    ambient_amplitude_c: float
    ambient_period_s: float
    ambient_phase_s: float

    def _init_ambient(self, mean_c: float, amplitude_c: float, period_s: float, phase_s: float) -> None:
        if period_s <= 0:
            raise ValueError("ambient_period_s must be positive")
        self.ambient_mean_c = float(mean_c)
        self.ambient_amplitude_c = float(amplitude_c)
        self.ambient_period_s = float(period_s)
        self.ambient_phase_s = float(phase_s)

    def ambient_c(self, t: float | None = None) -> float:
        """Room temperature (°C) at plant time `t` (s); now if `t` is None."""
        if t is None:
            t = self.t  # type: ignore[attr-defined]
        if self.ambient_amplitude_c == 0.0:
            return self.ambient_mean_c
        omega = 2.0 * math.pi / self.ambient_period_s
        return self.ambient_mean_c + self.ambient_amplitude_c * math.sin(omega * (t + self.ambient_phase_s))


class FridgePlant(_Ambient):
    """A fermentation fridge: beer, fridge air, walls with evaporator, and heater element.

    ```
    C_b dT_b = U_ab (T_a − T_b) + P_ferm
    C_a dT_a = U_ha (T_h − T_a) + U_wa (T_w − T_a) + U_ab (T_b − T_a) [+ door exchange]
    C_w dT_w = −P_cool·c + U_ew (T_env − T_w) + U_wa (T_a − T_w)
    C_h dT_h =  P_heat·h + U_ha (T_a − T_h)
    ```
    Each flow is computed once per substep from the old state and applied with opposite signs
    to the two nodes it joins, so energy is conserved to rounding (the beer term once).

    Parameters (all keyword-only):

    - `seed`: int, kept for the probes built on this plant; the physics has no randomness.
    - `beer_capacity_j_per_k`: C_b, J/K; 84,000 is 20 L of beer.
    - `air_capacity_j_per_k`: C_a, J/K, the fridge air.
    - `wall_capacity_j_per_k`: C_w, J/K, walls and evaporator (where the compressor acts).
    - `heater_capacity_j_per_k`: C_h, J/K, the heater element.
    - `u_beer_air_w_per_k`: U_ab, W/K, beer ↔ air.
    - `u_wall_air_w_per_k`: U_wa, W/K, walls ↔ air.
    - `u_heater_air_w_per_k`: U_ha, W/K, heater ↔ air.
    - `u_env_wall_w_per_k`: U_ew, W/K, room ↔ walls (the insulation).
    - `heater_w`: P_heat, W, heater power when on.
    - `cooler_w`: P_cool, W, heat the compressor removes from the walls when on.
    - `ambient_mean_c`, `ambient_amplitude_c`: °C, room temperature mean and daily swing (±).
    - `ambient_period_s`, `ambient_phase_s`: s, period of the room's sine and its phase.
    - `fermentation_w`: P_ferm, W, a constant or a function of plant time `t` (s); settable
      at run time through the attribute of the same name.
    - `door_tau_s`: s, time constant of the forced air exchange while the door is open.
    - `initial_beer_c`, `initial_air_c`, `initial_wall_c`, `initial_heater_c`: °C at t = 0;
      None means the room temperature at t = 0.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        beer_capacity_j_per_k: float = 84_000.0,
        air_capacity_j_per_k: float = 250.0,
        wall_capacity_j_per_k: float = 5_000.0,
        heater_capacity_j_per_k: float = 1_000.0,
        u_beer_air_w_per_k: float = 2.5,
        u_wall_air_w_per_k: float = 3.3,
        u_heater_air_w_per_k: float = 33.0,
        u_env_wall_w_per_k: float = 1.67,
        heater_w: float = 100.0,
        cooler_w: float = 100.0,
        ambient_mean_c: float = 20.0,
        ambient_amplitude_c: float = 4.0,
        ambient_period_s: float = 86_400.0,
        ambient_phase_s: float = 0.0,
        fermentation_w: FermentationHeat = 0.0,
        door_tau_s: float = 60.0,
        initial_beer_c: float | None = None,
        initial_air_c: float | None = None,
        initial_wall_c: float | None = None,
        initial_heater_c: float | None = None,
    ) -> None:
        for name, value in (
            ("beer_capacity_j_per_k", beer_capacity_j_per_k),
            ("air_capacity_j_per_k", air_capacity_j_per_k),
            ("wall_capacity_j_per_k", wall_capacity_j_per_k),
            ("heater_capacity_j_per_k", heater_capacity_j_per_k),
            ("door_tau_s", door_tau_s),
        ):
            if value <= 0:
                raise ValueError(f"{name} must be positive")
        self.seed = seed
        self.t = 0.0
        self._init_ambient(ambient_mean_c, ambient_amplitude_c, ambient_period_s, ambient_phase_s)
        self.beer_capacity_j_per_k = float(beer_capacity_j_per_k)
        self.air_capacity_j_per_k = float(air_capacity_j_per_k)
        self.wall_capacity_j_per_k = float(wall_capacity_j_per_k)
        self.heater_capacity_j_per_k = float(heater_capacity_j_per_k)
        self.u_beer_air_w_per_k = float(u_beer_air_w_per_k)
        self.u_wall_air_w_per_k = float(u_wall_air_w_per_k)
        self.u_heater_air_w_per_k = float(u_heater_air_w_per_k)
        self.u_env_wall_w_per_k = float(u_env_wall_w_per_k)
        self.heater_w = float(heater_w)
        self.cooler_w = float(cooler_w)
        self.fermentation_w: FermentationHeat = fermentation_w
        self.door_tau_s = float(door_tau_s)
        #: While not None, the air node is pinned at this temperature (°C): an ideal air
        #: controller, used for the pull-down bound and the beer's own time constant.
        self.air_hold_c: float | None = None
        self.door_open_until_s = 0.0

        room = self.ambient_c(0.0)
        self.beer_temp_c = room if initial_beer_c is None else float(initial_beer_c)
        self.air_temp_c = room if initial_air_c is None else float(initial_air_c)
        self.wall_temp_c = room if initial_wall_c is None else float(initial_wall_c)
        self.heater_temp_c = room if initial_heater_c is None else float(initial_heater_c)

        # Energy bookkeeping, J, since t = 0. Their sum equals the change of stored_energy_j().
        self.heater_energy_j = 0.0  # delivered by the heater
        self.cooler_energy_j = 0.0  # removed by the compressor (positive)
        self.ambient_energy_j = 0.0  # room → walls through the insulation
        self.fermentation_energy_j = 0.0  # released by the yeast
        self.door_energy_j = 0.0  # room → air while the door is open
        self.hold_energy_j = 0.0  # added to the air to keep it at air_hold_c

    # -- inputs ----------------------------------------------------------------------------
    def open_door(self, duration_s: float = 120.0) -> None:
        """Open the door now for `duration_s` seconds of plant time (a longer one extends it;
        `math.inf` leaves it open until `close_door`)."""
        if not duration_s >= 0:  # also NaN
            raise ValueError("duration_s must not be negative")
        self.door_open_until_s = max(self.door_open_until_s, self.t + duration_s)

    def close_door(self) -> None:
        """Shut the door now, however long it was opened for."""
        self.door_open_until_s = min(self.door_open_until_s, self.t)

    @property
    def door_open(self) -> bool:
        return self.t < self.door_open_until_s

    def fermentation_heat_w(self, t: float | None = None) -> float:
        """P_ferm (W) at plant time `t` (s); now if `t` is None."""
        heat = self.fermentation_w
        if callable(heat):
            return float(heat(self.t if t is None else t))
        return float(heat)

    # -- outputs ---------------------------------------------------------------------------
    def temperatures(self) -> dict[str, float]:
        """True temperatures (°C) by probe name: `beer`, `fridge` (the air), `room`."""
        return {"beer": self.beer_temp_c, "fridge": self.air_temp_c, "room": self.ambient_c()}

    @property
    def energy_in_j(self) -> float:
        """Net energy (J) the actuators put in since t = 0: heater delivered − cooler removed."""
        return self.heater_energy_j - self.cooler_energy_j

    def stored_energy_j(self) -> float:
        """Sensible heat (J) of the four nodes, relative to 0 °C."""
        return (
            self.beer_capacity_j_per_k * self.beer_temp_c
            + self.air_capacity_j_per_k * self.air_temp_c
            + self.wall_capacity_j_per_k * self.wall_temp_c
            + self.heater_capacity_j_per_k * self.heater_temp_c
        )

    def external_energy_j(self) -> float:
        """All energy (J) that crossed the plant's boundary since t = 0, by any path."""
        return (
            self.heater_energy_j
            - self.cooler_energy_j
            + self.ambient_energy_j
            + self.fermentation_energy_j
            + self.door_energy_j
            + self.hold_energy_j
        )

    # -- dynamics --------------------------------------------------------------------------
    def step(self, dt_s: float, heat: float | bool = 0.0, cool: float | bool = 0.0) -> None:
        """Advance `dt_s` seconds with the heater at `heat` and the compressor at `cool` (0…1).

        A relay passes a bool; a float is read as the fraction of the time it is on.
        """
        if dt_s < 0:
            raise ValueError("dt_s must not be negative")
        p_heat = self.heater_w * _duty(heat, "heat")
        p_cool = self.cooler_w * _duty(cool, "cool")
        whole = int(dt_s // MAX_SUBSTEP_S)
        rest = dt_s - whole * MAX_SUBSTEP_S
        if whole:
            self._run(whole, MAX_SUBSTEP_S, p_heat, p_cool)
        if rest > 1e-12:
            self._run(1, rest, p_heat, p_cool)

    def _run(self, count: int, d: float, p_heat: float, p_cool: float) -> None:
        """`count` Euler substeps of `d` seconds. Plain floats in locals: this is the hot loop."""
        tb, ta, tw, th = self.beer_temp_c, self.air_temp_c, self.wall_temp_c, self.heater_temp_c
        u_ab, u_wa = self.u_beer_air_w_per_k, self.u_wall_air_w_per_k
        u_ha, u_ew = self.u_heater_air_w_per_k, self.u_env_wall_w_per_k
        kb = d / self.beer_capacity_j_per_k
        ka = d / self.air_capacity_j_per_k
        kw = d / self.wall_capacity_j_per_k
        kh = d / self.heater_capacity_j_per_k
        u_door = self.air_capacity_j_per_k / self.door_tau_s
        door_until = self.door_open_until_s
        hold = self.air_hold_c
        ferm_fn = self.fermentation_w if callable(self.fermentation_w) else None
        ferm = 0.0 if ferm_fn is not None else float(self.fermentation_w)  # type: ignore[arg-type]
        mean, amp = self.ambient_mean_c, self.ambient_amplitude_c
        omega = 2.0 * math.pi / self.ambient_period_s
        phase = self.ambient_phase_s
        sin = math.sin
        t0 = self.t
        e_env = e_ferm = e_door = e_hold = 0.0
        env = mean
        for i in range(count):
            t = t0 + i * d
            if amp != 0.0:
                env = mean + amp * sin(omega * (t + phase))
            if ferm_fn is not None:
                ferm = float(ferm_fn(t))
            q_ab = u_ab * (ta - tb)
            q_ha = u_ha * (th - ta)
            q_wa = u_wa * (tw - ta)
            q_ew = u_ew * (env - tw)
            q_door = u_door * (env - ta) if t < door_until else 0.0
            tb += kb * (q_ab + ferm)
            ta += ka * (q_ha + q_wa - q_ab + q_door)
            tw += kw * (q_ew - q_wa - p_cool)
            th += kh * (p_heat - q_ha)
            e_env += q_ew
            e_ferm += ferm
            e_door += q_door
            if hold is not None:
                e_hold += (hold - ta) / ka
                ta = hold
        self.beer_temp_c, self.air_temp_c, self.wall_temp_c, self.heater_temp_c = tb, ta, tw, th
        self.t = t0 + count * d
        self.heater_energy_j += p_heat * d * count
        self.cooler_energy_j += p_cool * d * count
        self.ambient_energy_j += e_env * d
        self.fermentation_energy_j += e_ferm * d
        self.door_energy_j += e_door * d
        self.hold_energy_j += e_hold * d


class KettlePlant(_Ambient):
    """A direct-fired kettle or mash tun: one well-stirred liquid node and a heating element.

    ```
    dE_e/dt    = P·h − E_e / τ_e             (heat stored in the element; it delivers E_e/τ_e)
    C_v dT_v   = E_e / τ_e + UA (T_env − T_v)
    ```
    The element is a first-order lag of time constant τ_e on the delivered power: switched on
    it ramps up, switched off it keeps heating while it cools, so a bang-bang controller
    overshoots by up to P·τ_e / C_v. The liquid cannot exceed the boiling point: the excess
    heat boils water off (latent heat), which lowers the water mass and so C_v. The `cool`
    input of `step` is accepted and ignored.

    Parameters (all keyword-only):

    - `seed`: int, kept for the probes built on this plant; the physics has no randomness.
    - `water_kg`: kg of water or wort in the vessel (25 L ≈ 25 kg).
    - `water_specific_heat_j_per_kg_k`: J/(kg·K) of the water or wort.
    - `grain_kg`: kg of grain already in the vessel (a mash); 0 for a kettle of wort.
    - `grain_specific_heat_j_per_kg_k`: J/(kg·K) of the grain.
    - `element_w`: P, W, element power when on.
    - `element_lag_s`: τ_e, s, the element's first-order lag.
    - `ua_w_per_k`: UA, W/K, losses from the vessel to the room.
    - `ambient_mean_c`, `ambient_amplitude_c`, `ambient_period_s`, `ambient_phase_s`: the room,
      as for the fridge (no daily swing by default: a brew day is a few hours).
    - `boil_c`: °C, the boiling point the liquid cannot exceed.
    - `latent_heat_j_per_kg`: J/kg to boil water off.
    - `min_water_kg`: kg, boil-off stops at this mass (boiling dry is not modelled).
    - `initial_vessel_c`: °C at t = 0; None means the room temperature at t = 0.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        water_kg: float = 25.0,
        water_specific_heat_j_per_kg_k: float = 4180.0,
        grain_kg: float = 0.0,
        grain_specific_heat_j_per_kg_k: float = 1700.0,
        element_w: float = 3500.0,
        element_lag_s: float = 45.0,
        ua_w_per_k: float = 10.0,
        ambient_mean_c: float = 20.0,
        ambient_amplitude_c: float = 0.0,
        ambient_period_s: float = 86_400.0,
        ambient_phase_s: float = 0.0,
        boil_c: float = 100.0,
        latent_heat_j_per_kg: float = 2.26e6,
        min_water_kg: float = 1.0,
        initial_vessel_c: float | None = None,
    ) -> None:
        if water_kg <= 0 or water_specific_heat_j_per_kg_k <= 0:
            raise ValueError("water_kg and water_specific_heat_j_per_kg_k must be positive")
        if grain_kg < 0 or grain_specific_heat_j_per_kg_k <= 0:
            raise ValueError("grain_kg must not be negative; its specific heat must be positive")
        if element_lag_s <= 0 or latent_heat_j_per_kg <= 0:
            raise ValueError("element_lag_s and latent_heat_j_per_kg must be positive")
        self.seed = seed
        self.t = 0.0
        self._init_ambient(ambient_mean_c, ambient_amplitude_c, ambient_period_s, ambient_phase_s)
        self.water_kg = float(water_kg)
        self.water_specific_heat_j_per_kg_k = float(water_specific_heat_j_per_kg_k)
        #: kg of other matter added (grain); only its heat capacity matters.
        self.added_kg = float(grain_kg)
        self.element_w = float(element_w)
        self.element_lag_s = float(element_lag_s)
        self.ua_w_per_k = float(ua_w_per_k)
        self.boil_c = float(boil_c)
        self.latent_heat_j_per_kg = float(latent_heat_j_per_kg)
        self.min_water_kg = float(min_water_kg)
        #: C_v, J/K: the liquid plus everything mixed into it.
        self.capacity_j_per_k = (
            self.water_kg * self.water_specific_heat_j_per_kg_k + grain_kg * grain_specific_heat_j_per_kg_k
        )
        room = self.ambient_c(0.0)
        self.vessel_temp_c = room if initial_vessel_c is None else min(float(initial_vessel_c), self.boil_c)
        #: E_e, J: heat stored in the element above what it has delivered.
        self.element_energy_j = 0.0
        self.boiled_off_kg = 0.0

        # Energy bookkeeping, J, since t = 0. Their sum equals the change of stored_energy_j().
        self.heater_energy_j = 0.0  # electrical energy into the element
        self.ambient_energy_j = 0.0  # room → vessel (negative: losses)
        self.boiloff_energy_j = 0.0  # carried off by the steam (latent + its sensible heat)
        self.added_energy_j = 0.0  # sensible heat (from 0 °C) of matter added by add_mass

    def add_mass(self, kg: float, temp_c: float, specific_heat_j_per_kg_k: float = 1700.0) -> None:
        """Stir in `kg` of matter at `temp_c` (°C); it mixes at once (dough-in: grain ≈ 1700 J/(kg·K))."""
        if kg <= 0 or specific_heat_j_per_kg_k <= 0:
            raise ValueError("kg and specific_heat_j_per_kg_k must be positive")
        if temp_c > self.boil_c:
            raise ValueError(f"cannot add matter above the boiling point ({temp_c} > {self.boil_c} °C)")
        added = kg * specific_heat_j_per_kg_k
        total = self.capacity_j_per_k + added
        self.vessel_temp_c = (self.capacity_j_per_k * self.vessel_temp_c + added * temp_c) / total
        self.capacity_j_per_k = total
        self.added_kg += kg
        self.added_energy_j += added * temp_c

    @property
    def element_power_w(self) -> float:
        """Power (W) the element delivers to the liquid now."""
        return self.element_energy_j / self.element_lag_s

    @property
    def boiling(self) -> bool:
        return self.vessel_temp_c >= self.boil_c

    def temperatures(self) -> dict[str, float]:
        """True temperatures (°C) by probe name: `vessel`, `room`."""
        return {"vessel": self.vessel_temp_c, "room": self.ambient_c()}

    @property
    def energy_in_j(self) -> float:
        """Energy (J) the element took in since t = 0 (part of it may still be in the element)."""
        return self.heater_energy_j

    def stored_energy_j(self) -> float:
        """Sensible heat (J) of the vessel contents relative to 0 °C, plus the element's store."""
        return self.capacity_j_per_k * self.vessel_temp_c + self.element_energy_j

    def external_energy_j(self) -> float:
        """All energy (J) that crossed the plant's boundary since t = 0, by any path."""
        return self.heater_energy_j + self.ambient_energy_j - self.boiloff_energy_j + self.added_energy_j

    def step(self, dt_s: float, heat: float | bool = 0.0, cool: float | bool = 0.0) -> None:
        """Advance `dt_s` seconds with the element at `heat` (0…1); `cool` is ignored."""
        if dt_s < 0:
            raise ValueError("dt_s must not be negative")
        p_cmd = self.element_w * _duty(heat, "heat")
        whole = int(dt_s // MAX_SUBSTEP_S)
        rest = dt_s - whole * MAX_SUBSTEP_S
        if whole:
            self._run(whole, MAX_SUBSTEP_S, p_cmd)
        if rest > 1e-12:
            self._run(1, rest, p_cmd)

    def _run(self, count: int, d: float, p_cmd: float) -> None:
        tv, ee, cap = self.vessel_temp_c, self.element_energy_j, self.capacity_j_per_k
        k_el = d / self.element_lag_s
        ua, boil = self.ua_w_per_k, self.boil_c
        mean, amp = self.ambient_mean_c, self.ambient_amplitude_c
        omega = 2.0 * math.pi / self.ambient_period_s
        phase = self.ambient_phase_s
        c_water = self.water_specific_heat_j_per_kg_k
        latent = self.latent_heat_j_per_kg
        t0 = self.t
        e_env = e_boil = 0.0
        env = mean
        for i in range(count):
            if amp != 0.0:
                env = mean + amp * math.sin(omega * (t0 + i * d + phase))
            delivered = ee * k_el
            q_env = ua * (env - tv) * d
            ee += p_cmd * d - delivered
            tv += (delivered + q_env) / cap
            e_env += q_env
            if tv > boil:
                excess = (tv - boil) * cap
                tv = boil
                evaporated = min(excess / latent, max(self.water_kg - self.min_water_kg, 0.0))
                self.water_kg -= evaporated
                self.boiled_off_kg += evaporated
                cap -= evaporated * c_water
                e_boil += excess + evaporated * c_water * boil
        self.vessel_temp_c, self.element_energy_j, self.capacity_j_per_k = tv, ee, cap
        self.t = t0 + count * d
        self.heater_energy_j += p_cmd * d * count
        self.ambient_energy_j += e_env
        self.boiloff_energy_j += e_boil


Plant = Union[FridgePlant, KettlePlant]


def make_plant(kind: str, seed: int = 0, **params: float) -> Plant:
    """A plant by kind, with nominal parameters that `params` may override.

    - `fridge`: `FridgePlant`, 20 L of beer, room 20 ± 4 °C.
    - `mash`: `KettlePlant` holding a mash: 25 kg of water and 5 kg of grain already mixed.
    - `kettle`: `KettlePlant` holding 25 kg of water or wort and no grain (dough-in with
      `add_mass` for a single infusion in the kettle).
    """
    if kind == "fridge":
        return FridgePlant(seed=seed, **params)  # type: ignore[arg-type]
    if kind == "mash":
        return KettlePlant(seed=seed, **{"water_kg": 25.0, "grain_kg": 5.0, **params})  # type: ignore[arg-type]
    if kind == "kettle":
        return KettlePlant(seed=seed, **{"water_kg": 25.0, "grain_kg": 0.0, **params})  # type: ignore[arg-type]
    raise ValueError(f"unknown plant kind {kind!r}: expected 'fridge', 'mash' or 'kettle'")

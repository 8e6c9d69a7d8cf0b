"""Thermal plants and simulated probes: physics that would break these tests if it broke.

Expected values are derived from the plants' own parameters, never typed in as guesses.
"""

from __future__ import annotations

import math

import pytest

from devices.simulator.plant import FridgePlant, KettlePlant, make_plant
from devices.simulator.probes import (
    DISCONNECTED_C,
    LSB_C,
    POWER_ON_C,
    SimulatedProbe,
    _dallas_crc8,
    probes_for,
    rom_for,
)

DAY_S = 86_400


def steady_fridge(**params) -> FridgePlant:
    """A fridge in a room held at 20 °C (no daily swing)."""
    return FridgePlant(ambient_amplitude_c=0.0, **params)


def fridge_matrix(p: FridgePlant) -> list[list[float]]:
    """dT/dt = A·T + b for the nodes (beer, air, wall, heater) with the actuators off."""
    cb, ca = p.beer_capacity_j_per_k, p.air_capacity_j_per_k
    cw, ch = p.wall_capacity_j_per_k, p.heater_capacity_j_per_k
    uab, uwa, uha, uew = (
        p.u_beer_air_w_per_k,
        p.u_wall_air_w_per_k,
        p.u_heater_air_w_per_k,
        p.u_env_wall_w_per_k,
    )
    return [
        [-uab / cb, uab / cb, 0.0, 0.0],
        [uab / ca, -(uab + uwa + uha) / ca, uwa / ca, uha / ca],
        [0.0, uwa / cw, -(uwa + uew) / cw, 0.0],
        [0.0, uha / ch, 0.0, -uha / ch],
    ]


def solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (4×4: no numpy needed)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in reversed(range(n)):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def slowest_time_constant_s(p: FridgePlant) -> float:
    """1/|λ| of the eigenvalue of A nearest zero, by inverse iteration."""
    a = fridge_matrix(p)
    x = [1.0, 1.0, 1.0, 1.0]
    for _ in range(200):
        y = solve(a, x)
        norm = max(abs(v) for v in y)
        x = [v / norm for v in y]
    ax = [sum(a[i][j] * x[j] for j in range(4)) for i in range(4)]
    return -x[0] / ax[0]


# -- fridge: energy and bounds --------------------------------------------------------------
@pytest.mark.parametrize(("start_c", "direction"), [(10.0, 1), (30.0, -1)])
def test_beer_approaches_ambient_monotonically_and_never_passes_it(start_c, direction):
    p = steady_fridge(initial_beer_c=start_c)
    room = p.ambient_mean_c
    last = p.beer_temp_c
    for _ in range(5 * DAY_S // 60):
        p.step(60)
        beer = p.beer_temp_c
        assert (beer - last) * direction >= 0.0
        assert (room - beer) * direction >= 0.0
        last = beer
    assert abs(room - last) < 0.1 * abs(room - start_c)


def test_energy_is_conserved_through_every_path():
    p = FridgePlant(initial_beer_c=12.0, fermentation_w=lambda t: 5.0 if t > 3_600 else 0.0)
    start = p.stored_energy_j()
    p.step(7_200, heat=True)
    p.open_door()
    p.step(3_600, cool=True)
    p.step(1_800.5, heat=0.3)
    p.air_hold_c = 4.0
    p.step(3_600)
    p.air_hold_c = None
    p.fermentation_w = 15.0
    p.step(DAY_S)
    assert p.stored_energy_j() - start == pytest.approx(p.external_energy_j(), abs=1e-3)
    assert p.heater_energy_j == pytest.approx(100.0 * (7_200 + 0.3 * 1_800.5))
    assert p.cooler_energy_j == pytest.approx(100.0 * 3_600)
    assert p.energy_in_j == pytest.approx(p.heater_energy_j - p.cooler_energy_j)
    # 5 W from t = 3,601 s (each substep takes P_ferm at its start) to the last step, then 15 W.
    five_w_s = 7_200 - 3_601 + 3_600 + 1_800.5 + 3_600
    assert p.fermentation_energy_j == pytest.approx(5.0 * five_w_s + 15.0 * DAY_S)
    assert p.door_energy_j < 0.0  # the heated air lost heat to the room through the door


def test_heater_warms_and_cooler_cools_the_beer():
    warm, cold = steady_fridge(), steady_fridge()
    warm.step(6 * 3_600, heat=True)
    cold.step(6 * 3_600, cool=True)
    assert warm.beer_temp_c > 20.5 and warm.air_temp_c > warm.beer_temp_c
    assert cold.beer_temp_c < 19.5 and cold.air_temp_c < cold.beer_temp_c


def test_full_cooling_and_heating_are_bounded_by_the_insulation():
    # At equilibrium under constant cooling no heat flows between beer, air and heater, so
    # all nodes sit at the wall's temperature, where the insulation brings in what the
    # compressor removes: T = T_env − P_cool / U_ew. Heating, the heat crosses the air→wall
    # link too, so the air (and the beer with it) settles at T_env + P_heat (1/U_ew + 1/U_wa).
    p = FridgePlant()
    floor = p.ambient_mean_c - p.ambient_amplitude_c - p.cooler_w / p.u_env_wall_w_per_k
    ceiling = (
        p.ambient_mean_c
        + p.ambient_amplitude_c
        + p.heater_w * (1 / p.u_env_wall_w_per_k + 1 / p.u_wall_air_w_per_k)
    )
    for _ in range(4 * DAY_S // 600):
        p.step(600, cool=True)
        assert min(p.beer_temp_c, p.air_temp_c, p.wall_temp_c) > floor
    hot = FridgePlant()
    for _ in range(4 * DAY_S // 600):
        hot.step(600, heat=True)
        assert max(hot.beer_temp_c, hot.air_temp_c) < ceiling

    steady = steady_fridge()
    t_floor = steady.ambient_mean_c - steady.cooler_w / steady.u_env_wall_w_per_k
    for node in ("beer", "air", "wall", "heater"):
        setattr(steady, f"{node}_temp_c", t_floor)
    steady.step(DAY_S, cool=True)
    assert steady.beer_temp_c == pytest.approx(t_floor, abs=1e-9)
    assert steady.wall_temp_c == pytest.approx(t_floor, abs=1e-9)

    pulled = steady_fridge()
    pulled.step(8 * DAY_S, cool=True)
    assert t_floor < pulled.beer_temp_c < t_floor + 0.5


# -- fridge: time constants -----------------------------------------------------------------
def test_beer_time_constant_with_the_air_held():
    p = steady_fridge(initial_beer_c=20.0)
    p.air_hold_c = 10.0
    tau = p.beer_capacity_j_per_k / p.u_beer_air_w_per_k
    assert 8 * 3_600 < tau < 10 * 3_600  # the nominal 84 kJ/K over 2.5 W/K: 9.3 h
    for n in (0.5, 1, 2, 3):
        p.step(n * tau - p.t)
        assert p.beer_temp_c - 10.0 == pytest.approx(10.0 * math.exp(-n), rel=2e-3)


def test_free_running_beer_follows_the_slowest_mode_of_the_model():
    p = steady_fridge(initial_beer_c=10.0)
    tau = slowest_time_constant_s(p)
    # Quasi-static estimate: the beer's capacity behind beer→air→wall→room in series.
    u_series = 1.0 / sum(1.0 / u for u in (p.u_beer_air_w_per_k, p.u_wall_air_w_per_k, p.u_env_wall_w_per_k))
    assert tau == pytest.approx(p.beer_capacity_j_per_k / u_series, rel=0.1)

    p.step(DAY_S)  # let the fast modes (seconds to an hour or two) die out
    gap_1 = p.ambient_mean_c - p.beer_temp_c
    p.step(4 * DAY_S)
    gap_5 = p.ambient_mean_c - p.beer_temp_c
    measured = 4 * DAY_S / math.log(gap_1 / gap_5)
    assert measured == pytest.approx(tau, rel=0.01)


def test_fermentation_heat_lifts_the_beer_above_the_air_by_p_over_u():
    p = steady_fridge(initial_beer_c=18.0, fermentation_w=5.0)
    p.air_hold_c = 18.0
    tau = p.beer_capacity_j_per_k / p.u_beer_air_w_per_k
    p.step(7 * tau)
    expected = p.fermentation_w / p.u_beer_air_w_per_k
    assert p.beer_temp_c - p.air_temp_c == pytest.approx(expected, abs=0.01)

    # Without a hold, the beer−air difference is the same P/U_ab once the beer settles.
    free = steady_fridge(initial_beer_c=18.0)
    free.fermentation_w = lambda t: 15.0
    free.step(10 * DAY_S)
    assert free.beer_temp_c - free.air_temp_c == pytest.approx(15.0 / free.u_beer_air_w_per_k, rel=0.02)


def test_door_pulls_the_air_toward_the_room_for_its_duration_only():
    start = {f"initial_{n}_c": 4.0 for n in ("beer", "air", "wall", "heater")}
    p, shut = steady_fridge(**start), steady_fridge(**start)
    p.open_door(duration_s=120)
    assert p.door_open
    p.step(120)
    shut.step(120)
    rise = p.air_temp_c - shut.air_temp_c
    assert rise > 3.0  # toward the 20 °C room
    assert p.air_temp_c < p.ambient_mean_c
    assert not p.door_open
    door_energy = p.door_energy_j
    p.step(1_800)
    shut.step(1_800)
    assert p.door_energy_j == door_energy
    assert p.air_temp_c - shut.air_temp_c < 0.2 * rise


def test_long_steps_equal_one_second_steps():
    a, b = FridgePlant(initial_beer_c=15.0), FridgePlant(initial_beer_c=15.0)
    a.step(90.5, heat=True)
    for _ in range(90):
        b.step(1, heat=True)
    b.step(0.5, heat=True)
    assert a.temperatures() == b.temperatures()
    assert a.t == b.t == 90.5


def test_inputs_are_checked():
    p = FridgePlant()
    with pytest.raises(ValueError):
        p.step(-1)
    with pytest.raises(ValueError):
        p.step(1, heat=1.5)
    with pytest.raises(ValueError):
        make_plant("freezer")


# -- kettle ---------------------------------------------------------------------------------
def test_kettle_reaches_66_c_in_the_time_the_energy_balance_gives():
    k = make_plant("kettle")
    assert isinstance(k, KettlePlant)
    start, target = k.vessel_temp_c, 66.0
    mean_loss_w = k.ua_w_per_k * ((start + target) / 2 - k.ambient_mean_c)
    # The lagged element delivers P(1 − e^(−t/τ)): it falls behind full power by P·τ of energy.
    expected = k.capacity_j_per_k * (target - start) / (k.element_w - mean_loss_w) + k.element_lag_s
    while k.vessel_temp_c < target:
        k.step(1, heat=True)
    assert k.t == pytest.approx(expected, rel=0.15)
    assert k.t == pytest.approx(expected, rel=0.02)  # the model is this close in fact


def test_element_lag_keeps_heating_after_switch_off():
    def overshoot(k: KettlePlant) -> float:
        k.step(300, heat=True)
        at_off = peak = k.vessel_temp_c
        for _ in range(600):
            k.step(1, heat=False)
            peak = max(peak, k.vessel_temp_c)
        assert k.element_power_w < 0.01 * k.element_w
        return peak - at_off

    k = make_plant("kettle")
    k.step(k.element_lag_s, heat=True)
    assert k.element_power_w == pytest.approx(k.element_w * (1 - math.exp(-1)), rel=0.02)
    # At full power the element holds P·τ_e it has not yet delivered; switched off, it gives
    # that to the liquid: all of it without losses, a little less with them.
    stored = k.element_w * k.element_lag_s
    assert overshoot(make_plant("kettle", ua_w_per_k=0.0)) == pytest.approx(
        stored / k.capacity_j_per_k, rel=0.01
    )
    assert 0.7 < overshoot(make_plant("kettle")) / (stored / k.capacity_j_per_k) < 1.0


def test_kettle_never_exceeds_boiling_and_boils_off():
    k = make_plant("kettle", initial_vessel_c=90.0)
    start = k.stored_energy_j()
    for _ in range(3 * 3_600 // 10):
        k.step(10, heat=True)
        assert k.vessel_temp_c <= k.boil_c
    assert k.boiling
    assert 0.0 < k.boiled_off_kg < 25.0
    assert k.stored_energy_j() - start == pytest.approx(k.external_energy_j(), rel=1e-9)
    k.step(1, cool=True)  # ignored, not an error


def test_dough_in_follows_the_mixing_formula():
    k = make_plant("kettle", initial_vessel_c=72.0)
    c_water = k.capacity_j_per_k
    k.add_mass(5.0, 20.0, 1_700.0)
    expected = (c_water * 72.0 + 5.0 * 1_700.0 * 20.0) / (c_water + 5.0 * 1_700.0)
    assert k.vessel_temp_c == pytest.approx(expected, abs=1e-9)
    assert 67.5 < k.vessel_temp_c < 68.5
    assert k.capacity_j_per_k == make_plant("mash").capacity_j_per_k
    assert k.temperatures() == {"vessel": k.vessel_temp_c, "room": 20.0}


def test_mash_has_its_grain_in():
    mash, kettle = make_plant("mash"), make_plant("kettle")
    assert mash.capacity_j_per_k == pytest.approx(kettle.capacity_j_per_k + 5.0 * 1_700.0)


# -- probes ---------------------------------------------------------------------------------
def read_for(probe: SimulatedProbe, plant, seconds: int) -> list[float | None]:
    """One reading a second for `seconds`, the plant's heater on throughout."""
    out = []
    for _ in range(seconds):
        out.append(probe.read(plant))
        plant.step(1, heat=True)
    return out


def test_roms_are_deterministic_ds18b20_ids():
    rom = rom_for("beer")
    assert rom == rom_for("beer") != rom_for("fridge")
    assert len(rom) == 16 and rom.startswith("28") and rom == rom.upper()
    assert _dallas_crc8(bytes.fromhex(rom)) == 0  # the last byte is the 1-Wire CRC
    with pytest.raises(ValueError):
        SimulatedProbe("10" + rom[2:], "beer", seed=1)


def test_readings_are_quantised_and_within_the_noise():
    plant = FridgePlant(initial_beer_c=18.03)
    probe = SimulatedProbe(rom_for("beer"), "beer", seed=3)
    values = []
    for _ in range(500):
        value = probe.read(plant)
        assert value is not None
        assert (value / LSB_C).is_integer()
        assert abs(value - plant.beer_temp_c) <= 1.5 * LSB_C
        values.append(value)
        plant.step(1)
    assert len(set(values)) > 1  # the noise is there
    quiet = SimulatedProbe(rom_for("beer"), "beer", seed=3, noise_lsb=0)
    assert quiet.read(plant) == round(plant.beer_temp_c / LSB_C) * LSB_C


def test_same_seed_same_readings_other_seed_other_noise():
    def run(seed: int) -> list[float | None]:
        plant = make_plant("fridge", seed=seed, initial_beer_c=15.0)
        probes = probes_for(plant)
        out = []
        for _ in range(300):
            out += [probe.read(plant) for probe in probes.values()]
            plant.step(1, heat=True)
        return out

    assert run(7) == run(7)
    assert run(7) != run(8)
    probes = probes_for(make_plant("fridge", seed=7))
    assert set(probes) == {"beer", "fridge", "room"}
    assert len({p.seed for p in probes.values()}) == 3
    assert probes["beer"].rom == rom_for("beer")
    assert set(probes_for(make_plant("mash"))) == {"vessel", "room"}


def test_probe_lag_is_first_order():
    plant = steady_fridge(initial_beer_c=10.0)
    probe = SimulatedProbe(rom_for("beer"), "beer", seed=1, noise_lsb=0, lag_s=60.0)
    assert probe.read(plant) == 10.0
    plant.beer_temp_c = 20.0  # a step change of the true temperature
    for _ in range(60):
        plant.step(1)
        value = probe.read(plant)
    assert value == pytest.approx(10.0 + 10.0 * (1 - math.exp(-1)), abs=LSB_C)


@pytest.fixture
def heating():
    """A fridge warming fast enough that every reading differs, and a noiseless beer probe."""
    plant = FridgePlant(initial_beer_c=20.0, beer_capacity_j_per_k=500.0)
    return plant, SimulatedProbe(rom_for("beer"), "beer", seed=1, noise_lsb=0)


def test_disconnect_reads_minus_127_then_ends(heating):
    plant, probe = heating
    probe.disconnect(10)
    values = read_for(probe, plant, 15)
    assert values[:10] == [DISCONNECTED_C] * 10
    assert all(v is not None and v > 0 for v in values[10:])


def test_crc_errors_read_none_then_end(heating):
    plant, probe = heating
    probe.crc_errors(5)
    values = read_for(probe, plant, 8)
    assert values[:5] == [None] * 5 and None not in values[5:]


def test_spikes_last_their_count(heating):
    plant, probe = heating
    probe.spike_85(count=2)
    probe.spike_minus127()
    values = read_for(probe, plant, 5)
    assert values[:3] == [POWER_ON_C, POWER_ON_C, DISCONNECTED_C]
    assert all(20.0 <= v < 30.0 for v in values[3:])


def test_stuck_probe_repeats_its_last_value_then_follows_again(heating):
    plant, probe = heating
    before = read_for(probe, plant, 3)
    probe.stick(120)
    stuck = read_for(probe, plant, 120)
    assert stuck == [before[-1]] * 120
    after = read_for(probe, plant, 3)
    assert after[0] > before[-1] + 1.0  # the beer went on warming meanwhile
    assert probe.active_faults(plant.t) == []


def test_faults_are_timed_in_plant_time_not_reads():
    plant = make_plant("kettle")
    probe = probes_for(plant)["vessel"]
    probe.disconnect(60)
    assert probe.read(plant) == DISCONNECTED_C
    plant.step(59)
    assert probe.read(plant) == DISCONNECTED_C
    plant.step(1)
    assert probe.read(plant) != DISCONNECTED_C

// Dashboard: a card per chamber with its live tick (chamber/<id>/data), large controls for
// mode and setpoint, and nothing that looks live when it is not: a lost connection, an old
// record or a lost probe greys the value out and shows its age.

import { h } from "../dom.js";
import { keypad } from "../keypad.js";
import { ProfileControls } from "../profile-controls.js";
import { clearPrompts, updatePrompts } from "../prompts.js";
import { formatAge, formatTemp, fromShown, onUnitChange, toShown, unitLabel } from "../units.js";

const SETPOINT_MIN_C = -5;
const SETPOINT_MAX_C = 110;
const MODES = { fermenter: ["off", "beer", "fridge", "profile"], mash: ["off", "beer", "profile", "boil"],
  kettle: ["off", "beer", "profile", "boil"] };
const MODE_LABELS = { off: "Off", beer: "Beer", fridge: "Fridge", profile: "Profile", boil: "Boil" };
const STATE_LABELS = { idle: "idle", heating: "heating", cooling: "cooling", dead_time: "waiting (dead time)",
  off: "off", fault: "fault" };

export function mount(container, app) {
  const cards = new Map(); // chamber id -> ChamberCard
  const grid = h("div", { class: "grid", id: "chambers" });
  const empty = h("p", { class: "empty" }, "No chambers yet: add one under IO.");
  container.append(grid);

  async function load() {
    const chambers = await app.attempt(() => app.api.get("/api/chambers"));
    if (!chambers) return;
    const ids = new Set(chambers.map((chamber) => chamber.id));
    for (const [id, card] of cards) if (!ids.has(id)) { card.destroy(); cards.delete(id); }
    for (const chamber of chambers) {
      if (cards.has(chamber.id)) cards.get(chamber.id).setChamber(chamber);
      else {
        const card = new ChamberCard(chamber, app);
        cards.set(chamber.id, card);
        grid.append(card.element);
      }
    }
    if (chambers.length === 0) grid.replaceChildren(empty);
    else empty.remove();
  }

  // The `data` snapshot (every chamber, retained) comes with the subscribe answer: cards
  // and their first values are on screen before /api/chambers and each chamber's own
  // channel answer. The card's own `chamber/<id>/data` takes over from its first record.
  const stopSnapshot = app.channels.subscribe("data", (snapshot) => {
    for (const entry of (snapshot && snapshot.chambers) || []) {
      let card = cards.get(entry.id);
      if (!card) {
        empty.remove();
        card = new ChamberCard({ beer_setpoint: null, fridge_setpoint: null, profile_id: null, ...entry }, app);
        cards.set(entry.id, card);
        grid.append(card.element);
      }
      card.snapshot(entry);
    }
  });
  const stopEvents = app.channels.subscribe("_chambers", () => load(), { onReset: load });
  const clock = setInterval(() => { for (const card of cards.values()) card.tickAges(); }, 1000);
  const stopUnits = onUnitChange(() => { for (const card of cards.values()) card.render(); });
  const onState = () => { for (const card of cards.values()) card.render(); };
  app.channels.addEventListener("state", onState);
  load();
  return () => {
    stopSnapshot();
    stopEvents();
    stopUnits();
    clearInterval(clock);
    app.channels.removeEventListener("state", onState);
    for (const card of cards.values()) card.destroy();
  };
}

class ChamberCard {
  constructor(chamber, app) {
    this.app = app;
    this.chamber = chamber;
    this.record = null;
    this.receivedAt = null; // Date.now() when the last record arrived
    this.lastValid = {}; // field -> Date.now() of its last valid reading
    this.element = h("section", { class: "card chamber", "aria-label": chamber.name, dataset: { chamber: chamber.id } });
    this.build();
    this.unsubscribe = app.channels.subscribe(`chamber/${chamber.id}/data`, (record) => this.update(record));
  }

  destroy() {
    this.unsubscribe();
    this.controls.destroy();
    clearPrompts(this.chamber.id);
    this.destroyed = true;
    if (this.chart) this.chart.destroy();
    this.element.remove();
  }

  setChamber(chamber) {
    this.chamber = chamber;
    this.controls.update();
    if (this.chart) this.chart.setChamber(chamber);
    this.render();
  }

  /** The chart is loaded after the first value is on screen; records wait for it meanwhile. */
  feedChart(record) {
    if (this.chart) { this.chart.push(record); return; }
    this.chartQueue = this.chartQueue || [];
    this.chartQueue.push(record);
    if (this.chartQueue.length > 600) this.chartQueue.shift();
    if (this.chartLoading) return;
    this.chartLoading = import("../chart.js").then(({ ChamberChart }) => {
      if (this.destroyed) return;
      this.chart = new ChamberChart(this.element.querySelector("[data-chart]"), this.chamber, this.app);
      for (const queued of this.chartQueue) this.chart.push(queued);
      this.chartQueue = null;
    });
  }

  build() {
    const chamber = this.chamber;
    this.title = h("h2", {}, chamber.name);
    this.state = h("span", { class: "state", "data-field": "state" });
    this.hold = h("span", { class: "muted", "data-field": "hold" });
    this.values = {};
    const valueBox = (field, label) => {
      const number = h("div", { class: "number", "data-field": field });
      const age = h("div", { class: "age" });
      const box = h("div", { class: "value", dataset: { value: field } }, h("div", { class: "name" }, label), number, age);
      this.values[field] = { box, number, age };
      return box;
    };
    const fermenter = chamber.kind === "fermenter";
    this.modeButtons = {};
    const modes = h("div", { class: "row", role: "group", "aria-label": "Mode" },
      ...(MODES[chamber.kind] || MODES.fermenter).map((mode) => {
        const button = h("button", { type: "button", dataset: { mode }, onclick: () => this.setMode(mode) }, MODE_LABELS[mode]);
        this.modeButtons[mode] = button;
        return button;
      }));
    this.setpointValue = h("button", { type: "button", class: "setpoint", "data-field": "setpoint",
      "aria-label": "Setpoint: type a value", onclick: () => this.typeSetpoint() });
    this.setpointRow = h("div", { class: "row", role: "group", "aria-label": "Setpoint" },
      h("span", { class: "muted" }, "Setpoint"),
      h("button", { type: "button", "aria-label": "Setpoint down 0.1", onclick: () => this.stepSetpoint(-0.1) }, "−"),
      this.setpointValue,
      h("button", { type: "button", "aria-label": "Setpoint up 0.1", onclick: () => this.stepSetpoint(0.1) }, "+"));
    this.profile = h("div", { class: "profile muted", "data-field": "profile" });
    this.controls = new ProfileControls(this);
    this.element.replaceChildren(
      h("div", { class: "row" }, this.title, this.state, this.hold),
      h("div", { class: "values" },
        valueBox("beer", fermenter ? "Beer" : "Wort"),
        fermenter ? valueBox("fridge", "Fridge") : null,
        valueBox("room", "Room"),
        valueBox("beer_set", "Beer set"),
        fermenter ? valueBox("fridge_set", "Fridge set") : null),
      modes, this.setpointRow, this.profile, this.controls.element,
      h("div", { class: "chart", "data-chart": chamber.id }));
    this.render();
  }

  /** An entry of the `data` snapshot: shown only until the chamber's own record comes. */
  snapshot(entry) {
    if (!this.ownRecord) this.update(entry, false);
  }

  update(record, own = true) {
    this.ownRecord = this.ownRecord || own;
    this.record = record;
    this.receivedAt = Date.now();
    for (const field of ["beer", "fridge", "room"]) {
      if (this.valid(field)) this.lastValid[field] = this.receivedAt;
    }
    this.render();
    updatePrompts(this.app, this.chamber, record);
    this.feedChart(record);
  }

  valid(field) {
    const record = this.record;
    if (!record || record[field] === null || record[field] === undefined) return false;
    const sensor = record.sensors && record.sensors[field];
    return !sensor || sensor.valid !== false;
  }

  /** The record is old: the connection is down, or no tick came for three periods. */
  stale() {
    if (!this.record || this.app.channels.state !== "live") return true;
    const period = (this.app.settings.tick_period_s || 1) * 1000;
    return Date.now() - this.receivedAt > 3 * period + 1000;
  }

  setpointField() {
    return this.chamber.mode === "fridge" ? "fridge_setpoint" : "beer_setpoint";
  }

  render() {
    const record = this.record;
    const stale = this.stale();
    this.element.classList.toggle("stale", stale);
    this.element.dataset.stale = String(stale);
    for (const [field, parts] of Object.entries(this.values)) {
      const value = record ? record[field] : null;
      parts.number.textContent = formatTemp(value);
      const lost = ["beer", "fridge", "room"].includes(field) && record && !this.valid(field);
      parts.box.classList.toggle("stale", stale || lost);
      parts.box.dataset.lost = String(Boolean(lost));
    }
    const state = record ? record.state : "unknown";
    this.state.dataset.state = record && record.heat ? "heating" : record && record.cool ? "cooling" : state;
    this.state.textContent = record && record.heat ? "heating" : record && record.cool ? "cooling"
      : STATE_LABELS[state] || state;
    for (const [mode, button] of Object.entries(this.modeButtons)) {
      button.setAttribute("aria-pressed", String(this.chamber.mode === mode));
    }
    const setpoint = this.chamber[this.setpointField()];
    this.setpointValue.textContent = setpoint === null ? `— ${unitLabel()}` : formatTemp(setpoint);
    const editable = this.chamber.mode === "beer" || this.chamber.mode === "fridge";
    this.setpointRow.hidden = !editable;
    this.renderProfile();
    this.tickAges();
  }

  renderProfile() {
    const profile = this.record && this.record.profile;
    if (!profile || this.chamber.mode !== "profile") {
      this.profile.textContent = "";
      return;
    }
    const parts = [`Profile: ${profile.name}`];
    if (profile.progress !== undefined) parts.push(`${Math.round(profile.progress * 100)} %`);
    if (profile.step) parts.push(`step: ${typeof profile.step === "string" ? profile.step : profile.step.name || ""}`);
    if (profile.paused) parts.push("paused");
    if (profile.next_event) parts.push(`next: ${profile.next_event.event} in ${formatAge(profile.next_event.in_s)}`);
    this.profile.textContent = parts.join(" · ");
  }

  /** Ages of values that are not live, and seconds until a held output may switch. */
  tickAges() {
    const now = Date.now();
    const stale = this.stale();
    if (stale !== (this.element.dataset.stale === "true")) { this.render(); return; }
    for (const [field, parts] of Object.entries(this.values)) {
      const since = ["beer", "fridge", "room"].includes(field) && !this.valid(field) ? this.lastValid[field] : this.receivedAt;
      const lost = parts.box.dataset.lost === "true";
      parts.age.textContent = stale || lost
        ? (since ? `${lost ? "lost" : "last"} ${formatAge((now - since) / 1000)} ago` : "no reading") : "";
    }
    const holds = (this.record && this.record.holds) || {};
    const held = Object.entries(holds).map(([output, seconds]) => {
      const left = seconds - (now - this.receivedAt) / 1000;
      return left > 0 ? `${output === "cool" ? "cooler" : output === "heat" ? "heater" : output} may switch in ${Math.ceil(left)} s` : null;
    }).filter(Boolean);
    this.hold.textContent = stale ? "" : held.join(", ");
  }

  async patch(body) {
    const updated = await this.app.attempt(() => this.app.api.patch(`/api/chambers/${this.chamber.id}`, body));
    if (updated) this.setChamber({ ...this.chamber, ...updated });
  }

  setMode(mode) {
    const body = { mode };
    const current = this.record ? this.record.beer ?? this.record.beer_set : null;
    if (mode === "beer" && this.chamber.beer_setpoint === null) body.beer_setpoint = round1(current ?? 20);
    if (mode === "fridge" && this.chamber.fridge_setpoint === null) {
      body.fridge_setpoint = round1((this.record && this.record.fridge) ?? 20);
    }
    if (mode === "profile" && this.chamber.profile_id === null) {
      this.app.attempt(async () => { throw new Error("choose a profile for this chamber under Profiles first"); });
      return;
    }
    return this.patch(body);
  }

  async typeSetpoint() {
    const field = this.setpointField();
    const value = await keypad({ title: `${this.chamber.name}: setpoint`, value: toShown(this.chamber[field]),
      unit: unitLabel(), min: toShown(SETPOINT_MIN_C), max: toShown(SETPOINT_MAX_C) });
    if (value === null) return;
    return this.patch({ [field]: fromShown(value) });
  }

  stepSetpoint(delta) {
    const field = this.setpointField();
    const shown = toShown(this.chamber[field] ?? 20);
    const next = Math.round((shown + delta) * 10) / 10; // 0.1 of the unit shown
    const celsius = Math.min(SETPOINT_MAX_C, Math.max(SETPOINT_MIN_C, fromShown(next)));
    return this.patch({ [field]: celsius });
  }
}

function round1(value) { return Math.round(value * 10) / 10; }

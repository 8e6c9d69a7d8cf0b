// Running a profile on a chamber, from the profile's page: pick a chamber of the right kind,
// start now from day 0, part-way at a day, or as if it had started at a given time; pause,
// resume, stop, and confirm a mash step that waits for the brewer. All through
// PATCH /api/chambers/<id> (`profile_id`, `mode: "profile"`, `profile_command`), and shown
// live from the chamber's tick (chamber/<id>/data).

import { h } from "../../dom.js";
import { formatAge, formatTemp } from "../../units.js";
import { formatDays } from "./chart.js";
import { LIMITS, confirmDialog, formatWhen } from "./common.js";

const FITS = { fermentation: ["fermenter"], mash: ["mash", "kettle"] };

export function running(chamber) {
  return chamber.mode === "profile" && Boolean(chamber.profile_state && chamber.profile_state.run);
}

export class RunPanel {
  constructor(app, profile, profileName) {
    this.app = app;
    this.profile = profile;
    this.profileName = profileName; // id -> name of any profile, for "runs X" texts
    this.chambers = [];
    this.records = new Map(); // chamber id -> its last tick record
    this.watching = new Map(); // chamber id -> unsubscribe
    this.runs = h("div", { class: "runs", "data-field": "runs" });
    this.chamberSelect = h("select", { "aria-describedby": "run-chamber-note" });
    this.chamberNote = h("span", { class: "muted", id: "run-chamber-note" });
    this.error = h("p", { class: "error", role: "alert" });
    const fermentation = profile.kind === "fermentation";
    this.fromStart = h("input", { type: "radio", name: "start-from", value: "start", checked: true });
    this.fromDay = h("input", { type: "radio", name: "start-from", value: "day" });
    this.fromTime = h("input", { type: "radio", name: "start-from", value: "time" });
    this.dayInput = h("input", { type: "number", step: "any", min: "0", inputmode: "decimal", "aria-label": "Start at day",
      onfocus: () => { this.fromDay.checked = true; } });
    this.timeInput = h("input", { type: "datetime-local", "aria-label": "As if started at",
      onfocus: () => { this.fromTime.checked = true; } });
    this.startButton = h("button", { type: "button", class: "primary", onclick: () => this.start() }, "Start");
    this.element = h("section", { class: "card run-panel", "aria-label": "Run on a chamber" },
      h("h2", {}, "Run on a chamber"),
      this.runs,
      h("div", { class: "fields" },
        h("label", {}, "Chamber", this.chamberSelect, this.chamberNote)),
      fermentation ? h("fieldset", { class: "start-from" },
        h("legend", {}, "Start"),
        h("label", {}, this.fromStart, "now, from day 0"),
        h("label", {}, this.fromDay, "now, part-way at day", this.dayInput),
        h("label", {}, this.fromTime, "as if it had started at", this.timeInput)) : null,
      this.error,
      h("div", { class: "actions" }, this.startButton));
  }

  setProfile(profile) { this.profile = profile; this.render(); }

  setChambers(chambers) {
    this.chambers = chambers;
    const mine = new Set(chambers.filter((c) => c.profile_id === this.profile.id && running(c)).map((c) => c.id));
    for (const [id, stop] of this.watching) if (!mine.has(id)) { stop(); this.watching.delete(id); this.records.delete(id); }
    for (const id of mine) {
      if (this.watching.has(id)) continue;
      this.watching.set(id, this.app.channels.subscribe(`chamber/${id}/data`, (record) => {
        this.records.set(id, record);
        this.renderRuns();
      }));
    }
    this.render();
  }

  render() {
    const fits = FITS[this.profile.kind] || [];
    const chambers = this.chambers.filter((chamber) => fits.includes(chamber.kind));
    const selected = this.chamberSelect.value;
    this.chamberSelect.replaceChildren(...chambers.map((chamber) => h("option", { value: String(chamber.id) },
      `${chamber.name}${this.nowRunsText(chamber)}`)));
    if (chambers.some((chamber) => String(chamber.id) === selected)) this.chamberSelect.value = selected;
    this.startButton.disabled = chambers.length === 0;
    this.chamberNote.textContent = chambers.length ? ""
      : `No ${fits.join(" or ")} to run it on: add one under IO.`;
    this.renderRuns();
  }

  nowRunsText(chamber) {
    if (running(chamber)) {
      const name = this.profileName(chamber.profile_id) || `profile ${chamber.profile_id}`;
      return ` (runs ${name}${chamber.profile_paused_at ? ", paused" : ""})`;
    }
    return ` (mode ${chamber.mode})`;
  }

  renderRuns() {
    const mine = this.chambers.filter((chamber) => chamber.profile_id === this.profile.id);
    this.runs.replaceChildren(...mine.map((chamber) => this.runBox(chamber)));
  }

  runBox(chamber) {
    const isRunning = running(chamber);
    const paused = Boolean(chamber.profile_paused_at);
    const box = h("div", { class: "run", "aria-label": `Run on ${chamber.name}`,
      dataset: { chamber: chamber.id, state: isRunning ? (paused ? "paused" : "running") : "assigned" } });
    if (!isRunning) {
      box.append(h("div", { class: "row" },
        h("span", {}, `Assigned to ${chamber.name}, not running (mode ${chamber.mode}).`),
        h("button", { type: "button", "aria-label": `Unassign from ${chamber.name}`,
          onclick: () => this.command(chamber, { profile_id: null }, "Unassigned") }, "Unassign")));
      return box;
    }
    const status = h("span", { class: "badge", dataset: { running: String(!paused), paused: String(paused) } },
      paused ? "paused" : "running");
    box.append(h("div", { class: "row" }, h("strong", {}, chamber.name), status,
      h("span", { class: "muted" }, `started ${formatWhen(chamber.profile_started_at)}`,
        paused ? `, paused ${formatWhen(chamber.profile_paused_at)}` : "")));
    box.append(h("div", { "data-field": "progress" }, this.progressText(chamber)));
    const waiting = this.waitingForBrewer(chamber);
    box.append(h("div", { class: "row", role: "group", "aria-label": `Control the run on ${chamber.name}` },
      paused
        ? h("button", { type: "button", onclick: () => this.command(chamber, { profile_command: { action: "resume" } }, "Resumed") }, "Resume")
        : h("button", { type: "button", onclick: () => this.command(chamber, { profile_command: { action: "pause" } }, "Paused") }, "Pause"),
      waiting ? h("button", { type: "button", class: "primary",
        onclick: () => this.command(chamber, { profile_command: { action: "confirm" } }, "Step confirmed") }, "Confirm step") : null,
      h("button", { type: "button", class: "danger", onclick: () => this.stop(chamber) }, "Stop")));
    return box;
  }

  waitingForBrewer(chamber) {
    const record = this.records.get(chamber.id);
    if (record && record.profile && record.profile.phase) return record.profile.phase === "waiting_confirm";
    return Boolean(chamber.profile_state && chamber.profile_state.awaiting_confirm);
  }

  progressText(chamber) {
    const record = this.records.get(chamber.id);
    const profile = record && record.profile;
    if (!profile) return "waiting for the chamber's next tick";
    const parts = [];
    if (profile.elapsed_days !== undefined) {
      const last = this.profile.points.length ? this.profile.points[this.profile.points.length - 1].offset_days : 0;
      parts.push(`day ${profile.elapsed_days.toFixed(2)} of ${formatDays(last)}`);
    }
    if (profile.step) parts.push(`step ${profile.step}${profile.phase ? ` (${profile.phase.replace("_", " ")})` : ""}`);
    if (profile.hold_remaining_s) parts.push(`${formatAge(profile.hold_remaining_s)} of hold to go`);
    if (profile.progress !== undefined) parts.push(`${Math.round(profile.progress * 100)} %`);
    if (record.beer_set !== undefined && record.beer_set !== null) parts.push(`setpoint ${formatTemp(record.beer_set)}`);
    if (profile.next_event) parts.push(`next: ${profile.next_event.event} in ${formatAge(profile.next_event.in_s)}`);
    return parts.join(" · ");
  }

  /** The day to start at, from the choice made; or null with the problem shown. */
  offsetDays() {
    if (this.profile.kind !== "fermentation" || this.fromStart.checked) return 0;
    if (this.fromDay.checked) {
      const text = this.dayInput.value.trim();
      const day = Number(text);
      if (this.dayInput.validity.badInput || text === "" || !Number.isFinite(day) || day < 0 || day > LIMITS.offsetDays[1]) {
        this.error.textContent = `Type the day to start at, from 0 to ${LIMITS.offsetDays[1]}.`;
        this.dayInput.setAttribute("aria-invalid", "true");
        return null;
      }
      return day;
    }
    const when = this.timeInput.value ? new Date(this.timeInput.value) : null;
    if (!when || Number.isNaN(when.getTime())) {
      this.error.textContent = "Pick the date and time it started.";
      this.timeInput.setAttribute("aria-invalid", "true");
      return null;
    }
    const days = (Date.now() - when.getTime()) / 86_400_000;
    if (days < 0) {
      this.error.textContent = "That time is in the future: a run can start part-way, not later.";
      this.timeInput.setAttribute("aria-invalid", "true");
      return null;
    }
    return Math.min(Math.round(days * 1e6) / 1e6, LIMITS.offsetDays[1]);
  }

  async start() {
    this.error.textContent = "";
    this.dayInput.removeAttribute("aria-invalid");
    this.timeInput.removeAttribute("aria-invalid");
    const chamber = this.chambers.find((c) => String(c.id) === this.chamberSelect.value);
    if (!chamber) { this.error.textContent = "Choose a chamber."; return; }
    const offset = this.offsetDays();
    if (offset === null) return;
    const where = offset ? `part-way, at day ${Math.round(offset * 100) / 100}` : "from day 0";
    const lines = [`Start "${this.profile.name}" on ${chamber.name} now, ${where}?`];
    if (running(chamber)) {
      const name = this.profileName(chamber.profile_id) || `profile ${chamber.profile_id}`;
      lines.push(chamber.profile_id === this.profile.id
        ? "It runs this profile already: the run starts again."
        : `It runs "${name}" now: that run ends.`);
    } else {
      lines.push(`It is in mode ${chamber.mode} now.`);
    }
    const ok = await confirmDialog({ title: "Start the profile", message: lines, confirm: "Start" });
    if (!ok) return;
    const command = { action: "start" };
    if (this.profile.kind === "fermentation") command.offset_days = offset;
    await this.command(chamber, { profile_id: this.profile.id, mode: "profile", profile_command: command }, "Started");
  }

  async stop(chamber) {
    const fermentation = this.profile.kind === "fermentation";
    const ok = await confirmDialog({
      title: "Stop the profile",
      message: [`Stop "${this.profile.name}" on ${chamber.name}?`, fermentation
        ? "The fermenter then holds the temperature the profile has reached (mode beer)."
        : "The vessel is then switched off."],
      confirm: "Stop",
      danger: true,
    });
    if (!ok) return;
    await this.command(chamber, { profile_command: { action: "stop" } }, "Stopped");
  }

  async command(chamber, body, done) {
    const updated = await this.app.attempt(() => this.app.api.patch(`/api/chambers/${chamber.id}`, body), done);
    if (updated) this.setChambers(this.chambers.map((c) => (c.id === updated.id ? { ...c, ...updated } : c)));
  }

  destroy() {
    for (const stop of this.watching.values()) stop();
    this.watching.clear();
  }
}

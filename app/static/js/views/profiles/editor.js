// The profile form: name and notes, then a fermentation profile's points (day, temperature,
// event) with the preview chart, or a mash profile's steps (name, temperature, hold, ramp,
// wait for the brewer). Checked here with the limits of app/api/schemas.py before it is
// sent; a 400 from the server is shown with the field it names, marked on that input.

import { ApiError } from "../../api.js";
import { h } from "../../dom.js";
import { unitLabel } from "../../units.js";
import { previewChart } from "./chart.js";
import { LIMITS, TempInput, shownRange } from "./common.js";

const KIND_LABELS = { fermentation: "fermentation profile", mash: "mash profile" };

let nextFieldId = 1;

/** An input's error line, tied to it with aria-describedby. */
function errorLine(input) {
  const line = h("span", { class: "field-error", id: `field-error-${nextFieldId++}` });
  input.setAttribute("aria-describedby", line.id);
  return line;
}

class PointRow {
  constructor(editor, point) {
    this.editor = editor;
    this.day = h("input", { type: "number", step: "any", min: "0", inputmode: "decimal",
      value: point ? String(point.offset_days) : "" });
    this.temp = new TempInput(point ? point.temperature : null, { placeholder: "off" });
    this.event = h("input", { type: "text", maxlength: String(LIMITS.event), value: point && point.event ? point.event : "" });
    this.labels = { day: h("span", { class: "cell-label" }), temp: h("span", { class: "cell-label" }),
      event: h("span", { class: "cell-label" }) };
    this.errors = { offset_days: errorLine(this.day), temperature: errorLine(this.temp.input), event: errorLine(this.event) };
    this.number = h("td", { class: "number" });
    this.up = h("button", { type: "button", onclick: () => editor.move(this, -1) }, "Up");
    this.down = h("button", { type: "button", onclick: () => editor.move(this, 1) }, "Down");
    this.remove = h("button", { type: "button", class: "danger", onclick: () => editor.removeRow(this) }, "Remove");
    this.element = h("tr", {},
      this.number,
      h("td", { class: "day" }, h("label", {}, this.labels.day, this.day, this.errors.offset_days)),
      h("td", { class: "temp" }, h("label", {}, this.labels.temp, this.temp.input, this.errors.temperature)),
      h("td", { class: "event" }, h("label", {}, this.labels.event, this.event, this.errors.event)),
      h("td", { class: "move" }, h("div", { class: "row" }, this.up, this.down, this.remove)));
  }

  inputs() { return { offset_days: this.day, temperature: this.temp.input, event: this.event }; }

  renumber(index, count) {
    const n = index + 1;
    this.number.textContent = String(n);
    this.labels.day.textContent = "Day";
    this.labels.temp.textContent = `Temperature (${unitLabel()})`;
    this.labels.event.textContent = "Event";
    this.day.setAttribute("aria-label", `Point ${n} day`);
    this.temp.input.setAttribute("aria-label", `Point ${n} temperature (${unitLabel()})`);
    this.event.setAttribute("aria-label", `Point ${n} event`);
    this.up.setAttribute("aria-label", `Move point ${n} up`);
    this.down.setAttribute("aria-label", `Move point ${n} down`);
    this.remove.setAttribute("aria-label", `Remove point ${n}`);
    this.up.disabled = index === 0;
    this.down.disabled = index === count - 1;
  }

  /** The point as the API takes it, and the problems found (path, message). */
  read(index, previousDay, problems) {
    const n = index + 1;
    const dayText = this.day.value.trim();
    let day = Number(dayText);
    if (this.day.validity.badInput || dayText === "" || !Number.isFinite(day)) {
      problems.push([`points.${index}.offset_days`, `Point ${n}: type the day (days from the start, such as 0 or 1.5)`]);
      day = null;
    } else if (day < LIMITS.offsetDays[0] || day > LIMITS.offsetDays[1]) {
      problems.push([`points.${index}.offset_days`, `Point ${n}: the day must be from 0 to ${LIMITS.offsetDays[1]}`]);
      day = null;
    } else if (previousDay !== null && day < previousDay) {
      problems.push([`points.${index}.offset_days`,
        `Point ${n}: day ${day} is before day ${previousDay} of point ${n - 1}; days must not go backwards`]);
    }
    const { celsius, bad } = this.temp.read();
    if (bad) problems.push([`points.${index}.temperature`, `Point ${n}: the temperature is not a number`]);
    else if (celsius !== null && (celsius < LIMITS.pointC[0] - 1e-9 || celsius > LIMITS.pointC[1] + 1e-9)) {
      problems.push([`points.${index}.temperature`,
        `Point ${n}: the temperature must be from ${shownRange(LIMITS.pointC)} (or empty for control off)`]);
    }
    const event = this.event.value.trim();
    if (event.length > LIMITS.event) {
      problems.push([`points.${index}.event`, `Point ${n}: the event is longer than ${LIMITS.event} characters`]);
    }
    return { offset_days: day, temperature: bad ? null : celsius, event: event || null };
  }
}

class StepRow {
  constructor(editor, step) {
    this.editor = editor;
    this.name = h("input", { type: "text", maxlength: String(LIMITS.name), value: step ? step.name : "" });
    this.temp = new TempInput(step ? step.temperature : null);
    this.hold = h("input", { type: "number", step: "1", min: "0", inputmode: "decimal",
      value: step ? String(step.hold_min) : "" });
    this.ramp = new TempInput(step ? step.ramp_c_per_min : null, { placeholder: "full power", min: "0" }, { rate: true });
    this.confirm = h("input", { type: "checkbox", checked: Boolean(step && step.confirm) });
    this.labels = { name: h("span", { class: "cell-label" }), temp: h("span", { class: "cell-label" }),
      hold: h("span", { class: "cell-label" }), ramp: h("span", { class: "cell-label" }),
      confirm: h("span", {}, "Wait for the brewer") };
    this.errors = { name: errorLine(this.name), temperature: errorLine(this.temp.input), hold_min: errorLine(this.hold),
      ramp_c_per_min: errorLine(this.ramp.input), confirm: errorLine(this.confirm) };
    this.number = h("td", { class: "number" });
    this.up = h("button", { type: "button", onclick: () => editor.move(this, -1) }, "Up");
    this.down = h("button", { type: "button", onclick: () => editor.move(this, 1) }, "Down");
    this.remove = h("button", { type: "button", class: "danger", onclick: () => editor.removeRow(this) }, "Remove");
    this.element = h("tr", {},
      this.number,
      h("td", { class: "name" }, h("label", {}, this.labels.name, this.name, this.errors.name)),
      h("td", { class: "temp" }, h("label", {}, this.labels.temp, this.temp.input, this.errors.temperature)),
      h("td", { class: "hold" }, h("label", {}, this.labels.hold, this.hold, this.errors.hold_min)),
      h("td", { class: "ramp" }, h("label", {}, this.labels.ramp, this.ramp.input, this.errors.ramp_c_per_min)),
      h("td", { class: "confirm" }, h("label", {}, this.confirm, this.labels.confirm), this.errors.confirm),
      h("td", { class: "move" }, h("div", { class: "row" }, this.up, this.down, this.remove)));
  }

  inputs() {
    return { name: this.name, temperature: this.temp.input, hold_min: this.hold, ramp_c_per_min: this.ramp.input,
      confirm: this.confirm };
  }

  renumber(index, count) {
    const n = index + 1;
    const unit = unitLabel();
    this.number.textContent = String(n);
    this.labels.name.textContent = "Name";
    this.labels.temp.textContent = `Temperature (${unit})`;
    this.labels.hold.textContent = "Hold (min)";
    this.labels.ramp.textContent = `Ramp (${unit}/min)`;
    this.name.setAttribute("aria-label", `Step ${n} name`);
    this.temp.input.setAttribute("aria-label", `Step ${n} temperature (${unit})`);
    this.hold.setAttribute("aria-label", `Step ${n} hold (min)`);
    this.ramp.input.setAttribute("aria-label", `Step ${n} ramp (${unit}/min), empty for full power`);
    this.confirm.setAttribute("aria-label", `Step ${n}: wait for the brewer`);
    this.up.setAttribute("aria-label", `Move step ${n} up`);
    this.down.setAttribute("aria-label", `Move step ${n} down`);
    this.remove.setAttribute("aria-label", `Remove step ${n}`);
    this.up.disabled = index === 0;
    this.down.disabled = index === count - 1;
  }

  read(index, _previous, problems) {
    const n = index + 1;
    const name = this.name.value.trim();
    if (!name) problems.push([`steps.${index}.name`, `Step ${n}: name the step (such as "Saccharification")`]);
    else if (name.length > LIMITS.name) problems.push([`steps.${index}.name`, `Step ${n}: the name is longer than ${LIMITS.name} characters`]);
    const temp = this.temp.read();
    if (temp.bad || temp.celsius === null) {
      problems.push([`steps.${index}.temperature`, `Step ${n}: type the step temperature`]);
    } else if (temp.celsius < LIMITS.stepC[0] - 1e-9 || temp.celsius > LIMITS.stepC[1] + 1e-9) {
      problems.push([`steps.${index}.temperature`, `Step ${n}: the temperature must be from ${shownRange(LIMITS.stepC)}`]);
    }
    const holdText = this.hold.value.trim();
    const hold = Number(holdText);
    if (this.hold.validity.badInput || holdText === "" || !Number.isFinite(hold)) {
      problems.push([`steps.${index}.hold_min`, `Step ${n}: type the hold in minutes (0 to pass on once reached)`]);
    } else if (hold < LIMITS.holdMin[0] || hold > LIMITS.holdMin[1]) {
      problems.push([`steps.${index}.hold_min`, `Step ${n}: the hold must be from 0 to ${LIMITS.holdMin[1]} minutes`]);
    }
    const ramp = this.ramp.read();
    if (ramp.bad) problems.push([`steps.${index}.ramp_c_per_min`, `Step ${n}: the ramp is not a number`]);
    else if (ramp.celsius !== null && (ramp.celsius <= 0 || ramp.celsius > LIMITS.rampCPerMin + 1e-9)) {
      const most = shownRange([0, LIMITS.rampCPerMin], { rate: true }).split(" to ")[1];
      problems.push([`steps.${index}.ramp_c_per_min`,
        `Step ${n}: the ramp must be above 0 and at most ${most}/min (or empty for full power)`]);
    }
    return { name, temperature: temp.celsius, hold_min: hold, ramp_c_per_min: ramp.bad ? null : ramp.celsius,
      confirm: this.confirm.checked };
  }
}

/**
 * The form for a new profile (`profile` null, `kind` given) or a stored one.
 * `onSave(body)` sends it and resolves to the stored profile (or throws ApiError).
 */
export class ProfileEditor {
  constructor({ profile, kind, onSave, extraActions = [] }) {
    this.kind = profile ? profile.kind : kind;
    this.onSave = onSave;
    this.rows = [];
    this.fields = new Map(); // API path ("name", "points.2.temperature") -> {input, error}
    this.dirty = false;
    this.name = h("input", { type: "text", maxlength: String(LIMITS.name), required: true, autocomplete: "off" });
    this.notes = h("textarea", { maxlength: String(LIMITS.notes) });
    this.nameError = errorLine(this.name);
    this.notesError = errorLine(this.notes);
    this.errors = h("div", { class: "errors", role: "alert", "data-field": "form-errors" });
    this.title = h("h2", {});
    this.dirtyMark = h("span", { class: "dirty", "aria-live": "polite" });
    this.body = h("tbody", {});
    this.unitHeads = [];
    const fermentation = this.kind === "fermentation";
    // the temperature columns say their unit, and say it again after a unit change
    this.tempHead = h("th", { scope: "col" });
    this.rampHead = h("th", { scope: "col" });
    const col = (text) => h("th", { scope: "col" }, text);
    this.head = fermentation
      ? h("tr", {}, col("#"), col("Day"), this.tempHead, col("Event"), col("Change order"))
      : h("tr", {}, col("#"), col("Name"), this.tempHead, col("Hold (min)"), this.rampHead, col("Wait"),
        col("Change order"));
    this.addButton = h("button", { type: "button", onclick: () => this.addRow() },
      fermentation ? "Add point" : "Add step");
    this.saveButton = h("button", { type: "submit", class: "primary" }, "Save");
    this.chartBox = h("div", { class: "chart-box" });
    this.element = h("form", { class: "card editor", novalidate: true, "aria-label": "Profile",
      onsubmit: (event) => { event.preventDefault(); this.save(); },
      oninput: () => this.changed(), onchange: () => this.changed() },
    h("div", { class: "row" }, this.title, this.dirtyMark),
    this.errors,
    h("div", { class: "fields" },
      h("label", {}, "Profile name", this.name, this.nameError),
      h("label", { class: "wide" }, "Notes", this.notes, this.notesError)),
    h("fieldset", {},
      h("legend", {}, fermentation ? "Points: the setpoint at each day from the start" : "Mash steps, in order"),
      h("div", { class: "scroll" }, h("table", { class: "edit", "data-table": fermentation ? "points" : "steps" },
        h("thead", {}, this.head), this.body)),
      h("p", { class: "muted" }, fermentation
        ? "Between two points the setpoint moves in a straight line; two points on the same day are an instant step; an empty temperature turns control off beside that point."
        : "A step's hold starts once the wort is within 0.5 °C of its temperature. An empty ramp heats at full power."),
      h("div", { class: "row" }, this.addButton)),
    fermentation ? h("section", { "aria-label": "Preview" }, h("h3", {}, "Preview"), this.chartBox) : null,
    h("div", { class: "actions" }, this.saveButton, ...extraActions));
    this.chart = fermentation ? previewChart(this.chartBox) : null;
    this.load(profile);
  }

  /** Shows `profile` (the stored one), dropping anything typed. */
  load(profile) {
    this.profile = profile;
    this.title.textContent = profile ? `${profile.name}` : `New ${KIND_LABELS[this.kind]}`;
    this.name.value = profile ? profile.name : "";
    this.notes.value = profile ? profile.notes : "";
    const items = profile ? (this.kind === "fermentation" ? profile.points : profile.steps) : [];
    this.rows = items.map((item) => this.newRow(item));
    if (!profile && this.kind === "fermentation") this.rows = [this.newRow({ offset_days: 0, temperature: 18, event: null })];
    if (!profile && this.kind === "mash") {
      this.rows = [this.newRow({ name: "Saccharification", temperature: 66, hold_min: 60, ramp_c_per_min: null, confirm: false })];
    }
    this.layout();
    this.clearErrors();
    this.setDirty(false);
  }

  newRow(item) { return this.kind === "fermentation" ? new PointRow(this, item) : new StepRow(this, item); }

  layout() {
    const count = this.rows.length;
    this.tempHead.textContent = `Temperature (${unitLabel()})`;
    this.rampHead.textContent = `Ramp (${unitLabel()}/min)`;
    this.rows.forEach((row, index) => row.renumber(index, count));
    this.body.replaceChildren(...this.rows.map((row) => row.element));
    this.fields.clear();
    this.fields.set("name", { input: this.name, error: this.nameError });
    this.fields.set("notes", { input: this.notes, error: this.notesError });
    const list = this.kind === "fermentation" ? "points" : "steps";
    this.rows.forEach((row, index) => {
      for (const [key, input] of Object.entries(row.inputs())) {
        this.fields.set(`${list}.${index}.${key}`, { input, error: row.errors[key] });
      }
    });
    this.addButton.disabled = count >= (this.kind === "fermentation" ? LIMITS.points : LIMITS.steps);
    this.redraw();
  }

  addRow() {
    const last = this.rows[this.rows.length - 1];
    let item = null;
    if (this.kind === "fermentation") {
      const value = last ? last.read(0, null, []) : null;
      item = { offset_days: value && value.offset_days !== null ? value.offset_days + 1 : 0,
        temperature: value ? value.temperature : 18, event: null };
    }
    const row = this.newRow(item);
    this.rows.push(row);
    this.layout();
    this.setDirty(true);
    (this.kind === "fermentation" ? row.day : row.name).focus();
  }

  removeRow(row) {
    const index = this.rows.indexOf(row);
    this.rows.splice(index, 1);
    this.layout();
    this.setDirty(true);
    const next = this.rows[Math.min(index, this.rows.length - 1)];
    (next ? next.remove : this.addButton).focus();
  }

  move(row, delta) {
    const index = this.rows.indexOf(row);
    const target = index + delta;
    if (target < 0 || target >= this.rows.length) return;
    [this.rows[index], this.rows[target]] = [this.rows[target], this.rows[index]];
    this.layout();
    this.setDirty(true);
    (delta < 0 ? row.up : row.down).focus();
    if ((delta < 0 ? row.up : row.down).disabled) (delta < 0 ? row.down : row.up).focus();
  }

  changed() {
    this.setDirty(true);
    this.redraw();
  }

  setDirty(dirty) {
    this.dirty = dirty;
    this.dirtyMark.textContent = dirty ? "unsaved changes" : "";
  }

  /** The unit setting changed: every temperature is shown again in the new unit. */
  unitChanged() {
    for (const row of this.rows) {
      row.temp.convert();
      if (row.ramp) row.ramp.convert();
    }
    this.layout();
    if (this.chart) this.chart.rebuild();
  }

  themeChanged() { if (this.chart) this.chart.rebuild(); }

  redraw() {
    if (!this.chart) return;
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(() => {
      const problems = [];
      let previous = null;
      const points = [];
      this.rows.forEach((row, index) => {
        const point = row.read(index, previous, problems);
        if (point.offset_days !== null) previous = point.offset_days;
        points.push(point);
      });
      const blocking = problems.filter(([path]) => !path.endsWith(".event"));
      if (blocking.length) this.chart.invalid(`The preview waits for the points to be right: ${blocking[0][1]}.`);
      else this.chart.update(points);
    });
  }

  /** The body for the API, or null with the problems shown. */
  collect() {
    const problems = [];
    const name = this.name.value.trim();
    if (!name) problems.push(["name", "Name the profile"]);
    else if (name.length > LIMITS.name) problems.push(["name", `The name is longer than ${LIMITS.name} characters`]);
    if (this.notes.value.length > LIMITS.notes) problems.push(["notes", `The notes are longer than ${LIMITS.notes} characters`]);
    let previous = null;
    const items = this.rows.map((row, index) => {
      const item = row.read(index, previous, problems);
      if (item.offset_days !== null && item.offset_days !== undefined) previous = item.offset_days;
      return item;
    });
    const limit = this.kind === "fermentation" ? LIMITS.points : LIMITS.steps;
    if (items.length > limit) problems.push([this.kind === "fermentation" ? "points" : "steps", `At most ${limit} rows`]);
    this.clearErrors();
    if (problems.length) {
      this.showErrors("Not saved: fix these first.", problems);
      return null;
    }
    const body = { name, notes: this.notes.value };
    if (!this.profile) body.kind = this.kind;
    body[this.kind === "fermentation" ? "points" : "steps"] = items;
    return body;
  }

  clearErrors() {
    this.errors.replaceChildren();
    for (const { input, error } of this.fields.values()) {
      input.removeAttribute("aria-invalid");
      error.textContent = "";
    }
  }

  showErrors(heading, problems) {
    this.errors.replaceChildren(h("strong", {}, heading),
      h("ul", {}, ...problems.map(([, message]) => h("li", {}, message))));
    let first = null;
    for (const [path, message] of problems) {
      const field = this.fields.get(path);
      if (!field) continue;
      field.input.setAttribute("aria-invalid", "true");
      field.error.textContent = field.error.textContent ? `${field.error.textContent} ${message}` : message;
      first = first || field.input;
    }
    if (first) first.focus();
  }

  /** A refusal by the server: its message, the field it names, marked on that input. */
  showServerError(error) {
    let path = error.field || "";
    const match = /^(points|steps)\[(\d+)\]\.(\w+)/.exec(error.message || "");
    if (!path && match) path = `${match[1]}.${match[2]}.${match[3]}`;
    const where = path ? ` (field ${path}${describePath(path)})` : "";
    this.clearErrors();
    this.showErrors(`Not saved: the server refused it (${error.status}).`, [[path, `${error.message}${where}`]]);
  }

  async save() {
    const body = this.collect();
    if (!body) return null;
    this.saveButton.disabled = true;
    try {
      const saved = await this.onSave(body);
      this.load(saved);
      return saved;
    } catch (error) {
      if (error instanceof ApiError) this.showServerError(error);
      else this.showErrors("Not saved.", [["", String(error)]]);
      return null;
    } finally {
      this.saveButton.disabled = false;
    }
  }

  destroy() {
    cancelAnimationFrame(this.frame);
    if (this.chart) this.chart.destroy();
  }
}

function describePath(path) {
  const match = /^(points|steps)\.(\d+)\.(\w+)$/.exec(path);
  if (!match) return "";
  const names = { offset_days: "day", temperature: "temperature", event: "event", name: "name", hold_min: "hold",
    ramp_c_per_min: "ramp", confirm: "wait for the brewer" };
  return `: ${match[1] === "points" ? "point" : "step"} ${Number(match[2]) + 1}, ${names[match[3]] || match[3]}`;
}

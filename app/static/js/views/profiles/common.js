// Pieces shared by the Profiles pages: a temperature input in the unit shown, a confirm
// dialog, and the limits of app/api/schemas.py (PointIn, StepIn, ProfileIn).

import { h } from "../../dom.js";
import { currentUnit, unitLabel } from "../../units.js";

export const LIMITS = {
  name: 64,
  notes: 4096,
  event: 256,
  points: 1000,
  steps: 50,
  offsetDays: [0, 3650],
  pointC: [-5, 110], // the setpoint range
  stepC: [0, 105],
  holdMin: [0, 1440],
  rampCPerMin: 10, // above 0, at most this
};

/** °C (or °C per minute) in the unit `unit`, and back, rounded as units.js rounds. */
export function toUnit(celsius, unit, { rate = false } = {}) {
  if (unit !== "F") return celsius;
  return rate ? celsius * 9 / 5 : celsius * 9 / 5 + 32;
}
export function fromUnit(value, unit, { rate = false } = {}) {
  const celsius = unit !== "F" ? value : rate ? value * 5 / 9 : (value - 32) * 5 / 9;
  return Math.round(celsius * 1000) / 1000;
}
export function shownRange([low, high], options) {
  const unit = currentUnit();
  return `${toUnit(low, unit, options).toFixed(1)} to ${toUnit(high, unit, options).toFixed(1)} ${unitLabel()}`;
}

/**
 * A number input for a temperature (or a rate in °/min) typed in the unit shown, in 0.1
 * steps. A value the brewer did not touch is sent back exactly as stored, so opening and
 * saving a profile in °F does not move 19.05 °C to 19.056 °C.
 */
export class TempInput {
  constructor(celsius, props = {}, { rate = false } = {}) {
    this.rate = rate;
    this.input = h("input", { type: "number", step: "0.1", inputmode: "decimal", ...props });
    this.set(celsius);
  }

  set(celsius) {
    this.celsius = celsius;
    this.unit = currentUnit();
    this.text = celsius === null || celsius === undefined ? "" : toUnit(celsius, this.unit, { rate: this.rate }).toFixed(1);
    this.input.value = this.text;
  }

  /** {celsius: number|null, bad: boolean}: null for an empty input, bad for text that is not a number. */
  read() {
    const text = this.input.value.trim();
    if (this.input.validity && this.input.validity.badInput) return { celsius: null, bad: true };
    if (text === "") return { celsius: null, bad: false };
    if (text === this.text) return { celsius: this.celsius, bad: false };
    const value = Number(text);
    if (!Number.isFinite(value)) return { celsius: null, bad: true };
    return { celsius: fromUnit(value, this.unit, { rate: this.rate }), bad: false };
  }

  /** The unit setting changed: show the same temperature in the new unit. */
  convert() {
    const { celsius, bad } = this.read();
    if (!bad) this.set(celsius);
  }
}

/** Asks a yes/no question in a modal dialog; resolves true when the brewer confirms. */
export function confirmDialog({ title, message, confirm = "OK", danger = false }) {
  return new Promise((resolve) => {
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const dialog = h("dialog", { class: "dialog confirm-dialog", "aria-label": title },
      h("h2", {}, title),
      ...[].concat(message).map((line) => h("p", {}, line)),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => finish(false) }, "Cancel"),
        h("button", { type: "button", class: danger ? "danger" : "primary", onclick: () => finish(true) }, confirm)));
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); finish(false); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function formatWhen(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

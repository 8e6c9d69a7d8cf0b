// A board's hardware scan: the OneWire sensors it found, each with its reading of now
// (refreshed every 2 s while the panel is open, so the brewer can warm one probe in a hand
// and see which row rises), and its pins; each can be assigned to a function in a chamber.

import { h } from "../../dom.js";
import { formatTemp, toShown, unitLabel } from "../../units.js";
import { assignForm } from "./forms.js";
import { FUNCTION_LABELS } from "./hardware.js";

const REFRESH_MS = 2000;
const NOTICED_C = 0.25; // a change from its first reading shown next to it (the noise is smaller)
const WARMING_C = 0.5; // a reading this far above its first one is marked as warming

export class ScanPanel {
  constructor(app, getController) {
    this.app = app;
    this.getController = getController; // the controller as last loaded, with its chambers
    this.scan = null;
    this.first = new Map(); // ROM -> its first valid reading since the scan, °C
    this.timer = null;
    this.status = h("p", { class: "muted", "data-field": "scan-status", "aria-live": "polite" });
    this.sensors = h("tbody");
    this.pins = h("tbody");
    this.element = h("section", { class: "scan", "aria-label": "Hardware found", hidden: true },
      h("div", { class: "row" },
        h("h3", {}, "Hardware found"),
        h("button", { type: "button", onclick: () => this.start() }, "Scan again"),
        h("button", { type: "button", onclick: () => this.close() }, "Close scan")),
      this.status,
      h("div", { class: "scroll" }, h("table", { class: "scan-sensors" },
        h("caption", {}, "OneWire temperature sensors"),
        h("thead", {}, h("tr", {}, h("th", {}, "Address"), h("th", {}, "Reading"), h("th", {}, "Used by"), h("th", {}, ""))),
        this.sensors)),
      h("div", { class: "scroll" }, h("table", { class: "scan-pins" },
        h("caption", {}, "Pins for outputs and switches"),
        h("thead", {}, h("tr", {}, h("th", {}, "Pin"), h("th", {}, "Used by"), h("th", {}, ""))),
        this.pins)));
  }

  get open() { return !this.element.hidden; }

  /** Ask the board (`h`), then keep its readings fresh. */
  async start() {
    const controller = this.getController();
    this.element.hidden = false;
    this.status.textContent = `Scanning ${controller.name}…`;
    const scan = await this.app.attempt(() => this.app.api.post(`/api/controllers/${controller.id}/scan`, {}));
    if (!this.open) return;
    if (!scan) {
      this.status.textContent = "The scan failed; is the board connected?";
      return;
    }
    this.first.clear();
    this.show(scan);
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  async refresh() {
    const controller = this.getController();
    try {
      this.show(await this.app.api.get(`/api/controllers/${controller.id}/scan`));
    } catch (error) {
      this.status.textContent = `Readings stopped: ${error.message}`;
    }
  }

  close() {
    clearInterval(this.timer);
    this.timer = null;
    this.scan = null;
    this.element.hidden = true;
  }

  destroy() { this.close(); }

  show(scan) {
    if (!this.open) return;
    this.scan = scan;
    const at = new Date(scan.scanned_at).toLocaleTimeString();
    this.status.textContent = `${scan.onewire.length} sensors and ${scan.pins.length} pins found at ${at}. `
      + "Readings refresh every 2 s: warm a probe in your hand to see which one it is.";
    this.render();
  }

  render() {
    const scan = this.scan;
    if (!scan) return;
    const controller = this.getController();
    const chambers = new Map((controller.chambers || []).map((chamber) => [chamber.id, chamber.name]));
    const usedBy = (devices) => (devices.length
      ? devices.map((d) => `${chambers.get(d.chamber_id) || `chamber ${d.chamber_id}`}: ${d.name} (${FUNCTION_LABELS[d.function] || d.function})`).join("; ")
      : "unused");
    this.sensors.replaceChildren(...scan.onewire.map((sensor) => {
      const reading = sensor.reading;
      if (reading !== null && !this.first.has(sensor.address)) this.first.set(sensor.address, reading);
      const rise = reading === null ? null : reading - this.first.get(sensor.address);
      const warming = rise !== null && rise >= WARMING_C;
      const note = sensor.slot === null ? "no free board slot to read it"
        : reading === null ? "not read yet" : rise !== null && Math.abs(rise) >= NOTICED_C
          ? `${rise > 0 ? "+" : "−"}${Math.abs(toShown(rise) - toShown(0)).toFixed(1)} ${unitLabel()} since the scan` : "";
      return h("tr", { dataset: { rom: sensor.address }, class: warming ? "warming" : "" },
        h("td", { class: "rom" }, sensor.address),
        h("td", {}, h("span", { class: "reading", "data-field": "reading" }, formatTemp(reading)),
          note ? h("span", { class: "muted note" }, ` ${note}`) : null),
        h("td", { "data-field": "used-by" }, usedBy(sensor.devices)),
        h("td", {}, h("button", { type: "button", "aria-label": `Assign sensor ${sensor.address}`,
          onclick: () => this.assign({ address: sensor.address }) }, "Assign")));
    }));
    if (scan.onewire.length === 0) this.sensors.replaceChildren(h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No OneWire sensor found.")));
    this.pins.replaceChildren(...scan.pins.map((pin) => h("tr", { dataset: { pin: pin.pin } },
      h("td", {}, `Pin ${pin.pin}`),
      h("td", { "data-field": "used-by" }, usedBy(pin.devices)),
      h("td", {}, h("button", { type: "button", "aria-label": `Assign pin ${pin.pin}`,
        onclick: () => this.assign({ pin: pin.pin }) }, "Assign")))));
  }

  async assign(found) {
    const device = await assignForm(this.app, this.getController(), found);
    if (device) this.refresh();
  }
}

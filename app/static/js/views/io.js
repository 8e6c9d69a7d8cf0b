// IO: the controllers (boards), their chambers and the devices wired to them, as the REST
// API has them; each board's connection and last seen (`controller/<id>/connection`);
// a hardware scan whose sensors and pins are assigned to functions (io/scan.js). Change
// events on `_controllers`, `_chambers` and `_devices` keep it live.

import { h, loadStyle } from "../dom.js";
import { formatAge, onUnitChange } from "../units.js";
import { confirmDialog } from "./io/dialogs.js";
import { chamberForm, controllerForm, describeDevice, deviceForm } from "./io/forms.js";
import { CHAMBER_KINDS, CONTROLLER_KINDS } from "./io/hardware.js";
import { ScanPanel } from "./io/scan.js";

const EVENTS = ["_controllers", "_chambers", "_devices"];
const RECENT_S = 15; // an online board is announced every 10 s: older than this is not live

export function mount(container, app) {
  loadStyle("io");
  const cards = new Map(); // controller id -> ControllerCard
  let controllers = [];
  const list = h("div", { class: "io-controllers" });
  const empty = h("p", { class: "empty" }, "No controller yet: add a board, or a simulator to try things out.");
  container.append(
    h("div", { class: "row io-head" },
      h("h2", {}, "Controllers, chambers and devices"),
      h("button", { type: "button", class: "primary", onclick: () => addController() }, "Add controller")),
    list);

  let loading = null;
  let again = false;
  async function load() {
    if (loading) { again = true; return loading; } // one load at a time; the last event wins
    loading = (async () => {
      do {
        again = false;
        const found = await app.attempt(async () => {
          const rows = await app.api.get("/api/controllers");
          return Promise.all(rows.map((row) => app.api.get(`/api/controllers/${row.id}`)));
        });
        if (found) show(found);
      } while (again);
    })();
    try { await loading; } finally { loading = null; }
  }

  function show(found) {
    controllers = found;
    const ids = new Set(found.map((controller) => controller.id));
    for (const [id, card] of cards) if (!ids.has(id)) { card.destroy(); cards.delete(id); }
    for (const controller of found) {
      let card = cards.get(controller.id);
      if (!card) {
        card = new ControllerCard(app, controller, () => controllers);
        cards.set(controller.id, card);
      } else {
        card.update(controller);
      }
      list.append(card.element); // in the API's order (by id)
    }
    if (found.length === 0) list.replaceChildren(empty);
    else empty.remove();
  }

  async function addController() {
    const created = await controllerForm(app);
    if (created) await load();
  }

  const stops = EVENTS.map((channel) => app.channels.subscribe(channel, () => load(), { onReset: load }));
  const clock = setInterval(() => { for (const card of cards.values()) card.tickAge(); }, 1000);
  const stopUnits = onUnitChange(() => { for (const card of cards.values()) card.render(); });
  load();
  return () => {
    for (const stop of stops) stop();
    stopUnits();
    clearInterval(clock);
    for (const card of cards.values()) card.destroy();
  };
}

class ControllerCard {
  constructor(app, controller, allControllers) {
    this.app = app;
    this.controller = controller;
    this.allControllers = allControllers;
    this.connection = null; // the last `controller/<id>/connection` message
    this.connectionAt = null; // Date.now() when it came
    this.element = h("section", { class: "card io-controller", dataset: { controller: controller.id } });
    this.scan = new ScanPanel(app, () => this.controller);
    this.render();
    this.unsubscribe = app.channels.subscribe(`controller/${controller.id}/connection`, (data) => {
      this.connection = data;
      this.connectionAt = Date.now();
      this.renderConnection();
    });
  }

  destroy() {
    this.unsubscribe();
    this.scan.destroy();
    this.element.remove();
  }

  update(controller) {
    this.controller = controller;
    this.render();
  }

  render() {
    const controller = this.controller;
    const kind = (CONTROLLER_KINDS.find(([value]) => value === controller.kind) || [])[1] || controller.kind;
    this.state = h("span", { class: "io-state", "data-field": "connection" });
    this.age = h("span", { class: "muted", "data-field": "last-seen" });
    this.detail = h("span", { class: "muted", "data-field": "connection-detail" });
    this.element.setAttribute("aria-label", `Controller ${controller.name}`);
    this.element.replaceChildren(
      h("div", { class: "row io-title" },
        h("h2", {}, controller.name),
        h("span", { class: "muted" }, `${kind}${controller.address ? ` · ${controller.address}` : ""}`)),
      h("div", { class: "row io-connection" }, this.state, this.age, this.detail),
      h("div", { class: "row" },
        h("button", { type: "button", onclick: () => this.scan.start(), disabled: !controller.enabled,
          "aria-label": `Scan hardware of ${controller.name}` }, "Scan hardware"),
        h("button", { type: "button", onclick: () => this.addChamber(), "aria-label": `Add a chamber to ${controller.name}` }, "Add chamber"),
        h("button", { type: "button", onclick: () => this.edit(), "aria-label": `Edit controller ${controller.name}` }, "Edit"),
        h("button", { type: "button", class: "danger", onclick: () => this.remove(),
          "aria-label": `Delete controller ${controller.name}` }, "Delete")),
      this.scan.element,
      h("div", { class: "io-chambers" }, ...(controller.chambers.length
        ? controller.chambers.map((chamber) => this.chamberBlock(chamber))
        : [h("p", { class: "muted" }, "No chamber on this controller yet.")])));
    this.renderConnection();
    this.scan.render(); // its "used by" follows the devices
  }

  chamberBlock(chamber) {
    const kind = (CHAMBER_KINDS.find(([value]) => value === chamber.kind) || [])[1] || chamber.kind;
    const rows = chamber.devices.map((device) => h("tr", { dataset: { device: device.id } },
      h("td", {}, device.name),
      h("td", {}, describeDevice(device)),
      h("td", {}, device.slot ? `slot ${device.slot}` : "no slot: not used"),
      h("td", { class: "actions" },
        h("button", { type: "button", "aria-label": `Edit device ${device.name}`,
          onclick: () => this.editDevice(chamber, device) }, "Edit"),
        h("button", { type: "button", class: "danger", "aria-label": `Delete device ${device.name}`,
          onclick: () => this.removeDevice(device) }, "Delete"))));
    return h("section", { class: "io-chamber", "aria-label": `Chamber ${chamber.name}`, dataset: { chamber: chamber.id } },
      h("div", { class: "row" },
        h("h3", {}, chamber.name), h("span", { class: "muted" }, kind),
        h("button", { type: "button", "aria-label": `Add a device to ${chamber.name}`,
          onclick: () => this.addDevice(chamber) }, "Add device"),
        h("button", { type: "button", "aria-label": `Edit chamber ${chamber.name}`,
          onclick: () => this.editChamber(chamber) }, "Edit"),
        h("button", { type: "button", class: "danger", "aria-label": `Delete chamber ${chamber.name}`,
          onclick: () => this.removeChamber(chamber) }, "Delete")),
      rows.length
        ? h("div", { class: "scroll" }, h("table", { class: "io-devices" },
          h("thead", {}, h("tr", {}, h("th", {}, "Device"), h("th", {}, "Function and address"), h("th", {}, "Slot"), h("th", {}, ""))),
          h("tbody", {}, ...rows)))
        : h("p", { class: "muted" }, "No device yet: scan the board and assign what it found, or add one."));
  }

  /** Online, offline (and why) or disabled, with the board's last answer. */
  renderConnection() {
    const connection = this.connection;
    let state = "unknown";
    let text = "connecting…";
    let detail = "";
    if (!this.controller.enabled) {
      state = "disabled";
      text = "disabled";
    } else if (connection && connection.state === "online") {
      state = "online";
      text = "connected";
      detail = [connection.board && `board ${connection.board}`, connection.firmware && `firmware ${connection.firmware}`]
        .filter(Boolean).join(", ");
    } else if (connection && connection.state === "offline") {
      state = "offline";
      text = "offline";
      detail = connection.reason || "";
    }
    this.state.dataset.state = state;
    this.state.textContent = text;
    this.detail.textContent = detail;
    this.tickAge();
  }

  lastSeen() {
    const iso = (this.connection && this.connection.last_seen) || this.controller.last_seen;
    return iso ? new Date(iso).getTime() : null;
  }

  tickAge() {
    const seen = this.lastSeen();
    const ageS = seen === null ? null : (Date.now() - seen) / 1000;
    // an online announcement that stopped coming (the WebSocket is down) is not live either
    const live = this.state.dataset.state === "online" && this.app.channels.state === "live"
      && this.connectionAt !== null && Date.now() - this.connectionAt < RECENT_S * 1000;
    this.element.classList.toggle("stale", this.state.dataset.state === "online" && !live);
    this.age.textContent = ageS === null ? "never seen" : `last seen ${formatAge(ageS)} ago`;
  }

  edit() { return controllerForm(this.app, this.controller); }

  addChamber() { return chamberForm(this.app, this.allControllers(), null, this.controller.id); }
  editChamber(chamber) { return chamberForm(this.app, this.allControllers(), chamber); }
  addDevice(chamber) { return deviceForm(this.app, this.controller, chamber); }
  editDevice(chamber, device) { return deviceForm(this.app, this.controller, chamber, device); }

  remove() {
    const controller = this.controller;
    const chambers = controller.chambers.length;
    const devices = controller.chambers.reduce((sum, chamber) => sum + chamber.devices.length, 0);
    const children = chambers
      ? ` Its ${plural(chambers, "chamber")} and ${plural(devices, "device")} are deleted with it.` : "";
    return confirmDialog({
      title: `Delete controller ${controller.name}?`,
      message: `The board is let go and its outputs switched off.${children}`,
      action: () => this.app.api.delete(`/api/controllers/${controller.id}${chambers ? "?cascade=true" : ""}`),
    });
  }

  removeChamber(chamber) {
    const devices = chamber.devices.length;
    return confirmDialog({
      title: `Delete chamber ${chamber.name}?`,
      message: `Its outputs are switched off.${devices ? ` Its ${plural(devices, "device")} are deleted with it.` : ""}`,
      action: () => this.app.api.delete(`/api/chambers/${chamber.id}${devices ? "?cascade=true" : ""}`),
    });
  }

  removeDevice(device) {
    return confirmDialog({
      title: `Delete device ${device.name}?`,
      message: `${describeDevice(device)} is no longer read or switched.`,
      action: () => this.app.api.delete(`/api/devices/${device.id}`),
    });
  }
}

function plural(count, noun) { return `${count} ${noun}${count === 1 ? "" : "s"}`; }

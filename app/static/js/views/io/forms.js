// The create and edit forms of controllers, chambers and devices, and the assignment of a
// scanned sensor or pin to a function in a chamber. Each sends what the brewer typed and
// lets the API judge it: its message shows next to the field it names.

import { FormError, formDialog } from "./dialogs.js";
import {
  ADDRESS_HINTS, CHAMBER_KINDS, CONTROLLER_KINDS, DEFAULT_NAMES, FUNCTION_LABELS, INPUT_FUNCTIONS,
  OUTPUT_FUNCTIONS, SENSOR_FUNCTIONS, deltaFromShown, deltaToShown, freeSlot, functionOptions, hardwareOf,
} from "./hardware.js";
import { unitLabel } from "../../units.js";

export function controllerForm(app, controller = null) {
  const editing = controller !== null;
  return formDialog({
    title: editing ? `Edit controller ${controller.name}` : "Add a controller",
    submitLabel: editing ? "Save" : "Add controller",
    fields: [
      { name: "name", label: "Name", type: "text" },
      { name: "kind", label: "Kind", type: "select", options: CONTROLLER_KINDS },
      { name: "address", label: "Address", type: "text", hint: ADDRESS_HINTS.simulator },
      { name: "enabled", label: "Enabled (connect to the board and control)", type: "checkbox" },
    ],
    values: editing ? controller : { kind: "simulator", address: "plant=fridge", enabled: true },
    onChange: (_name, values, form) => {
      form.fieldRow("address").querySelector(".hint").textContent = ADDRESS_HINTS[values.kind] || "";
    },
    submit: (values) => (editing
      ? app.api.patch(`/api/controllers/${controller.id}`, values)
      : app.api.post("/api/controllers", values)),
  });
}

export function chamberForm(app, controllers, chamber = null, controllerId = null) {
  const editing = chamber !== null;
  return formDialog({
    title: editing ? `Edit chamber ${chamber.name}` : "Add a chamber",
    submitLabel: editing ? "Save" : "Add chamber",
    fields: [
      { name: "name", label: "Name", type: "text" },
      { name: "kind", label: "Kind", type: "select", options: CHAMBER_KINDS },
      { name: "controller_id", label: "Controller", type: "select", numeric: true,
        options: controllers.map((controller) => [controller.id, controller.name]) },
    ],
    values: editing ? chamber : { kind: "fermenter", controller_id: controllerId },
    submit: (values) => (editing
      ? app.api.patch(`/api/chambers/${chamber.id}`, values)
      : app.api.post("/api/chambers", values)),
  });
}

/** A device typed in full: any function, address and slot. */
export function deviceForm(app, controller, chamber, device = null) {
  const editing = device !== null;
  const values = editing
    ? { ...device, calibration_offset: deltaToShown(device.calibration_offset) }
    : { function: "beer_temp", slot: freeSlot(controller), calibration_offset: 0, min_on_s: 0, min_off_s: 0 };
  return formDialog({
    title: editing ? `Edit device ${device.name}` : `Add a device to ${chamber.name}`,
    submitLabel: editing ? "Save" : "Add device",
    fields: [
      { name: "name", label: "Name", type: "text" },
      { name: "function", label: "Function", type: "select", options: functionOptions() },
      { name: "address", label: "Address", type: "text", hint: "" },
      { name: "slot", label: "Board slot (1–8)", type: "number", inputmode: "numeric",
        hint: "each device of a controller needs a slot of its own; a device without one is not used" },
      { name: "calibration_offset", label: `Calibration offset (${unitLabel()})`, type: "number" },
      { name: "invert", label: "Inverted (active low, or a normally-closed switch)", type: "checkbox" },
      { name: "min_on_s", label: "Minimum on time (s)", type: "number", inputmode: "numeric" },
      { name: "min_off_s", label: "Minimum off time (s)", type: "number", inputmode: "numeric" },
    ],
    values,
    onChange: (_name, current, form) => {
      const sensor = SENSOR_FUNCTIONS.includes(current.function);
      const output = OUTPUT_FUNCTIONS.includes(current.function);
      form.fieldRow("address").querySelector(".hint").textContent = sensor
        ? "OneWire ROM, 16 hex digits (scan the board to find them)" : "pin number, 0–63";
      form.fieldRow("calibration_offset").hidden = !sensor;
      form.fieldRow("invert").hidden = sensor;
      form.fieldRow("min_on_s").hidden = !output;
      form.fieldRow("min_off_s").hidden = !output;
    },
    submit: (typed) => {
      const body = { ...typed, hardware: hardwareOf(typed.function),
        calibration_offset: deltaFromShown(typed.calibration_offset ?? 0) };
      if (!body.min_on_s && body.min_on_s !== 0) body.min_on_s = 0;
      if (!body.min_off_s && body.min_off_s !== 0) body.min_off_s = 0;
      if (editing) return app.api.patch(`/api/devices/${device.id}`, body);
      return app.api.post("/api/devices", { ...body, chamber_id: chamber.id });
    },
  });
}

/** A sensor (`{address}`) or pin (`{pin}`) the scan found, given a function in a chamber. */
export function assignForm(app, controller, found) {
  const sensor = found.address !== undefined;
  const chambers = controller.chambers || [];
  const functions = sensor ? SENSOR_FUNCTIONS : [...OUTPUT_FUNCTIONS, ...INPUT_FUNCTIONS];
  let namedByUs = DEFAULT_NAMES[functions[0]];
  return formDialog({
    title: sensor ? `Assign sensor ${found.address}` : `Assign pin ${found.pin}`,
    submitLabel: "Assign",
    fields: [
      { name: "chamber_id", label: "Chamber", type: "select", numeric: true,
        options: chambers.map((chamber) => [chamber.id, chamber.name]) },
      { name: "function", label: "Function", type: "select", options: functionOptions(functions) },
      { name: "name", label: "Name", type: "text" },
      ...(sensor ? [] : [{ name: "invert", label: "Inverted (active low, or a normally-closed switch)", type: "checkbox" }]),
    ],
    values: { chamber_id: chambers.length ? chambers[0].id : "", function: functions[0], name: namedByUs },
    onChange: (name, current, form) => {
      if (name === "function" && form.inputs.name.value === namedByUs) {
        namedByUs = DEFAULT_NAMES[current.function];
        form.inputs.name.value = namedByUs;
      }
      if (!chambers.length) form.setError("chamber_id", `${controller.name} has no chamber yet: add one first`);
    },
    submit: (typed) => {
      if (!chambers.length) throw new FormError(`${controller.name} has no chamber yet: add one first`, "chamber_id");
      const slot = freeSlot(controller);
      if (slot === null) throw new FormError(`every board slot of ${controller.name} (1–8) is taken`);
      return app.api.post("/api/devices", {
        chamber_id: typed.chamber_id, name: typed.name, function: typed.function,
        hardware: sensor ? "onewire" : "pin", address: sensor ? found.address : String(found.pin),
        slot, invert: Boolean(typed.invert),
      });
    },
  });
}

export function describeDevice(device) {
  const where = device.hardware === "onewire" ? device.address : `pin ${device.address}`;
  return `${FUNCTION_LABELS[device.function] || device.function} · ${where}`;
}

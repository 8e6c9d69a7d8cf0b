// What the API's controllers, chambers and devices are made of (app/api/schemas.py), as
// the brewer reads them, and the board slot a new device takes.

import { currentUnit } from "../../units.js";

export const CONTROLLER_KINDS = [["simulator", "Simulator"], ["arduino", "Arduino (USB serial)"],
  ["sparkcore", "Spark Core (TCP or serial)"]];
export const ADDRESS_HINTS = {
  simulator: "options such as plant=fridge speed=1 seed=0 (may be empty)",
  arduino: "its serial port, such as /dev/ttyACM0",
  sparkcore: "host:port, such as 192.168.1.40:6666, or a serial port",
};
export const CHAMBER_KINDS = [["fermenter", "Fermenter"], ["mash", "Mash tun"], ["kettle", "Kettle"]];

export const SENSOR_FUNCTIONS = ["beer_temp", "fridge_temp", "room_temp"];
export const OUTPUT_FUNCTIONS = ["heat", "cool", "fan"];
export const INPUT_FUNCTIONS = ["door", "level_high", "pilot_light", "switch_input"];
export const FUNCTIONS = [...SENSOR_FUNCTIONS, ...OUTPUT_FUNCTIONS, ...INPUT_FUNCTIONS];
export const FUNCTION_LABELS = {
  beer_temp: "Beer temperature", fridge_temp: "Fridge air temperature", room_temp: "Room temperature",
  heat: "Heater", cool: "Cooler (compressor)", fan: "Fan",
  door: "Door switch", level_high: "High level switch", pilot_light: "Pilot light (flame sensor)",
  switch_input: "Switch input",
};
export const DEFAULT_NAMES = {
  beer_temp: "Beer", fridge_temp: "Fridge air", room_temp: "Room", heat: "Heater", cool: "Compressor",
  fan: "Fan", door: "Door", level_high: "High level", pilot_light: "Pilot light", switch_input: "Switch",
};

export const BOARD_SLOTS = 8; // slots 1-8 on every board (docs/boards.md)

export function functionOptions(functions = FUNCTIONS) {
  return functions.map((name) => [name, FUNCTION_LABELS[name]]);
}

export function hardwareOf(fn) {
  return SENSOR_FUNCTIONS.includes(fn) ? "onewire" : "pin";
}

/** The lowest board slot no device of the controller uses, or null when all are taken. */
export function freeSlot(controller, except = null) {
  const used = new Set();
  for (const chamber of controller.chambers || []) {
    for (const device of chamber.devices || []) if (device.id !== except && device.slot) used.add(device.slot);
  }
  for (let slot = 1; slot <= BOARD_SLOTS; slot += 1) if (!used.has(slot)) return slot;
  return null;
}

/** A °C difference (a calibration offset) in the unit shown, and back. */
export function deltaToShown(celsius) {
  return currentUnit() === "F" ? Math.round(celsius * 1.8 * 100) / 100 : celsius;
}
export function deltaFromShown(value) {
  return typeof value === "number" && currentUnit() === "F" ? Math.round(value / 1.8 * 1000) / 1000 : value;
}

// Temperatures are °C on the wire and in the database; the brewer sees and types them in
// the `units` setting (°C or °F), in 0.1 steps of the unit shown.

let unit = "C";
const listeners = new Set();

export function setUnit(value) {
  if (value !== "C" && value !== "F") return;
  if (value === unit) return;
  unit = value;
  for (const listener of listeners) listener(unit);
}
export function currentUnit() { return unit; }
export function onUnitChange(listener) { listeners.add(listener); return () => listeners.delete(listener); }
export function unitLabel() { return unit === "F" ? "°F" : "°C"; }

/** °C → the shown unit, as a number (null stays null). */
export function toShown(celsius) {
  if (celsius === null || celsius === undefined || Number.isNaN(celsius)) return null;
  return unit === "F" ? celsius * 9 / 5 + 32 : celsius;
}
/** A number typed in the shown unit → °C, rounded so a round-trip shows what was typed. */
export function fromShown(value) {
  const celsius = unit === "F" ? (value - 32) * 5 / 9 : value;
  return Math.round(celsius * 1000) / 1000;
}
/** "19.5 °C", or "—" for no reading. */
export function formatTemp(celsius, { withUnit = true } = {}) {
  const shown = toShown(celsius);
  if (shown === null) return "—";
  return withUnit ? `${shown.toFixed(1)} ${unitLabel()}` : shown.toFixed(1);
}

/** "12 s", "4 min", "3 h", "2 d": how old a value is. */
export function formatAge(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

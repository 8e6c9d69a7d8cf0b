// Times as the brewer reads them: local date and time of an ISO stamp, and how long ago.

import { formatAge } from "./units.js";

/** "23/11/2025, 10:00:05" in the tablet's locale; "" for none. */
export function formatWhen(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return String(iso);
  return moment.toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
}

/** "12 s ago" from an ISO stamp or epoch ms; "" for none. */
export function ago(when, now = Date.now()) {
  if (when === null || when === undefined || when === "") return "";
  const ms = typeof when === "number" ? when : Date.parse(when);
  if (Number.isNaN(ms)) return "";
  return `${formatAge((now - ms) / 1000)} ago`;
}

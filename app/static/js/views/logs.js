// Logs: the stored entries newest first (GET /api/logs), filtered by source and level on
// the server, and extended live from the `logs` channel with the same filter.

import { h, loadStyle } from "../dom.js";
import { formatWhen } from "../when.js";

const LEVELS = ["debug", "info", "warning", "error"];
const LOADED = 200; // entries read from the server per filter
const KEPT = 500; // entries kept on screen as live ones arrive

export function mount(container, app) {
  loadStyle("logs");
  const sources = new Set();
  const sourceSelect = h("select", { name: "source", onchange: () => load() }, h("option", { value: "" }, "All sources"));
  const levelSelect = h("select", { name: "level", onchange: () => load() },
    h("option", { value: "" }, "All levels"), ...LEVELS.map((level) => h("option", { value: level }, level)));
  const list = h("ol", { class: "log-list", id: "log-list", "aria-label": "Log entries, newest first", "aria-live": "off" });
  const status = h("p", { class: "muted", id: "log-status" });
  container.append(h("section", { class: "card logs" },
    h("div", { class: "row filters" },
      h("h2", {}, "Logs"),
      h("label", {}, "Source", sourceSelect),
      h("label", {}, "Level", levelSelect)),
    status, list));

  let entries = []; // newest first: {ts (ms), source, level, message}
  let generation = 0; // a load started later wins over one still running
  const pending = []; // live entries that arrived while a load ran
  let loading = false;

  const keyOf = (entry) => `${entry.ts}|${entry.source}|${entry.level}|${entry.message}`;
  const matches = (entry) => (!sourceSelect.value || entry.source === sourceSelect.value)
    && (!levelSelect.value || entry.level === levelSelect.value);

  function learnSources(batch) {
    let added = false;
    for (const entry of batch) {
      if (!sources.has(entry.source)) { sources.add(entry.source); added = true; }
    }
    if (!added) return;
    const chosen = sourceSelect.value;
    sourceSelect.replaceChildren(h("option", { value: "" }, "All sources"),
      ...[...sources].sort().map((source) => h("option", { value: source }, source)));
    sourceSelect.value = chosen;
  }

  async function load() {
    const mine = ++generation;
    const query = new URLSearchParams({ limit: String(LOADED) });
    if (sourceSelect.value) query.set("source", sourceSelect.value);
    if (levelSelect.value) query.set("level", levelSelect.value);
    status.textContent = "Loading…";
    loading = true;
    pending.length = 0;
    const rows = await app.attempt(() => app.api.get(`/api/logs?${query}`));
    if (mine !== generation) return;
    loading = false;
    if (!rows) { status.textContent = "Could not load the logs."; return; }
    entries = rows.map((row) => ({ ts: Date.parse(row.ts), source: row.source, level: row.level, message: row.message }));
    learnSources(entries);
    const seen = new Set(entries.map(keyOf));
    // what arrived live while the server answered, unless the answer holds it already
    const fresh = pending.splice(0).filter((entry) => !seen.has(keyOf(entry)) && matches(entry));
    entries = [...fresh.reverse(), ...entries].slice(0, KEPT);
    render();
  }

  function row(entry) {
    return h("li", { class: "log", dataset: { level: entry.level, source: entry.source } },
      h("time", { datetime: new Date(entry.ts).toISOString() }, formatWhen(entry.ts)),
      h("span", { class: "level" }, entry.level),
      h("span", { class: "source" }, entry.source),
      h("span", { class: "message" }, entry.message));
  }

  function render() {
    list.replaceChildren(...entries.map(row));
    status.textContent = entries.length ? `${entries.length} entries, newest first; new ones appear at the top.`
      : "No log entries match.";
  }

  function receive(data, meta) {
    if (meta.retained || !data || !Array.isArray(data.entries)) return; // a retained one is already stored
    const ts = Date.parse(meta.ts) || Date.now(); // the server stores the message's time
    const batch = data.entries.filter((raw) => raw && typeof raw.msg === "string").map((raw) => ({
      ts,
      source: String(raw.source ?? "unknown"),
      level: LEVELS.includes(String(raw.level).toLowerCase()) ? String(raw.level).toLowerCase() : "info",
      message: raw.msg,
    }));
    learnSources(batch);
    if (loading) { pending.push(...batch); return; }
    const shown = batch.filter(matches);
    if (!shown.length) return;
    entries = [...[...shown].reverse(), ...entries].slice(0, KEPT);
    for (const entry of shown) list.prepend(row(entry)); // the batch's last ends on top
    while (list.children.length > KEPT) list.lastElementChild.remove();
    status.textContent = `${entries.length} entries, newest first; new ones appear at the top.`;
  }

  const stop = app.channels.subscribe("logs", receive, { onReset: load });
  load();
  return () => stop();
}

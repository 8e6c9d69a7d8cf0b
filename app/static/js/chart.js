// A chamber's live chart (uPlot): the recorded history from /api/history, extended live by
// the card's tick records, with ranges from 1 h to 30 d, min/max bands where the history
// has them, profile events and alarms marked on the time axis. See docs/client.md "Charts".
//
// How history and live ticks combine (one time-sorted list of rows, one row per timestamp):
// - History rows are the server's points as they are ([ts_ms, mean, min, max], stamped at
//   the first tick of their interval or the start of their frame).
// - Live ticks (1 s) are folded into buckets of range / 3600 (1 s for 1 h, 24 s for 24 h,
//   12 min for 30 d), each keeping the mean, min and max of its ticks, so the recent part
//   is at tick rate on short ranges and the window never holds more than about 3600 live
//   rows plus the history's points, whatever the range and however long the page is open.
// - A (re)load of the range replaces the history rows and keeps only live rows newer than
//   the newest history point: history wins where it exists, live ticks carry on after it.
// - When the channel could not be resumed (the server restarted, or the client was away
//   longer than the server's replay), the gap between the last tick before and the first
//   tick after is filled from /api/history once those intervals are stored, with only the
//   points strictly inside the gap: nothing the chart already has is added twice.
// - Ticks at or before the newest tick seen (a replay, the retained copy) are dropped.

import uPlot from "../vendor/uplot/uPlot.esm.js";
import { h, loadStyle } from "./dom.js";
import { onUnitChange, toShown, unitLabel } from "./units.js";
import { profileById } from "./profile-cache.js";

export const RANGES = [
  ["1 h", 3600e3], ["6 h", 6 * 3600e3], ["24 h", 86400e3], ["7 d", 7 * 86400e3], ["30 d", 30 * 86400e3],
];
const DEFAULT_RANGE_MS = 86400e3;
const HISTORY_POINTS = 1500; // per series: 24 h comes back in 1-minute frames
const LIVE_ROWS = 3600; // live buckets per range
const STORE_DELAY_S = 3; // the recorder's flush (2 s) and a margin, after its interval closed
const FRAME_MS = { "1m": 60e3, "15m": 900e3, "1h": 3600e3, "1d": 86400e3 };
const LINES = {
  beer: { label: "Beer", colour: "beer", band: true },
  fridge: { label: "Fridge", colour: "fridge", band: true },
  room: { label: "Room", colour: "room", band: true },
  beer_set: { label: "Beer set", colour: "beer-set", dash: [6, 4] },
  fridge_set: { label: "Fridge set", colour: "fridge-set", dash: [6, 4] },
};

// line colours by theme (6-digit hex: the bands add an alpha); text and grid follow app.css
const COLOURS = {
  dark: { beer: "#ffb74d", fridge: "#64b5f6", room: "#a5d6a7", "beer-set": "#ffe082", "fridge-set": "#b39ddb" },
  light: { beer: "#c2410c", fridge: "#1d4ed8", room: "#2e7d32", "beer-set": "#8a6d00", "fridge-set": "#6a1b9a" },
};

function iso(ms) { return new Date(ms).toISOString(); }

/** The row's value of `field`: undefined (none here), null (a lost reading) or [mean, min, max]. */
function pointOf(row, field) {
  const value = row.v[field];
  if (value === undefined || value === null || Array.isArray(value)) return value;
  return [value.sum / value.n, value.lo, value.hi]; // a live bucket
}

export class ChamberChart {
  constructor(slot, chamber, app) {
    loadStyle("chart");
    this.slot = slot;
    this.app = app;
    this.chamber = chamber;
    this.fields = chamber.kind === "fermenter" ? ["beer", "fridge", "room", "beer_set", "fridge_set"]
      : ["beer", "room", "beer_set"];
    this.range = DEFAULT_RANGE_MS;
    this.rows = []; // {t, v: {field: [mean, min, max] | {sum, n, lo, hi} | null}, live, last}
    this.lastTick = null; // ts of the newest tick taken (ms)
    this.gap = null; // {from, to} while a reset's gap waits to be filled
    this.historyStepMs = 0; // spacing of the coarsest history series loaded
    this.known = new Set(); // series that exist on the server
    this.loadToken = 0;
    this.marks = { events: [], alarms: [] };
    this.eventOrigin = null; // ms when the fermentation profile's day 0 was, by its clock
    this.timers = new Set();
    this.plot = null;

    this.buttons = RANGES.map(([label, ms]) => h("button", {
      type: "button", dataset: { range: label }, "aria-pressed": String(ms === this.range),
      onclick: () => this.setRange(ms),
    }, label));
    this.caption = h("span", { class: "muted chart-unit" });
    this.canvas = h("div", { class: "chart-plot" });
    slot.replaceChildren(
      h("div", { class: "row chart-ranges", role: "group", "aria-label": "Chart range" }, ...this.buttons, this.caption),
      this.canvas);
    slot.chamberChart = this; // for the tests and the Debugger

    this.build();
    this.stops = [
      app.channels.subscribe(`chamber/${chamber.id}/data`, () => {}, { onReset: () => this.reset() }),
      app.channels.subscribe("alarms", () => this.alarmsChanged(), { onReset: () => this.loadAlarms() }),
      onUnitChange(() => this.draw()),
      app.onSettings((settings) => { if (this.plot && settings.theme !== this.theme) this.build(); }),
    ];
    this.resize = new ResizeObserver(() => this.fit());
    this.resize.observe(slot);
    // after the records the card queued meanwhile: the range then ends at their newest tick
    queueMicrotask(() => this.loadRange());
    this.loadAlarms();
  }

  destroy() {
    for (const stop of this.stops) stop();
    for (const timer of this.timers) clearTimeout(timer);
    this.resize.disconnect();
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.loadToken += 1;
  }

  setChamber(chamber) {
    if (chamber.profile_id !== this.chamber.profile_id || chamber.mode !== this.chamber.mode) {
      this.eventOrigin = null;
      this.marks.events = [];
    }
    this.chamber = chamber;
  }

  later(action, ms) {
    const timer = setTimeout(() => { this.timers.delete(timer); action(); }, ms);
    this.timers.add(timer);
  }

  get bucketMs() { return Math.max(1000, this.range / LIVE_ROWS); }

  /** The right edge of the chart: the newest tick (the server's clock, not the tablet's). */
  xMax() {
    if (this.lastTick !== null) return this.lastTick;
    return this.rows.length ? this.rows[this.rows.length - 1].t : Date.now();
  }

  // -- rows ------------------------------------------------------------------------------
  indexOf(t) {
    let low = 0, high = this.rows.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.rows[mid].t < t) low = mid + 1; else high = mid;
    }
    return low;
  }

  /** Adds `row` unless a row has its timestamp already; true if added. */
  insert(row) {
    const at = this.indexOf(row.t);
    if (at < this.rows.length && this.rows[at].t === row.t) return false;
    this.rows.splice(at, 0, row);
    return true;
  }

  trim() {
    const cutoff = this.xMax() - this.range;
    let drop = 0;
    while (drop < this.rows.length && this.rows[drop].t < cutoff) drop += 1;
    if (drop) this.rows.splice(0, drop);
  }

  /** A tick record from `chamber/<id>/data`. */
  push(record) {
    const ts = Date.parse(record.ts);
    if (!Number.isFinite(ts) || (this.lastTick !== null && ts <= this.lastTick)) return;
    if (this.gap && this.gap.to === null) {
      this.gap.to = ts;
      const interval = this.app.settings.history_interval_s || 10;
      this.later(() => this.fillGap(), (interval + STORE_DELAY_S) * 1000);
    }
    this.lastTick = ts;
    this.addLive(ts, record);
    this.trackProfile(record, ts);
    this.trim();
    this.scheduleDraw();
  }

  addLive(ts, values) {
    const key = Math.floor(ts / this.bucketMs) * this.bucketMs;
    let at = this.indexOf(key);
    let row = this.rows[at];
    if (!row || row.t !== key) {
      row = { t: key, v: {}, live: true, last: ts };
      this.rows.splice(at, 0, row);
    } else if (!row.live) { // a history point has exactly this stamp: keep both, a ms apart
      row = { t: key + 1, v: {}, live: true, last: ts };
      if (!this.insert(row)) return;
      at += 1;
    }
    row.last = Math.max(row.last, ts);
    for (const field of this.fields) {
      const value = values[field];
      if (value === null || value === undefined) {
        if (!(field in row.v)) row.v[field] = null; // lost: a gap, unless the bucket has readings
        continue;
      }
      const bucket = row.v[field];
      if (!bucket) row.v[field] = { sum: value, n: 1, lo: value, hi: value };
      else if (!Array.isArray(bucket)) {
        bucket.sum += value; bucket.n += 1;
        bucket.lo = Math.min(bucket.lo, value); bucket.hi = Math.max(bucket.hi, value);
      }
    }
  }

  // -- history ---------------------------------------------------------------------------
  async seriesNames() {
    const wanted = this.fields.map((field) => `chamber/${this.chamber.id}/${field}`);
    if (wanted.some((name) => !this.known.has(name))) {
      const all = await this.app.api.get("/api/series");
      this.known = new Set(all.map((series) => series.name));
    }
    return wanted.filter((name) => this.known.has(name)); // a new chamber has no history yet
  }

  /** History rows for [from, to], and the spacing of the coarsest series in them. */
  async history(from, to) {
    const names = await this.seriesNames();
    if (!names.length) return { rows: [], step: 0 };
    const query = `series=${names.map(encodeURIComponent).join(",")}&from=${iso(from)}&to=${iso(to)}`
      + `&points=${HISTORY_POINTS}`;
    const interval = (this.app.settings.history_interval_s || 10) * 1000;
    const body = await this.app.api.get(`/api/history?${query}`);
    let coarsest = 0;
    const byTs = new Map();
    for (const series of body.series) {
      const field = series.name.slice(series.name.lastIndexOf("/") + 1);
      const days = /^(\d+)d$/.exec(series.resolution);
      const step = series.resolution === "raw" ? interval : FRAME_MS[series.resolution] || (days ? days[1] * 86400e3 : 0);
      if (series.points.length) coarsest = Math.max(coarsest, step);
      for (const [ts, mean, min, max] of series.points) {
        if (!byTs.has(ts)) byTs.set(ts, {});
        byTs.get(ts)[field] = [mean, min ?? mean, max ?? mean];
      }
    }
    return { rows: [...byTs].map(([t, v]) => ({ t, v, live: false, last: t })), step: coarsest };
  }

  /** Loads the whole range again: history replaces history, live rows after it stay. */
  async loadRange() {
    const token = ++this.loadToken;
    const to = this.lastTick ?? Date.now();
    let rows, step;
    try {
      ({ rows, step } = await this.history(to - this.range, to + 60e3));
    } catch (error) {
      this.app.attempt(async () => { throw new Error(`chart history: ${error.message}`); });
      return;
    }
    if (token !== this.loadToken) return; // the range changed meanwhile
    this.historyStepMs = step;
    const newest = rows.reduce((latest, row) => Math.max(latest, row.t), -Infinity);
    this.rows = this.rows.filter((row) => row.live && row.last > newest);
    for (const row of rows) this.insert(row);
    this.trim();
    this.draw();
  }

  /** The socket could not resume this chamber's channel: ticks were missed. */
  reset() {
    if (this.lastTick === null) return; // nothing live yet: the range load covers it
    if (!this.gap) this.gap = { from: this.lastTick, to: null };
    else this.gap.to = null; // another reset before the fill: the gap goes on
  }

  async fillGap() {
    const gap = this.gap;
    if (!gap || gap.to === null) return;
    this.gap = null;
    let rows;
    try {
      ({ rows } = await this.history(gap.from - 1000, gap.to + 1000));
    } catch (error) {
      this.app.attempt(async () => { throw new Error(`chart history: ${error.message}`); });
      return;
    }
    for (const row of rows) if (row.t > gap.from && row.t < gap.to) this.insert(row);
    this.trim();
    this.draw();
  }

  setRange(ms) {
    if (ms === this.range) return;
    this.range = ms;
    for (const [index, [, span]] of RANGES.entries()) this.buttons[index].setAttribute("aria-pressed", String(span === ms));
    // live rows into buckets of the new width, then the range's history
    const live = this.rows.filter((row) => row.live);
    this.rows = this.rows.filter((row) => !row.live);
    for (const row of live) {
      const values = {};
      for (const field of this.fields) {
        const point = pointOf(row, field);
        if (point === undefined) continue;
        values[field] = point === null ? null : point[0];
      }
      this.addLive(row.last, values);
    }
    this.trim();
    this.draw();
    this.loadRange();
  }

  // -- marks: profile events and alarms --------------------------------------------------
  trackProfile(record, ts) {
    const profile = record.profile;
    const running = this.chamber.mode === "profile" && profile && typeof profile.elapsed_days === "number";
    if (!running || profile.paused || !this.chamber.profile_id) return;
    // day 0 by the profile's clock; a pause after an event moves that event's mark by the pause
    const origin = ts - profile.elapsed_days * 86400e3;
    if (this.eventOrigin !== null && Math.abs(origin - this.eventOrigin) < 60e3) return;
    this.eventOrigin = origin;
    const id = this.chamber.profile_id;
    profileById(this.app, id).then((found) => {
      if (!found || id !== this.chamber.profile_id || this.eventOrigin !== origin) return;
      this.marks.events = found.points.filter((point) => point.event)
        .map((point) => ({ t: origin + point.offset_days * 86400e3, kind: "event", text: point.event,
          title: `profile event: ${point.event} (day ${point.offset_days})` }));
      this.scheduleDraw();
    });
  }

  alarmsChanged() {
    if (this.alarmsDue) return; // one reload for a burst of raises and clears
    this.alarmsDue = true;
    this.later(() => { this.alarmsDue = false; this.loadAlarms(); }, 1000);
  }

  async loadAlarms() {
    const source = encodeURIComponent(`chamber/${this.chamber.id}`);
    let alarms;
    try {
      alarms = await this.app.api.get(`/api/alarms?state=all&source=${source}&limit=200`);
    } catch {
      return; // the bell shows the alarms' own trouble; the chart keeps its marks
    }
    this.marks.alarms = alarms.map((alarm) => ({ t: Date.parse(alarm.raised_at), kind: "alarm",
      text: alarm.code, title: `alarm ${alarm.severity}: ${alarm.message}` }));
    this.scheduleDraw();
  }

  placeMarks(plot) {
    const layer = this.markLayer;
    const [from, to] = [plot.scales.x.min, plot.scales.x.max];
    layer.replaceChildren(...[...this.marks.events, ...this.marks.alarms]
      .filter((mark) => mark.t / 1000 >= from && mark.t / 1000 <= to)
      .map((mark) => {
        const element = h("div", { class: "chart-mark", dataset: { kind: mark.kind, t: mark.t },
          title: mark.title, "aria-label": mark.title }, h("span", {}, mark.text));
        const left = plot.valToPos(mark.t / 1000, "x");
        element.style.left = `${left}px`;
        element.classList.toggle("flip", left > layer.clientWidth / 2); // its label inside the plot
        return element;
      }));
  }

  // -- drawing ---------------------------------------------------------------------------
  build() {
    if (this.plot) this.plot.destroy();
    const style = getComputedStyle(document.body);
    this.theme = this.app.settings.theme;
    const colours = COLOURS[this.theme === "light" ? "light" : "dark"];
    const series = [{}];
    const bands = [];
    this.columns = []; // [field, part]: part 0 mean, 1 min, 2 max
    for (const field of this.fields) {
      const line = LINES[field];
      const stroke = colours[line.colour];
      series.push({ label: line.label, stroke, width: 2, dash: line.dash,
        value: (u, v) => (v === null || v === undefined ? "—" : v.toFixed(1)) });
      this.columns.push([field, 0]);
      if (line.band) {
        const mean = series.length - 1;
        for (const part of [1, 2]) {
          series.push({ label: `${line.label} ${part === 1 ? "min" : "max"}`, class: "band-edge",
            stroke: "transparent", width: 1, points: { show: false } });
          this.columns.push([field, part]);
        }
        bands.push({ series: [mean + 2, mean + 1], fill: `${stroke}33` });
      }
    }
    const text = style.getPropertyValue("--text").trim(), grid = style.getPropertyValue("--line").trim();
    const plot = new uPlot({
      width: this.width(), height: 220,
      scales: { x: { time: true, range: () => [(this.xMax() - this.range) / 1000, this.xMax() / 1000] } },
      series, bands,
      axes: [
        { stroke: text, grid: { stroke: grid }, ticks: { stroke: grid } },
        { label: unitLabel(), stroke: text, grid: { stroke: grid }, ticks: { stroke: grid }, size: 50 },
      ],
      legend: { live: true },
      hooks: { draw: [(u) => this.placeMarks(u)] },
    }, this.data(), this.canvas);
    this.markLayer = h("div", { class: "chart-marks" });
    plot.over.append(this.markLayer);
    this.plot = plot;
    this.slot.uplot = plot;
    this.caption.textContent = `Temperatures in ${unitLabel()}`;
  }

  width() { return Math.max(200, this.slot.clientWidth || 360); }

  fit() {
    if (this.plot && Math.abs(this.plot.width - this.width()) > 2) this.plot.setSize({ width: this.width(), height: 220 });
  }

  /** uPlot's columns in the unit shown; a series missing longer than its spacing is a gap. */
  data() {
    const rows = this.rows;
    const gapMs = Math.max(30e3, 3 * Math.max(this.historyStepMs, this.bucketMs));
    const xs = new Array(rows.length);
    const columns = this.columns.map(() => new Array(rows.length));
    const seen = {};
    for (let i = 0; i < rows.length; i += 1) {
      const row = rows[i];
      xs[i] = row.t / 1000;
      const points = {};
      for (const field of this.fields) {
        const point = pointOf(row, field);
        if (point === undefined) {
          points[field] = seen[field] !== undefined && row.t - seen[field] > gapMs ? null : undefined;
        } else {
          points[field] = point;
          if (point !== null) seen[field] = row.t;
        }
      }
      this.columns.forEach(([field, part], c) => {
        const point = points[field];
        columns[c][i] = point === undefined || point === null ? point : toShown(point[part]);
      });
    }
    return [xs, ...columns];
  }

  scheduleDraw() {
    if (this.drawTimer) return;
    this.drawTimer = setTimeout(() => { this.drawTimer = null; this.timers.delete(timer); this.draw(); }, 250);
    const timer = this.drawTimer;
    this.timers.add(timer);
  }

  draw() {
    if (!this.plot) return;
    const label = unitLabel();
    if (this.plot.axes[1].label !== label) {
      this.plot.axes[1].label = label;
      this.caption.textContent = `Temperatures in ${label}`;
    }
    this.plot.setData(this.data());
  }
}

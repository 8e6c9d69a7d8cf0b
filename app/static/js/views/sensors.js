// Sensors: every series the history holds (GET /api/series), each a card with its last
// value, its age and a sparkline of its last day; a tap opens a chart of the series.
// The list is read again every REFRESH_MS; only series with new data are fetched again.

import { h, loadStyle } from "../dom.js";
import { formatTemp, onUnitChange, toShown, unitLabel } from "../units.js";
import { ago } from "../when.js";

const REFRESH_MS = 15000;
const SPARK_POINTS = 48;
const DAY_MS = 86_400_000;
const STALE_MS = 15 * 60_000; // older than this, a value is greyed: the sensor has gone quiet
const RANGES = [["1 h", 3_600_000], ["24 h", DAY_MS], ["7 d", 7 * DAY_MS], ["30 d", 30 * DAY_MS]];

const isTemperature = (unit) => unit === "°C";

/** A reading with its unit: temperatures in the unit chosen in Settings. */
export function formatReading(value, unit) {
  if (value === null || value === undefined) return "—";
  if (isTemperature(unit)) return formatTemp(value);
  const digits = Math.abs(value) >= 100 ? 1 : Math.abs(value) >= 10 ? 2 : 3;
  const text = String(Number(value.toFixed(digits)));
  return unit ? `${text} ${unit}` : text;
}

function shownUnit(unit) { return isTemperature(unit) ? unitLabel() : unit; }
function shown(value, unit) { return value === null || !isTemperature(unit) ? value : toShown(value); }

export function mount(container, app) {
  loadStyle("sensors");
  const cards = new Map(); // series name -> SensorCard
  const grid = h("div", { class: "sensor-grid", id: "sensors" });
  const empty = h("p", { class: "empty" }, "No series recorded yet: a chamber records its readings every "
    + "history interval, and sensors sent in by feeds or the line protocol appear here.");
  container.append(h("h2", { class: "view-title" }, "Sensors"), grid);
  let timer = null;
  let stopped = false;

  async function refresh() {
    clearTimeout(timer);
    const list = await app.attempt(() => app.api.get("/api/series"));
    if (stopped) return;
    if (list) {
      const names = new Set(list.map((series) => series.name));
      for (const [name, card] of cards) if (!names.has(name)) { card.element.remove(); cards.delete(name); }
      for (const series of list) {
        let card = cards.get(series.name);
        if (!card) {
          card = new SensorCard(series, app);
          cards.set(series.name, card);
        }
        card.update(series);
      }
      grid.replaceChildren(...list.map((series) => cards.get(series.name).element));
      if (list.length === 0) grid.replaceChildren(empty);
    }
    timer = setTimeout(refresh, REFRESH_MS);
  }

  const clock = setInterval(() => { for (const card of cards.values()) card.tickAge(); }, 1000);
  const stopUnits = onUnitChange(() => { for (const card of cards.values()) card.render(); });
  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(clock);
    stopUnits();
  };
}

class SensorCard {
  constructor(series, app) {
    this.app = app;
    this.series = series;
    this.last = null; // [ts_ms, value] of the newest sample
    this.spark = []; // [ts_ms, mean] over the day before the newest sample
    this.value = h("span", { class: "reading", "data-field": "value" });
    this.age = h("span", { class: "age", "data-field": "age" });
    this.svg = svg("svg", { class: "spark", viewBox: "0 0 100 30", preserveAspectRatio: "none", "aria-hidden": "true" });
    this.element = h("button", { type: "button", class: "card sensor", dataset: { series: series.name },
      onclick: () => openChart(this.series, app) },
    h("span", { class: "name" }, series.name), this.value, this.age, this.svg);
  }

  async update(series) {
    const changed = series.last !== this.series.last || this.last === null;
    this.series = series;
    if (!changed) return;
    if (!series.last) { this.render(); return; }
    const lastMs = Date.parse(series.last);
    const base = `series=${encodeURIComponent(series.name)}`;
    const at = (ms) => encodeURIComponent(new Date(ms).toISOString());
    // the newest sample alone (one point fits raw), and the day before it for the sparkline
    const [newest, day] = await Promise.all([
      this.app.attempt(() => this.app.api.get(`/api/history?${base}&from=${at(lastMs)}&to=${at(lastMs)}&points=1`)),
      this.app.attempt(() => this.app.api.get(
        `/api/history?${base}&from=${at(lastMs - DAY_MS)}&to=${at(lastMs)}&points=${SPARK_POINTS}`)),
    ]);
    const point = newest && newest.series[0] && newest.series[0].points.at(-1);
    this.last = point ? [point[0], point[1]] : [lastMs, null];
    if (day && day.series[0]) this.spark = day.series[0].points.map((p) => [p[0], p[1]]);
    this.render();
  }

  render() {
    const { unit } = this.series;
    this.value.textContent = formatReading(this.last ? this.last[1] : null, unit);
    this.element.setAttribute("aria-label", `${this.series.name}: ${this.value.textContent}, open its chart`);
    drawSpark(this.svg, this.spark);
    this.tickAge();
  }

  tickAge() {
    const lastMs = this.last ? this.last[0] : this.series.last ? Date.parse(this.series.last) : null;
    this.age.textContent = lastMs === null ? "no data" : ago(lastMs);
    const stale = lastMs === null || Date.now() - lastMs > STALE_MS;
    this.element.classList.toggle("stale", stale);
    this.element.dataset.stale = String(stale);
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attributes) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

/** A polyline per run of values (a gap in the data is a gap in the line). */
function drawSpark(target, points) {
  target.replaceChildren();
  const values = points.filter((p) => p[1] !== null && p[1] !== undefined);
  if (values.length === 0) return;
  const t0 = points[0][0];
  const span = Math.max(1, points.at(-1)[0] - t0);
  let low = Math.min(...values.map((p) => p[1]));
  let high = Math.max(...values.map((p) => p[1]));
  if (high - low < 1e-9) { low -= 1; high += 1; }
  const xy = ([ts, value]) => `${((ts - t0) / span * 100).toFixed(2)},${(28 - (value - low) / (high - low) * 26).toFixed(2)}`;
  let run = [];
  const flush = () => {
    if (run.length === 1) run.push(run[0]);
    if (run.length) target.append(svg("polyline", { points: run.join(" "), "vector-effect": "non-scaling-stroke" }));
    run = [];
  };
  for (const point of points) {
    if (point[1] === null || point[1] === undefined) flush();
    else run.push(xy(point));
  }
  flush();
}

// -- the chart of one series, in a dialog -----------------------------------------------
let uPlotLoading = null;
function loadUPlot() {
  if (!uPlotLoading) {
    document.head.append(h("link", { rel: "stylesheet", href: "/static/vendor/uplot/uPlot.min.css" }));
    uPlotLoading = import("../../vendor/uplot/uPlot.esm.js").then((module) => module.default);
  }
  return uPlotLoading;
}

async function openChart(series, app) {
  const uPlot = await loadUPlot();
  const plotBox = h("div", { class: "sensor-chart", "data-chart": series.name });
  const status = h("p", { class: "muted", role: "status" });
  const rangeButtons = RANGES.map(([label, span]) =>
    h("button", { type: "button", "aria-pressed": String(span === DAY_MS), onclick: () => show(span) }, label));
  const close = h("button", { type: "button", class: "primary", onclick: () => dialog.close() }, "Close");
  const dialog = h("dialog", { class: "dialog chart-dialog", "aria-label": `Chart of ${series.name}` },
    h("h2", {}, series.name),
    h("div", { class: "row", role: "group", "aria-label": "Range" }, ...rangeButtons),
    plotBox, status,
    h("div", { class: "actions" }, close));
  let plot = null;
  const width = () => Math.max(200, plotBox.clientWidth);
  const onResize = () => plot && plot.setSize({ width: width(), height: plotHeight() });
  dialog.addEventListener("close", () => {
    window.removeEventListener("resize", onResize);
    if (plot) plot.destroy();
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
  window.addEventListener("resize", onResize);

  async function show(span) {
    RANGES.forEach(([, value], index) => rangeButtons[index].setAttribute("aria-pressed", String(value === span)));
    const lastMs = series.last ? Date.parse(series.last) : Date.now();
    const to = lastMs < Date.now() - span ? lastMs : Date.now(); // an old series: the span up to its last data
    const from = to - span;
    status.textContent = "Loading…";
    const body = await app.attempt(() => app.api.get(`/api/history?series=${encodeURIComponent(series.name)}`
      + `&from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}`
      + "&points=1000"));
    if (!body || !dialog.open) return;
    const points = body.series[0] ? body.series[0].points : [];
    const xs = points.map((p) => p[0] / 1000);
    const unit = shownUnit(series.unit);
    const column = (index) => points.map((p) => shown(p[index], series.unit));
    const style = getComputedStyle(document.body);
    const color = (name) => style.getPropertyValue(name).trim();
    const axis = { stroke: color("--muted"), grid: { stroke: color("--line"), width: 1 }, ticks: { stroke: color("--line") } };
    // min and max lines only where the points summarise several samples (roll-ups)
    const banded = points.some((p) => p[2] !== p[1] || p[3] !== p[1]);
    const value = (u, v) => (v === null || v === undefined ? "—" : v.toFixed(2));
    const lines = [{}, { label: unit ? `${series.name} (${unit})` : series.name, stroke: color("--accent"), width: 2, value }];
    const data = [xs, column(1)];
    if (banded) {
      for (const [label, index] of [["min", 2], ["max", 3]]) {
        lines.push({ label, stroke: color("--muted"), width: 1, dash: [4, 4], value });
        data.push(column(index));
      }
    }
    if (plot) plot.destroy();
    plot = new uPlot({
      width: width(),
      height: plotHeight(),
      scales: { x: { time: true } },
      axes: [axis, { ...axis, label: unit || undefined }],
      series: lines,
    }, data, plotBox);
    status.textContent = points.length ? `${points.length} points (${body.series[0].resolution})`
      : "No data in this range.";
  }

  await show(DAY_MS);
}

function plotHeight() { return Math.max(180, Math.min(420, Math.round(window.innerHeight * 0.45))); }

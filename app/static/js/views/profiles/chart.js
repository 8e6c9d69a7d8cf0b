// The preview of a fermentation profile: the setpoint the controller will follow, day by
// day, drawn as app/control/profiles.py computes it (FermentationProfile.setpoint_at):
// - before the first point: the first point's temperature;
// - between two points: a straight line (equal temperatures hold, different ones ramp);
// - two points on the same day: an instant step (the later one rules from then on);
// - a point without a temperature turns control off on both sides of it: a gap;
// - after the last point: its temperature holds (drawn dashed).
// Events are marked with a dashed vertical line and their text.

import uPlot from "../../../vendor/uplot/uPlot.esm.js";
import { h } from "../../dom.js";
import { formatTemp, toShown, unitLabel } from "../../units.js";

/** The chart's data in the shown unit: [days, setpoint, holds-after-the-end]. */
export function curveData(points) {
  const days = [];
  const setpoint = [];
  if (points.length === 0) return [days, setpoint, []];
  const first = points[0];
  if (first.offset_days > 0) {
    days.push(0);
    setpoint.push(toShown(first.temperature));
  }
  for (const point of points) {
    days.push(point.offset_days);
    setpoint.push(toShown(point.temperature));
  }
  const last = points[points.length - 1];
  const holds = setpoint.map(() => null);
  const pad = Math.max(last.offset_days * 0.08, 0.5);
  days.push(last.offset_days + pad);
  setpoint.push(null);
  holds[holds.length - 1] = toShown(last.temperature);
  holds.push(toShown(last.temperature));
  return [days, setpoint, holds];
}

/** A sentence saying what the curve does, for the brewer who cannot see the chart. */
export function describe(points) {
  if (points.length === 0) return "No points: control is off while this profile runs.";
  const temps = points.map((point) => point.temperature).filter((t) => t !== null);
  const last = points[points.length - 1];
  const parts = [`${points.length} point${points.length === 1 ? "" : "s"} over ${formatDays(last.offset_days)}`];
  if (temps.length) {
    const low = Math.min(...temps);
    const high = Math.max(...temps);
    parts.push(low === high ? `at ${formatTemp(low)}` : `from ${formatTemp(low)} to ${formatTemp(high)}`);
  }
  if (temps.length < points.length) parts.push("control off where the line breaks");
  parts.push(last.temperature === null ? "control off after the end" : `then holds ${formatTemp(last.temperature)}`);
  const events = points.filter((point) => point.event).length;
  if (events) parts.push(`${events} event${events === 1 ? "" : "s"}`);
  return `${parts.join(", ")}.`;
}

export function formatDays(days) {
  const rounded = Math.round(days * 100) / 100;
  return `${rounded} day${rounded === 1 ? "" : "s"}`;
}

/** Room above the curve for the event labels, and below it. */
function paddedRange(_u, min, max) {
  if (min === null || max === null) return [0, 25];
  const pad = Math.max(1, (max - min) * 0.2);
  return [Math.floor(min - pad), Math.ceil(max + pad)];
}

function colour(name, fallback) {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

/** A chart in `box`; `update(points)` redraws it, `destroy()` removes it. */
export function previewChart(box) {
  let plot = null;
  let points = [];
  const note = h("p", { class: "preview-note", "data-field": "preview-summary" });
  const area = h("div", { class: "preview", role: "img", "aria-label": "Preview of the temperature curve" });
  box.append(area, note);

  const eventMarks = (u) => {
    const ctx = u.ctx;
    const { top, height } = u.bbox;
    ctx.save();
    ctx.strokeStyle = colour("--warn", "#ffd54f");
    ctx.fillStyle = colour("--text", "#e8edf2");
    ctx.setLineDash([4, 4]);
    ctx.lineWidth = devicePixelRatio;
    ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
    for (const point of points) {
      if (!point.event) continue;
      const x = Math.round(u.valToPos(point.offset_days, "x", true));
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      const label = point.event.length > 24 ? `${point.event.slice(0, 23)}…` : point.event;
      ctx.fillText(label, x + 4 * devicePixelRatio, top + 14 * devicePixelRatio);
    }
    ctx.restore();
  };

  const build = () => {
    if (plot) plot.destroy();
    const text = colour("--text", "#e8edf2");
    const line = colour("--line", "#3a4652");
    const accent = colour("--accent", "#5fb3ff");
    const axis = (label) => ({ label, stroke: text, grid: { stroke: line, width: 1 }, ticks: { stroke: line } });
    plot = new uPlot({
      width: Math.max(area.clientWidth, 260),
      height: 240,
      scales: { x: { time: false }, y: { range: paddedRange } },
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      axes: [axis("day"), { ...axis(unitLabel()), size: 56 }],
      series: [
        {},
        { label: "setpoint", stroke: accent, width: 2, spanGaps: false, points: { show: true, size: 7, fill: accent } },
        { label: "holds after the end", stroke: accent, width: 2, dash: [6, 6], spanGaps: false, points: { show: false } },
      ],
      hooks: { draw: [eventMarks] },
    }, curveData(points), area);
  };

  const resize = new ResizeObserver(() => {
    if (plot && area.clientWidth && Math.abs(plot.width - area.clientWidth) > 2) {
      plot.setSize({ width: area.clientWidth, height: 240 });
    }
  });
  resize.observe(area);

  return {
    update(next) {
      points = next;
      note.textContent = describe(points);
      if (!plot) build();
      else plot.setData(curveData(points));
    },
    /** After a unit or theme change: axes and colours are built again. */
    rebuild() { build(); note.textContent = describe(points); },
    invalid(message) { note.textContent = message; },
    destroy() {
      resize.disconnect();
      if (plot) plot.destroy();
      plot = null;
    },
  };
}

// Alarms: the open ones (active, or cleared but not yet acknowledged) with a button to
// acknowledge each or all, and the history below. Both reload whenever the `alarms`
// channel says something changed; the header bell (main.js) follows the same channel.

import { h, loadStyle } from "../dom.js";
import { ago, formatWhen } from "../when.js";

const STATE_LABELS = {
  active_unacknowledged: "active, not acknowledged",
  active_acknowledged: "active, acknowledged",
  cleared_unacknowledged: "cleared, not acknowledged",
  cleared: "cleared",
};
const HISTORY_LIMIT = 200;

export function mount(container, app) {
  loadStyle("alarms");
  const ackAll = h("button", { type: "button", class: "primary", onclick: () => acknowledge({ all: true }) },
    "Acknowledge all");
  const openList = h("ul", { class: "alarm-list", id: "open-alarms", "aria-label": "Open alarms" });
  const historyList = h("ul", { class: "alarm-list", id: "alarm-history", "aria-label": "Alarm history" });
  container.append(
    h("section", { class: "card alarms-open" },
      h("div", { class: "row heading" }, h("h2", {}, "Open alarms"), ackAll),
      openList),
    h("section", { class: "card alarms-history" },
      h("h2", {}, "History"),
      h("p", { class: "muted" }, `The latest ${HISTORY_LIMIT}, newest first.`),
      historyList));

  let open = [];
  let history = [];
  let loading = null;
  let again = false;

  async function load() {
    if (loading) { again = true; return; } // one load at a time; a change meanwhile loads once more
    loading = (async () => {
      const [openNow, all] = await Promise.all([
        app.attempt(() => app.api.get("/api/alarms?state=open&limit=1000")),
        app.attempt(() => app.api.get(`/api/alarms?state=all&limit=${HISTORY_LIMIT}`)),
      ]);
      if (openNow) open = openNow;
      if (all) history = all;
      render();
    })();
    await loading;
    loading = null;
    if (again) { again = false; load(); }
  }

  function item(alarm, withButton) {
    const unacked = !alarm.acknowledged_at;
    const times = [`raised ${formatWhen(alarm.raised_at)}`];
    if (alarm.acknowledged_at) times.push(`acknowledged ${formatWhen(alarm.acknowledged_at)}`);
    if (alarm.cleared_at) times.push(`cleared ${formatWhen(alarm.cleared_at)}`);
    return h("li", { class: "alarm", dataset: { alarm: alarm.id, state: alarm.state, severity: alarm.severity } },
      h("div", { class: "alarm-main" },
        h("div", { class: "row" },
          h("span", { class: "severity" }, alarm.severity),
          h("span", { class: "source" }, alarm.source),
          h("span", { class: "code muted" }, alarm.code)),
        h("p", { class: "message" }, alarm.message),
        h("p", { class: "when muted" },
          h("span", { class: "state-label" }, STATE_LABELS[alarm.state] || alarm.state), " · ", times.join(" · "),
          h("span", { class: "age", "data-since": alarm.raised_at }, ` (${ago(alarm.raised_at)})`))),
      withButton && unacked
        ? h("button", { type: "button", "aria-label": `Acknowledge ${alarm.source} ${alarm.code}`,
          onclick: () => acknowledge({ ids: [alarm.id] }) }, "Acknowledge")
        : null);
  }

  function render() {
    openList.replaceChildren(...open.map((alarm) => item(alarm, true)));
    if (open.length === 0) openList.append(h("li", { class: "empty" }, "No open alarms."));
    historyList.replaceChildren(...history.map((alarm) => item(alarm, false)));
    if (history.length === 0) historyList.append(h("li", { class: "empty" }, "No alarms yet."));
    ackAll.disabled = !open.some((alarm) => !alarm.acknowledged_at);
  }

  async function acknowledge(body) {
    const done = await app.attempt(() => app.api.post("/api/alarms/ack", body));
    if (done) load(); // the channel says so too; this shows it without waiting
  }

  const clock = setInterval(() => {
    for (const age of container.querySelectorAll(".age[data-since]")) age.textContent = ` (${ago(age.dataset.since)})`;
  }, 10000);
  const stop = app.channels.subscribe("alarms", (data, meta) => { if (!meta.retained) load(); }, { onReset: load });
  load();
  return () => {
    stop();
    clearInterval(clock);
  };
}

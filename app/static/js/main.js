// The client's shell: one WebSocket for every view, the settings (units, theme, name,
// logo), the login dialog, the alarm bell, and a router that mounts one view at a time.

import { api, login, onLoginNeeded, ApiError } from "./api.js";
import { Channels } from "./socket.js";
import { setUnit } from "./units.js";
import { toast } from "./dom.js";

// Each view is a module exporting `mount(container, app)`, which returns an unmount
// function. Loaded on first use, so the dashboard's first paint waits for nothing else.
const VIEWS = {
  dashboard: () => import("./views/dashboard.js"),
  profiles: () => import("./views/profiles.js"),
  io: () => import("./views/io.js"),
  alarms: () => import("./views/alarms.js"),
  logs: () => import("./views/logs.js"),
  sensors: () => import("./views/sensors.js"),
  settings: () => import("./views/settings.js"),
  debugger: () => import("./views/debugger.js"),
};

const scheme = location.protocol === "https:" ? "wss" : "ws";
const channels = new Channels(`${scheme}://${location.host}/socket`);
const settingsListeners = new Set();

export const app = {
  api,
  channels,
  settings: {},
  /** Calls `listener(settings)` now and whenever a setting changes. */
  onSettings(listener) {
    settingsListeners.add(listener);
    listener(app.settings);
    return () => settingsListeners.delete(listener);
  },
  /** Runs `action()`; a refusal is shown to the brewer instead of thrown. */
  async attempt(action, done) {
    try {
      const result = await action();
      if (done) toast(done);
      return result;
    } catch (error) {
      toast(error instanceof ApiError ? error.message : String(error), "error");
      return undefined;
    }
  },
};
window.maelstrom = app; // for the tests and the Debugger

function applySettings(settings) {
  app.settings = settings;
  setUnit(settings.units);
  document.body.dataset.theme = settings.theme === "light" ? "light" : "dark";
  const name = settings.brewery_name || "Maelstrom";
  document.getElementById("brewery").textContent = name;
  document.title = `${name} · Maelstrom`;
  const logo = document.getElementById("logo");
  logo.hidden = !settings.logo;
  if (settings.logo) logo.src = settings.logo;
  for (const listener of settingsListeners) listener(settings);
}

async function loadSettings() {
  try {
    applySettings(await api.get("/api/settings"));
  } catch (error) {
    toast(`settings: ${error.message}`, "error");
  }
}

// -- login: the first change asks for the password; a 401 anywhere brings it back ---------
let loginOpen = null;
let loggedInAt = 0;
function askLogin() {
  if (loginOpen) return loginOpen;
  const dialog = document.getElementById("login");
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  error.textContent = "";
  form.reset();
  loginOpen = new Promise((resolve) => {
    const finish = (ok) => {
      form.onsubmit = null;
      document.getElementById("login-cancel").onclick = null;
      dialog.close();
      loginOpen = null;
      resolve(ok);
    };
    form.onsubmit = async (event) => {
      event.preventDefault();
      try {
        await login(form.elements.password.value);
        loggedInAt = Date.now();
        if (channels.refused) channels.reconnect(); // its subscriptions were refused: now with the cookie
        finish(true);
      } catch (failure) {
        error.textContent = failure.message;
      }
    };
    document.getElementById("login-cancel").onclick = () => finish(false);
    dialog.showModal();
    form.elements.password.focus();
  });
  return loginOpen;
}
onLoginNeeded(askLogin);
// public_read is off: the WebSocket's subscriptions are refused until it carries a session
channels.addEventListener("unauthorized", () => {
  if (loggedInAt > channels.openedAt) channels.reconnect(); // logged in since it opened
  else askLogin();
});

// -- connection light -------------------------------------------------------------------
function showConnection(state) {
  const light = document.getElementById("connection");
  light.dataset.state = state;
  light.querySelector(".label").textContent =
    state === "live" ? "live" : state === "down" ? "disconnected, reconnecting" : "connecting";
  document.body.dataset.connection = state;
}
channels.addEventListener("state", (event) => showConnection(event.detail));

// -- alarm bell: the count of open alarms, blinking while any is unacknowledged ------------
async function refreshBell() {
  try {
    const open = await api.get("/api/alarms?state=open&limit=1000");
    const bell = document.getElementById("bell");
    const active = open.filter((alarm) => !alarm.cleared_at);
    document.getElementById("alarm-count").textContent = String(open.length);
    bell.dataset.open = String(active.length > 0);
    bell.dataset.unacked = String(open.some((alarm) => !alarm.acknowledged_at));
    bell.setAttribute("aria-label", `Alarms: ${open.length} open`);
  } catch (error) {
    toast(`alarms: ${error.message}`, "error");
  }
}

// -- router -----------------------------------------------------------------------------
let unmount = null;
let mounted = null;
async function route() {
  const name = (location.hash.match(/^#\/([a-z]+)/) || [])[1] || "dashboard";
  const view = VIEWS[name] ? name : "dashboard";
  if (view === mounted) return;
  for (const link of document.querySelectorAll(".tabs a")) {
    if (link.dataset.view === view) {
      link.setAttribute("aria-current", "page");
      link.scrollIntoView({ block: "nearest", inline: "nearest" }); // on a phone the tabs scroll sideways
    } else link.removeAttribute("aria-current");
  }
  if (unmount) unmount();
  unmount = null;
  mounted = view;
  const container = document.getElementById("view");
  container.replaceChildren();
  const module = await VIEWS[view]();
  if (mounted !== view) return; // the brewer went elsewhere meanwhile
  unmount = module.mount(container, app) || null;
}

window.addEventListener("hashchange", route);
channels.subscribe("_settings", () => loadSettings(), { onReset: loadSettings });
channels.subscribe("alarms", () => refreshBell(), { onReset: refreshBell });
channels.start();
showConnection("connecting");
loadSettings();
refreshBell();
route();

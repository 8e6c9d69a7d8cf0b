// Profiles: the list (live from `_profiles`), BrewPi CSV import and export, and a page per
// profile with its form (points or mash steps, a preview of the curve) and the controls to
// run it on a chamber. Pages: #/profiles, #/profiles/new/fermentation, #/profiles/new/mash,
// #/profiles/<id>.

import { ApiError, request } from "../api.js";
import { h, loadStyle, toast } from "../dom.js";
import { currentUnit, onUnitChange, unitLabel } from "../units.js";
import { describe } from "./profiles/chart.js";
import { confirmDialog } from "./profiles/common.js";
import { ProfileEditor } from "./profiles/editor.js";
import { RunPanel, running } from "./profiles/run.js";

const KINDS = { fermentation: "Fermentation", mash: "Mash" };
let importWarnings = null; // {id, warnings} handed from the import to the new profile's page

function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

function exportLink(profile) {
  return h("a", { class: "button", href: `/api/profiles/${profile.id}.csv?units=${currentUnit()}`, download: "",
    "aria-label": `Export ${profile.name} as BrewPi CSV` }, "Export CSV");
}

function summary(profile) {
  if (profile.kind === "mash") {
    const hold = profile.steps.reduce((total, step) => total + step.hold_min, 0);
    return `${profile.steps.length} step${profile.steps.length === 1 ? "" : "s"}, ${Math.round(hold)} min of holds`;
  }
  return describe(profile.points);
}

async function deleteProfile(app, profile) {
  const ok = await confirmDialog({ title: "Delete the profile", message: `Delete "${profile.name}"? This cannot be undone.`,
    confirm: "Delete", danger: true });
  if (!ok) return false;
  const done = await app.attempt(async () => { await app.api.delete(`/api/profiles/${profile.id}`); return true; }, "Deleted");
  return Boolean(done);
}

// -- the list -----------------------------------------------------------------------------
class ListPage {
  constructor(app, root) {
    this.app = app;
    this.profiles = [];
    this.chambers = [];
    this.body = h("tbody", {});
    this.empty = h("p", { class: "empty" });
    this.table = h("table", { class: "list", "aria-label": "Profiles" },
      h("thead", {}, h("tr", {}, ...["Name", "Kind", "Curve", "Chambers", "Actions"].map((text) => h("th", { scope: "col" }, text)))),
      this.body);
    this.file = h("input", { type: "file", accept: ".csv,text/csv,text/plain" });
    this.importName = h("input", { type: "text", maxlength: "64", autocomplete: "off" });
    this.importUnits = h("select", {},
      h("option", { value: "C" }, "°C"), h("option", { value: "F" }, "°F"));
    this.importUnits.value = currentUnit();
    this.importError = h("div", { class: "errors", role: "alert", "data-field": "import-errors" });
    this.importButton = h("button", { type: "submit", class: "primary" }, "Import");
    this.element = h("div", { class: "profiles" },
      h("section", { class: "card" },
        h("div", { class: "toolbar" },
          h("h2", {}, "Profiles"),
          h("a", { class: "button primary", href: "#/profiles/new/fermentation" }, "New fermentation profile"),
          h("a", { class: "button", href: "#/profiles/new/mash" }, "New mash profile")),
        h("div", { class: "scroll" }, this.table), this.empty),
      h("form", { class: "card", "aria-label": "Import a BrewPi CSV", novalidate: true,
        onsubmit: (event) => { event.preventDefault(); this.importCsv(); } },
      h("h2", {}, "Import a BrewPi CSV"),
      h("p", { class: "muted" }, "A BrewPi temperature profile (date,temperature,days): it becomes a new fermentation profile."),
      h("div", { class: "fields" },
        h("label", {}, "CSV file", this.file),
        h("label", {}, "Name (when the file has none)", this.importName),
        h("label", {}, "Temperatures in the file are in", this.importUnits)),
      this.importError,
      h("div", { class: "actions" }, this.importButton)));
    root.append(this.element);
    this.load();
  }

  async load() {
    const [profiles, chambers] = await Promise.all([
      this.app.attempt(() => this.app.api.get("/api/profiles")),
      this.app.attempt(() => this.app.api.get("/api/chambers")),
    ]);
    if (profiles) this.profiles = profiles;
    if (chambers) this.chambers = chambers;
    this.render();
  }

  render() {
    this.body.replaceChildren(...this.profiles.map((profile) => this.row(profile)));
    this.table.hidden = this.profiles.length === 0;
    this.empty.textContent = this.profiles.length ? "" : "No profiles yet: make one, or import a BrewPi CSV.";
  }

  row(profile) {
    const users = this.chambers.filter((chamber) => chamber.profile_id === profile.id);
    return h("tr", { dataset: { profile: profile.id } },
      h("td", {}, h("a", { class: "name", href: `#/profiles/${profile.id}` }, profile.name)),
      h("td", {}, KINDS[profile.kind] || profile.kind),
      h("td", { class: "muted" }, summary(profile)),
      h("td", {}, users.length ? users.map((chamber) => h("span", { class: "badge", dataset: { running: String(running(chamber)),
        paused: String(Boolean(chamber.profile_paused_at)) } },
      `${chamber.name}: ${running(chamber) ? (chamber.profile_paused_at ? "paused" : "running") : "assigned"}`)) : "—"),
      h("td", {}, h("div", { class: "row" },
        h("a", { class: "button", href: `#/profiles/${profile.id}`, "aria-label": `Open ${profile.name}` }, "Open"),
        profile.kind === "fermentation" && profile.points.length ? exportLink(profile) : null,
        h("button", { type: "button", class: "danger", "aria-label": `Delete ${profile.name}`,
          onclick: async () => { if (await deleteProfile(this.app, profile)) this.load(); } }, "Delete"))));
  }

  async importCsv() {
    this.importError.replaceChildren();
    const file = this.file.files[0];
    if (!file) {
      this.importError.textContent = "Choose the CSV file first.";
      return;
    }
    const query = new URLSearchParams({ units: this.importUnits.value });
    const name = this.importName.value.trim();
    if (name) query.set("name", name);
    this.importButton.disabled = true;
    try {
      const imported = await request("POST", `/api/profiles/import?${query}`, file, { headers: { "Content-Type": "text/csv" } });
      importWarnings = { id: imported.id, warnings: imported.warnings || [] };
      toast(`Imported "${imported.name}"`);
      go(`#/profiles/${imported.id}`);
    } catch (error) {
      const text = error instanceof ApiError
        ? `Not imported: ${error.message}${error.field ? ` (field ${error.field})` : ""}` : `Not imported: ${error}`;
      this.importError.textContent = text;
    } finally {
      this.importButton.disabled = false;
    }
  }

  onProfiles() { this.load(); }
  onChambers() { this.load(); }
  onUnit() { this.importUnits.value = currentUnit(); this.render(); }
  destroy() {}
}

// -- one profile --------------------------------------------------------------------------
class ProfilePage {
  constructor(app, root, id, kind) {
    this.app = app;
    this.root = root;
    this.id = id;
    this.kind = kind;
    this.names = new Map();
    this.editor = null;
    this.run = null;
    this.element = h("div", { class: "profiles" },
      h("nav", { class: "row", "aria-label": "Profile" }, h("a", { class: "button", href: "#/profiles" }, "← All profiles")));
    this.notice = h("div", { class: "warnings", role: "status", hidden: true });
    this.element.append(this.notice);
    root.append(this.element);
    if (id === null) this.show(null);
    else this.load();
  }

  async load() {
    const [profiles, chambers] = await Promise.all([
      this.app.attempt(() => this.app.api.get("/api/profiles")),
      this.app.attempt(() => this.app.api.get("/api/chambers")),
    ]);
    if (!profiles) return;
    this.chambers = chambers || [];
    for (const profile of profiles) this.names.set(profile.id, profile.name);
    const profile = profiles.find((item) => item.id === this.id);
    if (!profile) {
      this.element.append(h("p", { class: "empty" }, `There is no profile ${this.id}: it may have been deleted.`));
      return;
    }
    this.show(profile);
  }

  show(profile) {
    const actions = profile ? [
      profile.kind === "fermentation" ? exportLink(profile) : null,
      h("button", { type: "button", class: "danger", onclick: () => this.remove() }, "Delete"),
    ].filter(Boolean) : [h("a", { class: "button", href: "#/profiles" }, "Cancel")];
    this.exportLink = actions.find((item) => item.tagName === "A" && item.hasAttribute("download")) || null;
    this.editor = new ProfileEditor({ profile, kind: this.kind, extraActions: actions, onSave: (body) => this.save(body) });
    if (profile && importWarnings && importWarnings.id === profile.id) {
      const { warnings } = importWarnings;
      importWarnings = null;
      this.notice.hidden = false;
      this.notice.dataset.field = "import-warnings";
      this.notice.replaceChildren(
        h("h3", {}, warnings.length ? `Imported with ${warnings.length} warning${warnings.length === 1 ? "" : "s"}` : "Imported without warnings"),
        warnings.length ? h("ul", {}, ...warnings.map((warning) => h("li", {}, warning))) : null);
    }
    this.element.append(this.editor.element);
    if (profile) {
      this.run = new RunPanel(this.app, profile, (id) => this.names.get(id));
      this.run.setChambers(this.chambers);
      this.element.append(this.run.element);
    }
  }

  async save(body) {
    const saved = this.id === null
      ? await this.app.api.post("/api/profiles", body)
      : await this.app.api.patch(`/api/profiles/${this.id}`, body);
    toast(`Saved "${saved.name}"`);
    if (this.id === null) {
      go(`#/profiles/${saved.id}`);
      return saved;
    }
    this.names.set(saved.id, saved.name);
    if (this.run) this.run.setProfile(saved);
    return saved;
  }

  async remove() {
    if (await deleteProfile(this.app, this.editor.profile)) go("#/profiles");
  }

  onProfiles(event) {
    if (!event) { this.refresh(); return; }
    if (event.eventType === "delete" && event.id === this.id) {
      this.notice.hidden = false;
      this.notice.replaceChildren(h("h3", {}, "This profile was deleted (here or on another screen)."));
      return;
    }
    const profile = event.profile;
    if (!profile) return;
    this.names.set(profile.id, profile.name);
    if (profile.id !== this.id || !this.editor) return;
    if (JSON.stringify(profile) === JSON.stringify(this.editor.profile)) return;
    if (this.editor.dirty) {
      this.notice.hidden = false;
      this.notice.replaceChildren(h("h3", {}, "This profile was changed on another screen."),
        h("div", { class: "row" }, h("span", {}, "Saving now overwrites that change."),
          h("button", { type: "button", onclick: () => { this.notice.hidden = true; this.editor.load(profile); this.run?.setProfile(profile); } },
            "Show their version")));
      return;
    }
    this.editor.load(profile);
    if (this.run) this.run.setProfile(profile);
  }

  async refresh() {
    if (this.id === null || !this.editor) return;
    const profile = await this.app.attempt(() => this.app.api.get(`/api/profiles/${this.id}`));
    if (profile) this.onProfiles({ eventType: "update", profile });
  }

  async onChambers() {
    if (!this.run) return;
    const chambers = await this.app.attempt(() => this.app.api.get("/api/chambers"));
    if (chambers) { this.chambers = chambers; this.run.setChambers(chambers); }
  }

  onUnit() {
    if (this.editor) this.editor.unitChanged();
    if (this.exportLink) this.exportLink.href = `/api/profiles/${this.id}.csv?units=${currentUnit()}`;
    if (this.run) this.run.render();
  }

  onTheme() { if (this.editor) this.editor.themeChanged(); }

  destroy() {
    if (this.editor) this.editor.destroy();
    if (this.run) this.run.destroy();
  }
}

export function mount(container, app) {
  loadStyle("profiles");
  let page = null;
  let theme = app.settings.theme;

  function show() {
    const match = location.hash.match(/^#\/profiles(?:\/(new\/(fermentation|mash)|\d+))?\/?$/);
    if (!location.hash.startsWith("#/profiles")) return; // leaving: main.js unmounts this view
    if (page) page.destroy();
    container.replaceChildren();
    if (!match) page = new ListPage(app, container);
    else if (match[2]) page = new ProfilePage(app, container, null, match[2]);
    else if (match[1]) page = new ProfilePage(app, container, Number(match[1]), null);
    else page = new ListPage(app, container);
    container.dataset.unit = unitLabel();
  }

  window.addEventListener("hashchange", show);
  const stopProfiles = app.channels.subscribe("_profiles", (event) => page && page.onProfiles(event),
    { onReset: () => page && page.onProfiles(null) });
  const stopChambers = app.channels.subscribe("_chambers", () => page && page.onChambers(),
    { onReset: () => page && page.onChambers() });
  const stopUnits = onUnitChange(() => page && page.onUnit());
  const stopSettings = app.onSettings((settings) => {
    if (settings.theme !== theme) {
      theme = settings.theme;
      if (page && page.onTheme) page.onTheme();
    }
  });
  show();
  return () => {
    window.removeEventListener("hashchange", show);
    stopProfiles();
    stopChambers();
    stopUnits();
    stopSettings();
    if (page) page.destroy();
    page = null;
  };
}

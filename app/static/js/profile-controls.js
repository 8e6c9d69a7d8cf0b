// A chamber card's profile run controls: choose a profile and start it now or part-way
// (a fermentation profile from a day offset), pause, resume, stop. Each is one PATCH of
// /api/chambers/<id> with a `profile_command`; the API's refusals are shown as they come.

import { h } from "./dom.js";
import { onProfilesChanged, profileList } from "./profile-cache.js";

export class ProfileControls {
  /** `card` has `chamber`, `app` and `patch(body)` (a PATCH shown through app.attempt). */
  constructor(card) {
    this.card = card;
    const app = card.app;
    this.fermenter = card.chamber.kind === "fermenter";
    this.select = h("select", { name: "profile" });
    this.offset = h("input", { type: "number", name: "offset_days", min: "0", max: "3650", step: "0.01",
      value: "0", inputmode: "decimal" });
    this.startButton = h("button", { type: "button", class: "primary", onclick: () => this.start() }, "Start profile");
    this.none = h("span", { class: "muted" }, "No profiles of this kind yet: create one under Profiles.");
    this.startRow = h("div", { class: "row", role: "group", "aria-label": "Start a profile" },
      h("label", {}, "Profile", this.select),
      this.fermenter ? h("label", {}, "Start at day", this.offset) : null,
      this.startButton, this.none);
    this.pauseButton = h("button", { type: "button", onclick: () => this.command("pause") }, "Pause");
    this.resumeButton = h("button", { type: "button", onclick: () => this.command("resume") }, "Resume");
    this.stopButton = h("button", { type: "button", class: "danger", onclick: () => this.command("stop") }, "Stop profile");
    this.runRow = h("div", { class: "row", role: "group", "aria-label": "Profile run" },
      this.pauseButton, this.resumeButton, this.stopButton);
    this.element = h("div", { class: "profile-controls" }, this.startRow, this.runRow);
    this.stopListening = onProfilesChanged(app, () => this.loadProfiles());
    this.loadProfiles();
    this.update();
  }

  destroy() { this.stopListening(); }

  async loadProfiles() {
    const wanted = this.fermenter ? "fermentation" : "mash";
    const profiles = (await profileList(this.card.app)).filter((profile) => profile.kind === wanted);
    const chosen = this.select.value || String(this.card.chamber.profile_id ?? "");
    this.select.replaceChildren(...profiles.map((profile) => h("option", { value: profile.id }, profile.name)));
    if (profiles.some((profile) => String(profile.id) === chosen)) this.select.value = chosen;
    this.none.hidden = profiles.length > 0;
    this.select.disabled = this.startButton.disabled = profiles.length === 0;
  }

  /** Shows what applies to the chamber's run now. */
  update() {
    const chamber = this.card.chamber;
    const state = chamber.profile_state || {};
    const running = chamber.mode === "profile" && Boolean(state.run);
    const paused = running && state.paused_at !== null && state.paused_at !== undefined;
    this.startRow.hidden = running;
    this.runRow.hidden = !running;
    this.pauseButton.hidden = paused;
    this.resumeButton.hidden = !paused;
  }

  start() {
    const command = { action: "start" };
    if (this.fermenter) command.offset_days = this.offset.value === "" ? 0 : Number(this.offset.value);
    return this.card.patch({ profile_id: Number(this.select.value), profile_command: command });
  }

  command(action) {
    return this.card.patch({ profile_command: { action } });
  }
}

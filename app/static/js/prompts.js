// Brewer prompts: a banner in #prompts, with its action button, for what waits for the
// brewer, decided from each chamber's tick record (docs/client.md "Brewer prompts"):
// - a mash step waiting for a confirm (`profile.phase == "waiting_confirm"`): "Continue"
//   sends {"profile_command": {"action": "confirm"}}; the banner goes when a tick no
//   longer says the step waits.
// - a fermentation profile event (a point's `event`) from an hour before it is due until a
//   day after: "Done" puts it away on this tablet (the server has no command for it).

import { h } from "./dom.js";
import { formatAge } from "./units.js";
import { profileNow } from "./profile-cache.js";

const SOON_S = 3600;
const AFTER_S = 86400;
const DONE_KEY = "maelstrom.prompts.done";
const banners = new Map(); // key -> {element, text, chamberId}

function doneSet() {
  try {
    return new Set(JSON.parse(localStorage.getItem(DONE_KEY) || "[]"));
  } catch {
    return new Set();
  }
}

function markDone(key) {
  const done = [...doneSet(), key].slice(-100); // the newest hundred are plenty
  try { localStorage.setItem(DONE_KEY, JSON.stringify(done)); } catch { /* private mode: this session only */ }
}

/** What this chamber's record asks of the brewer: key -> {text, label, act}. */
function wanted(app, chamber, record) {
  const out = new Map();
  const profile = record && record.profile;
  if (!profile || chamber.mode !== "profile" || record.mode !== "profile") return out;
  const path = `/api/chambers/${chamber.id}`;
  if (profile.phase === "waiting_confirm") {
    out.set(`${chamber.id}:confirm:${profile.step_index}`, {
      kind: "confirm",
      text: `${profile.step}: waiting for you, then continue`,
      label: "Continue",
      act: () => app.attempt(() => app.api.patch(path, { profile_command: { action: "confirm" } }), "continued"),
    });
  }
  if (typeof profile.elapsed_days === "number" && chamber.profile_id) {
    const found = profileNow(app, chamber.profile_id);
    const run = (chamber.profile_state && chamber.profile_state.run) || "";
    const done = doneSet();
    for (const point of (found && found.points) || []) {
      if (!point.event) continue;
      const due_s = (point.offset_days - profile.elapsed_days) * 86400;
      const key = `${chamber.id}:event:${run}:${point.offset_days}:${point.event}`;
      if (due_s > SOON_S || due_s < -AFTER_S || done.has(key)) continue;
      out.set(key, {
        kind: "event",
        text: due_s > 0 ? `${point.event} in ${formatAge(due_s)}` : `${point.event}: due ${formatAge(-due_s)} ago`,
        label: "Done",
        act: async () => { markDone(key); return true; },
      });
    }
  }
  return out;
}

/** Shows, updates or takes away this chamber's banners for its latest record. */
export function updatePrompts(app, chamber, record) {
  const box = document.getElementById("prompts");
  const now = wanted(app, chamber, record);
  for (const [key, banner] of banners) {
    if (banner.chamberId === chamber.id && !now.has(key)) { banner.element.remove(); banners.delete(key); }
  }
  for (const [key, prompt] of now) {
    const shown = banners.get(key);
    if (shown) { shown.text.textContent = prompt.text; continue; }
    const text = h("span", { class: "prompt-text" }, prompt.text);
    const button = h("button", { type: "button", onclick: async () => {
      button.disabled = true;
      const ok = await prompt.act();
      if (prompt.kind === "event" && ok) { element.remove(); banners.delete(key); }
      else if (!ok) button.disabled = false; // refused: the brewer may try again
      // a confirm that went through stays until the tick says the step no longer waits;
      // should that tick not come, the button is live again after a while
      else setTimeout(() => { button.disabled = false; }, 10000);
    } }, prompt.label);
    const element = h("div", { class: "prompt", role: "alert", dataset: { prompt: prompt.kind, chamber: chamber.id } },
      h("strong", {}, chamber.name), text, button);
    banners.set(key, { element, text, chamberId: chamber.id });
    box.append(element);
  }
}

/** Takes away a chamber's banners (its card is gone). */
export function clearPrompts(chamberId) {
  for (const [key, banner] of banners) {
    if (banner.chamberId === chamberId) { banner.element.remove(); banners.delete(key); }
  }
}

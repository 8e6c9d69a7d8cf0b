// Settings: units, theme, brewery name and logo, reading without login (public_read),
// the password, API tokens, and logging out. A setting is stored by PUT
// /api/settings/<name>; main.js applies it on the `_settings` channel, in every open page.

import { request, logout, ApiError } from "../api.js";
import { h, loadStyle, toast } from "../dom.js";
import { formatWhen } from "../when.js";

const LOGO_MAX_CHARS = 64 * 1024; // the logo setting's limit, as a data: URL
const LOGO_SIDE_PX = 160; // a logo too large is redrawn to fit this (shown 40 px high)

export function mount(container, app) {
  loadStyle("settings");
  const stops = [];
  const put = (name, value, done) => app.attempt(async () => {
    const answer = await app.api.put(`/api/settings/${name}`, { value });
    tokens.reloadIfRefused(); // a login just happened, perhaps
    return answer;
  }, done);

  // -- display ----------------------------------------------------------------------------
  const choice = (name, options, label) => {
    const buttons = options.map(([value, text, aria]) => {
      const button = h("button", { type: "button", "aria-label": aria, onclick: () => put(name, value) }, text);
      return { button, value };
    });
    stops.push(app.onSettings((settings) => {
      for (const { button, value } of buttons) button.setAttribute("aria-pressed", String(settings[name] === value));
    }));
    return h("div", { class: "setting" }, h("span", { class: "setting-name" }, label),
      h("div", { class: "row choice", role: "group", "aria-label": label, dataset: { setting: name } },
        ...buttons.map(({ button }) => button)));
  };
  const display = h("section", { class: "card" }, h("h2", {}, "Display"),
    choice("units", [["C", "°C", "Celsius (°C)"], ["F", "°F", "Fahrenheit (°F)"]], "Temperature unit"),
    choice("theme", [["dark", "Dark"], ["light", "Light"]], "Theme"));

  // -- brewery name and logo -------------------------------------------------------------------
  const nameInput = h("input", { name: "brewery_name", maxlength: "64", required: true, autocomplete: "organization" });
  const nameForm = h("form", { class: "row", onsubmit: (event) => {
    event.preventDefault();
    put("brewery_name", nameInput.value.trim(), "Brewery name saved").then(() => { nameInput.dataset.dirty = ""; });
  } }, h("label", { class: "grow" }, "Brewery name", nameInput), h("button", { type: "submit" }, "Save name"));
  nameInput.addEventListener("input", () => { nameInput.dataset.dirty = "true"; });

  const preview = h("img", { class: "logo-preview", alt: "The current logo" });
  const noLogo = h("span", { class: "muted" }, "No logo");
  const fileInput = h("input", { type: "file", accept: "image/*", hidden: true, "aria-label": "Logo image file",
    onchange: () => useFile(fileInput.files[0]) });
  const urlInput = h("input", { type: "url", name: "logo_url", placeholder: "https://…", autocomplete: "off" });
  const urlForm = h("form", { class: "row", onsubmit: (event) => {
    event.preventDefault();
    const url = urlInput.value.trim();
    if (!/^(https?:\/\/|\/)/.test(url)) { toast("a logo URL starts with https://, http:// or /", "error"); return; }
    put("logo", url, "Logo saved").then(() => { urlInput.value = ""; });
  } }, h("label", { class: "grow" }, "Logo from a URL", urlInput), h("button", { type: "submit" }, "Use this URL"));
  const removeLogo = h("button", { type: "button", onclick: () => put("logo", "", "Logo removed") }, "Remove logo");

  async function useFile(file) {
    fileInput.value = "";
    if (!file) return;
    const url = await app.attempt(() => logoDataUrl(file));
    if (url) put("logo", url, "Logo saved");
  }

  stops.push(app.onSettings((settings) => {
    if (!nameInput.dataset.dirty && document.activeElement !== nameInput) nameInput.value = settings.brewery_name || "";
    preview.hidden = !settings.logo;
    noLogo.hidden = Boolean(settings.logo);
    if (settings.logo) preview.src = settings.logo;
    removeLogo.disabled = !settings.logo;
  }));
  const brewery = h("section", { class: "card" }, h("h2", {}, "Brewery"), nameForm,
    h("div", { class: "setting" }, h("span", { class: "setting-name" }, "Logo"),
      h("div", { class: "row" }, preview, noLogo,
        h("button", { type: "button", onclick: () => fileInput.click() }, "Choose an image…"), fileInput, removeLogo)),
    urlForm,
    h("p", { class: "muted" }, "An image file is stored in the settings (made smaller when it is over 64 KiB)."));

  // -- access: public_read and logging out --------------------------------------------------
  const access = h("section", { class: "card" }, h("h2", {}, "Access"),
    choice("public_read", [[true, "On"], [false, "Off"]], "Reading without login"),
    h("p", { class: "muted" }, "On: anyone on the network sees the values (a wall tablet needs no password); "
      + "changes always need the password. Off: reading needs it too."),
    h("div", { class: "row" }, h("button", { type: "button", onclick: () => app.attempt(async () => {
      await logout();
      app.channels.reconnect(); // the WebSocket's session ends too
      tokens.refused();
    }, "Logged out") }, "Log out")));

  // -- password ---------------------------------------------------------------------------
  const field = (label, name, autocomplete) => h("label", {}, label,
    h("input", { type: "password", name, autocomplete, required: true, minlength: name === "old" ? "1" : "8" }));
  const passwordError = h("p", { class: "error", role: "alert", id: "password-error" });
  const passwordForm = h("form", { class: "password-form", onsubmit: async (event) => {
    event.preventDefault();
    const { old, new: fresh, again } = passwordForm.elements;
    passwordError.textContent = "";
    if (fresh.value !== again.value) { passwordError.textContent = "the new passwords differ"; return; }
    try {
      await app.api.post("/api/password", { old: old.value, new: fresh.value });
      passwordForm.reset();
      toast("Password changed: other tablets and browsers must log in again");
      tokens.reloadIfRefused();
    } catch (error) {
      passwordError.textContent = error instanceof ApiError ? error.message : String(error);
    }
  } },
  field("Current password", "old", "current-password"),
  field("New password (at least 8 characters)", "new", "new-password"),
  field("New password again", "again", "new-password"),
  passwordError,
  h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Change password")));
  const password = h("section", { class: "card" }, h("h2", {}, "Password"), passwordForm);

  const tokens = tokenSection(app);
  container.append(h("div", { class: "settings-grid" }, display, brewery, access, password, tokens.element));
  tokens.load();
  return () => { for (const stop of stops) stop(); };
}

// -- API tokens: create (shown once), list, revoke --------------------------------------------
function tokenSection(app) {
  const list = h("ul", { class: "token-list", id: "tokens", "aria-label": "API tokens" });
  const nameInput = h("input", { name: "token_name", maxlength: "64", required: true, autocomplete: "off" });
  const shown = h("div", { class: "token-shown", hidden: true, role: "region", "aria-label": "New token" });
  const locked = h("div", { class: "row", hidden: true },
    h("span", { class: "muted" }, "API tokens are shown to a logged-in brewer only."),
    h("button", { type: "button", onclick: () => load(true) }, "Log in to see tokens"));
  const createForm = h("form", { class: "row", onsubmit: async (event) => {
    event.preventDefault();
    const created = await app.attempt(() => app.api.post("/api/tokens", { name: nameInput.value.trim() }));
    if (!created) return;
    nameInput.value = "";
    showOnce(created);
    load();
  } }, h("label", { class: "grow" }, "New token's name", nameInput), h("button", { type: "submit" }, "Create token"));
  let refused = false;

  function showOnce(created) {
    const value = h("input", { readonly: true, value: created.token, "aria-label": `Token ${created.name}`,
      class: "token-value", spellcheck: "false" });
    const copy = h("button", { type: "button", class: "primary", onclick: () => copyText(value) }, "Copy");
    shown.replaceChildren(
      h("p", {}, h("strong", {}, `Token “${created.name}”: copy it now, it is not shown again.`)),
      h("div", { class: "row" }, value, copy,
        h("button", { type: "button", onclick: () => { shown.hidden = true; shown.replaceChildren(); } }, "Done")));
    shown.hidden = false;
    value.select();
  }

  async function load(ask = false) {
    let rows;
    try {
      rows = await request("GET", "/api/tokens", undefined, { ask });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) { markRefused(); return; }
      toast(`tokens: ${error.message}`, "error");
      return;
    }
    refused = false;
    locked.hidden = true;
    createForm.hidden = false;
    list.replaceChildren(...rows.map((token) => h("li", { class: "token", dataset: { token: token.id } },
      h("div", { class: "grow" },
        h("div", { class: "token-name" }, token.name),
        h("div", { class: "muted" }, `created ${formatWhen(token.created_at)}`,
          token.last_used_at ? ` · last used ${formatWhen(token.last_used_at)}` : " · never used")),
      h("button", { type: "button", class: "danger", "aria-label": `Revoke token ${token.name}`,
        onclick: () => revoke(token) }, "Revoke"))));
    if (rows.length === 0) list.append(h("li", { class: "empty" }, "No API tokens."));
  }

  function markRefused() {
    refused = true;
    locked.hidden = false;
    createForm.hidden = true;
    list.replaceChildren();
  }

  async function revoke(token) {
    const sure = await confirmDialog(`Revoke the token “${token.name}”?`,
      "Scripts and sensors that send it are refused from now on.", "Revoke");
    if (!sure) return;
    const done = await app.attempt(() => app.api.delete(`/api/tokens/${token.id}`), `Token “${token.name}” revoked`);
    if (done !== undefined) load();
  }

  const element = h("section", { class: "card tokens" }, h("h2", {}, "API tokens"),
    h("p", { class: "muted" }, "For scripts and sensors: send as Authorization: Bearer <token>."),
    locked, createForm, shown, list);
  return {
    element,
    load,
    refused: markRefused,
    reloadIfRefused: () => { if (refused) load(); },
  };
}

async function copyText(input) {
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    // no clipboard API (a plain-http tablet is not a secure context): the old way
    if (!document.execCommand("copy")) { toast("select the token and copy it by hand", "error"); return; }
  }
  toast("Token copied");
}

function confirmDialog(title, text, action) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "dialog", "aria-label": title },
      h("h2", {}, title), h("p", {}, text),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => finish(false) }, "Cancel"),
        h("button", { type: "button", class: "danger", onclick: () => finish(true) }, action)));
    const finish = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); finish(false); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** An image file as a data: URL within the logo setting's limit, redrawn smaller if need be. */
async function logoDataUrl(file) {
  if (!file.type.startsWith("image/")) throw new Error("choose an image file (PNG, JPEG, SVG, WebP…)");
  const original = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new Error("the file could not be read"));
    reader.readAsDataURL(file);
  });
  if (original.length <= LOGO_MAX_CHARS) return original;
  const image = await new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the image could not be read"));
    img.src = original;
  });
  const scale = Math.min(1, LOGO_SIDE_PX / Math.max(image.naturalWidth || 1, image.naturalHeight || 1));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round((image.naturalWidth || LOGO_SIDE_PX) * scale));
  canvas.height = Math.max(1, Math.round((image.naturalHeight || LOGO_SIDE_PX) * scale));
  canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
  for (const [type, quality] of [["image/png"], ["image/webp", 0.9], ["image/jpeg", 0.85]]) {
    const smaller = canvas.toDataURL(type, quality);
    if (smaller.startsWith(`data:${type}`) && smaller.length <= LOGO_MAX_CHARS) return smaller;
  }
  throw new Error("the image stays over 64 KiB even made smaller: choose a simpler one");
}

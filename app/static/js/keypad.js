// A number keypad in a dialog: large keys for a wet thumb, a sign key, one decimal
// point, backspace; resolves to the number typed (in the unit shown) or null on cancel.

import { h } from "./dom.js";

export function keypad({ title, value, unit, min, max }) {
  return new Promise((resolve) => {
    let text = value === null || value === undefined ? "" : value.toFixed(1);
    let fresh = true; // the first key replaces the shown value
    const display = h("output", { class: "keypad-display", "aria-live": "polite" });
    const error = h("p", { class: "error", role: "alert" });
    const show = () => { display.textContent = `${text || "0"} ${unit}`; };
    const press = (key) => {
      if (fresh && key !== "⌫" && key !== "±") text = "";
      fresh = false;
      if (key === "⌫") text = text.slice(0, -1);
      else if (key === "±") text = text.startsWith("-") ? text.slice(1) : `-${text}`;
      else if (key === ".") { if (!text.includes(".")) text = `${text || "0"}.`; }
      else if (text.replace("-", "").length < 6) text += key;
      error.textContent = "";
      show();
    };
    const keys = ["7", "8", "9", "4", "5", "6", "1", "2", "3", "±", "0", "."].map((key) =>
      h("button", { type: "button", "aria-label": key === "±" ? "change sign" : key, onclick: () => press(key) }, key));
    const dialog = h("dialog", { class: "dialog", "aria-label": title },
      h("h2", {}, title), display, error,
      h("div", { class: "keypad" }, ...keys),
      h("div", { class: "actions" },
        h("button", { type: "button", "aria-label": "delete last digit", onclick: () => press("⌫") }, "⌫"),
        h("button", { type: "button", onclick: () => finish(null) }, "Cancel"),
        h("button", { type: "button", class: "primary", onclick: () => ok() }, "Set")));
    const finish = (result) => { dialog.close(); dialog.remove(); resolve(result); };
    const ok = () => {
      const number = Number(text);
      if (text === "" || text === "-" || !Number.isFinite(number)) { error.textContent = "type a number"; return; }
      if (min !== undefined && number < min) { error.textContent = `at least ${min.toFixed(1)} ${unit}`; return; }
      if (max !== undefined && number > max) { error.textContent = `at most ${max.toFixed(1)} ${unit}`; return; }
      finish(Math.round(number * 10) / 10);
    };
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); finish(null); });
    dialog.addEventListener("keydown", (event) => {
      if (/^[0-9.]$/.test(event.key)) press(event.key);
      else if (event.key === "-") press("±");
      else if (event.key === "Backspace") press("⌫");
      else if (event.key === "Enter") { event.preventDefault(); ok(); }
    });
    show();
    document.body.append(dialog);
    dialog.showModal();
  });
}

// The IO view's dialogs: a form whose refusals by the API are shown next to the field the
// API names (`error.field`), and a confirmation before anything is deleted.

import { ApiError } from "../../api.js";
import { h } from "../../dom.js";

let nextId = 1;

/**
 * A form in a modal dialog. `fields`: [{name, label, type: "text"|"number"|"select"|"checkbox",
 * options: [[value, label]], hint, step, min, max, inputmode}]; `values`: the form's start.
 * `submit(values)` sends it: its result closes the dialog and resolves the promise; an
 * ApiError keeps the dialog open with the message at its field. Cancel resolves null.
 */
export function formDialog({ title, fields, values = {}, submitLabel = "Save", submit, onChange }) {
  return new Promise((resolve) => {
    const id = `io-form-${nextId++}`;
    const inputs = {};
    const errors = {};
    const rows = fields.map((field) => {
      const inputId = `${id}-${field.name}`;
      const errorBox = h("p", { class: "error", id: `${inputId}-error`, "data-error-for": field.name, "aria-live": "polite" });
      errors[field.name] = errorBox;
      let input;
      if (field.type === "select") {
        input = h("select", { id: inputId, name: field.name, "aria-describedby": errorBox.id },
          ...field.options.map(([value, label]) => h("option", { value: String(value) }, label)));
      } else if (field.type === "checkbox") {
        input = h("input", { id: inputId, name: field.name, type: "checkbox", "aria-describedby": errorBox.id });
      } else {
        input = h("input", { id: inputId, name: field.name, type: "text", autocomplete: "off",
          inputmode: field.inputmode || (field.type === "number" ? "decimal" : undefined),
          "aria-describedby": errorBox.id });
      }
      inputs[field.name] = input;
      setValue(input, field, values[field.name]);
      input.addEventListener("input", () => { errorBox.textContent = ""; });
      if (onChange) input.addEventListener("change", () => onChange(field.name, read(), api));
      const label = h("label", { for: inputId, class: field.type === "checkbox" ? "check" : "" },
        field.type === "checkbox" ? input : null, field.label, field.type === "checkbox" ? null : input);
      const row = h("div", { class: "field", dataset: { field: field.name } }, label,
        field.hint ? h("p", { class: "hint muted" }, field.hint) : null, errorBox);
      return row;
    });
    const general = h("p", { class: "error", role: "alert", "data-error-for": "" });
    const saveButton = h("button", { type: "submit", class: "primary" }, submitLabel);
    const form = h("form", { method: "dialog", novalidate: true },
      h("h2", { id: `${id}-title` }, title), ...rows, general,
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => finish(null) }, "Cancel"), saveButton));
    const dialog = h("dialog", { class: "dialog io-dialog", "aria-labelledby": `${id}-title` }, form);

    function read() {
      const out = {};
      for (const field of fields) out[field.name] = getValue(inputs[field.name], field);
      return out;
    }
    const api = {
      inputs,
      fieldRow: (name) => inputs[name].closest(".field"),
      setError(name, message) { (errors[name] || general).textContent = message; },
    };
    function finish(result) {
      dialog.close();
      dialog.remove();
      resolve(result);
    }
    function showError(error) {
      let name = error.field && errors[error.field] ? error.field : null;
      if (!name && error.field) {
        // a nested field (`tuning.kp`) or a prefixed one shows at the form field it starts with
        name = Object.keys(errors).find((candidate) => error.field.startsWith(`${candidate}.`)) || null;
      }
      if (!name && !error.field) {
        // a rule across fields names none; its message starts with the field it is about
        name = Object.keys(errors).find((candidate) => error.message.startsWith(`${candidate} `)) || null;
      }
      (name ? errors[name] : general).textContent = error.message;
      if (name) inputs[name].focus();
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const box of Object.values(errors)) box.textContent = "";
      general.textContent = "";
      saveButton.disabled = true;
      try {
        finish(await submit(read()));
      } catch (error) {
        if (error instanceof ApiError || error instanceof FormError) showError(error);
        else general.textContent = String(error.message || error);
      } finally {
        saveButton.disabled = false;
      }
    });
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); finish(null); });
    document.body.append(dialog);
    dialog.showModal();
    if (onChange) onChange(null, read(), api);
    const first = form.querySelector("input, select");
    if (first) first.focus();
  });
}

/** A refusal found before asking the server, shown like the API's at `field`. */
export class FormError extends Error {
  constructor(message, field = null) {
    super(message);
    this.field = field;
  }
}

function setValue(input, field, value) {
  if (field.type === "checkbox") input.checked = Boolean(value);
  else input.value = value === null || value === undefined ? "" : String(value);
}

function getValue(input, field) {
  if (field.type === "checkbox") return input.checked;
  if (field.type === "number") {
    const text = input.value.trim().replace(",", ".");
    if (text === "") return null;
    const number = Number(text);
    return Number.isFinite(number) ? number : text; // the API names what is not a number
  }
  if (field.type === "select" && field.numeric) return input.value === "" ? null : Number(input.value);
  return input.value;
}

/** Asks before an irreversible action; `action()` runs on confirm, and a refusal is shown in
 * the dialog. Resolves true once it ran, false when cancelled. */
export function confirmDialog({ title, message, confirmLabel = "Delete", action }) {
  return new Promise((resolve) => {
    const id = `io-confirm-${nextId++}`;
    const error = h("p", { class: "error", role: "alert" });
    const confirm = h("button", { type: "button", class: "danger" }, confirmLabel);
    const dialog = h("dialog", { class: "dialog io-dialog", "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-text` },
      h("h2", { id: `${id}-title` }, title),
      h("p", { id: `${id}-text` }, message), error,
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => finish(false) }, "Cancel"), confirm));
    const finish = (done) => { dialog.close(); dialog.remove(); resolve(done); };
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      error.textContent = "";
      try {
        await action();
        finish(true);
      } catch (failure) {
        error.textContent = failure.message || String(failure);
      } finally {
        confirm.disabled = false;
      }
    });
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); finish(false); });
    document.body.append(dialog);
    dialog.showModal();
    confirm.focus();
  });
}

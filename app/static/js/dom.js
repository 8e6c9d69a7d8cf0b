// Small DOM helpers: build elements without innerHTML (names and messages come from
// users and scripts, so they are set as text, never parsed as HTML).

export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (key === "text") element.textContent = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

let toastTimer = null;
/** A short message at the bottom of the screen; errors stay longer. */
export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 8000 : 3000);
}

const loadedStyles = new Set();
/** A view's own stylesheet (`/static/css/<name>.css`), added once, on first use. */
export function loadStyle(name) {
  if (loadedStyles.has(name)) return;
  loadedStyles.add(name);
  document.head.append(h("link", { rel: "stylesheet", href: `/static/css/${name}.css` }));
}

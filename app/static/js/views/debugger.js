// Debugger: watch every frame on a channel pattern (`#` for all) and publish any message,
// as the original Maelstrom's Debugger tab did. It opens its own WebSocket, so a wildcard
// watch never mixes with the views' subscriptions. (The test simulations arrive with jobs.)

import { h, loadStyle } from "../dom.js";

const KEEP = 200; // frames shown; older ones are dropped so a busy `#` stays light

export function mount(container, app) {
  loadStyle("debugger");
  const pattern = h("input", { name: "pattern", value: "#", "aria-label": "Channel pattern to watch", required: true });
  const frames = h("ol", { class: "frames", reversed: true, "aria-live": "off" });
  const count = h("span", { class: "muted", "data-field": "frame-count" }, "0 frames");
  const channel = h("input", { name: "channel", value: "test", "aria-label": "Channel to publish to", required: true });
  const data = h("textarea", { name: "data", rows: 4, "aria-label": "Message (JSON)" }, '{"hello": "brewery"}');
  const error = h("p", { class: "error", role: "alert" });
  let socket = null;
  let received = 0;

  function watch(event) {
    if (event) event.preventDefault();
    if (socket) socket.close();
    frames.replaceChildren();
    received = 0;
    count.textContent = "0 frames";
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const mine = new WebSocket(`${scheme}://${location.host}/socket`);
    socket = mine;
    const watched = pattern.value.trim();
    mine.onopen = () => mine.send(JSON.stringify({ action: "subscribe", channel: watched, id: 1 }));
    mine.onmessage = (message) => {
      if (socket !== mine) return; // frames still buffered on a watch just replaced
      const frame = JSON.parse(message.data);
      if (frame.id === 1 && frame.error) { error.textContent = frame.error.message; return; }
      if (!frame.channel || frame.seq === undefined) return;
      received += 1;
      count.textContent = `${received} ${received === 1 ? "frame" : "frames"}`;
      frames.prepend(h("li", { class: "frame" },
        h("span", { class: "channel" }, frame.channel), " ",
        h("span", { class: "muted" }, `#${frame.seq} ${frame.ts || ""}`),
        h("pre", {}, JSON.stringify(frame.data))));
      while (frames.children.length > KEEP) frames.lastElementChild.remove();
    };
  }

  async function publish(event) {
    event.preventDefault();
    error.textContent = "";
    let body;
    try {
      body = JSON.parse(data.value);
    } catch (failure) {
      error.textContent = `not JSON: ${failure.message}`;
      return;
    }
    const name = channel.value.trim();
    await app.attempt(() => app.api.post(`/api/channels/${encodeURIComponent(name).replaceAll("%2F", "/")}`, body),
      `published on ${name}`);
  }

  container.append(
    h("section", { class: "card" }, h("h2", {}, "Publish"),
      h("form", { class: "row", onsubmit: publish },
        h("label", {}, "Channel", channel), h("label", { class: "grow" }, "Message (JSON)", data),
        h("button", { type: "submit", class: "primary" }, "Publish")), error),
    h("section", { class: "card" }, h("h2", {}, "Watch"),
      h("form", { class: "row", onsubmit: watch },
        h("label", {}, "Channel pattern", pattern), h("button", { type: "submit" }, "Watch"), count),
      frames));
  watch();
  return () => { if (socket) socket.close(); };
}

// Channels over one WebSocket: subscribe with a handler, reconnect with backoff, resume
// each channel from its last seq (protocol.md §2), drop duplicates by seq, and tell the
// view to reload by REST when the server could not replay what was missed.

const BACKOFF_S = [0.5, 1, 2, 4, 8, 10];
const PING_EVERY_MS = 20000; // a half-open connection (Wi-Fi gone) is noticed within 30 s
const PONG_WITHIN_MS = 10000;

export class Channels extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.subs = new Map(); // channel -> {handlers, resets, seq, epoch}
    this.state = "connecting";
    this.ws = null;
    this.attempt = 0;
    this.nextId = 1;
    this.pending = new Map(); // request id -> channel
    this.lastPong = 0;
    this.refused = false; // a subscription was refused for want of a login
    this.openedAt = 0;
  }

  start() {
    this._open();
    setInterval(() => this._ping(), PING_EVERY_MS);
  }

  /** Calls `handler(data, {seq, ts, retained})` for each message; `onReset()` when the
   * server could not replay what this client missed (reload that state by REST). */
  subscribe(channel, handler, { onReset } = {}) {
    let sub = this.subs.get(channel);
    if (!sub) {
      sub = { handlers: new Set(), resets: new Set(), seq: null, epoch: null, last: null };
      this.subs.set(channel, sub);
      if (this.state === "live") this._sendSubscribe(channel, sub);
    } else if (sub.last) {
      queueMicrotask(() => handler(sub.last.data, { ...sub.last.meta, retained: true }));
    }
    sub.handlers.add(handler);
    if (onReset) sub.resets.add(onReset);
    return () => {
      sub.handlers.delete(handler);
      if (onReset) sub.resets.delete(onReset);
      if (sub.handlers.size === 0) {
        this.subs.delete(channel);
        this._send({ action: "unsubscribe", channel });
      }
    };
  }

  /** Opens a new connection (after a login, so it carries the session cookie); every
   * channel resumes from its seq as after any reconnect. */
  reconnect() {
    this.refused = false;
    const ws = this.ws;
    this.ws = null;
    // closing one still connecting logs an error in Chromium: let it open, then close it
    if (ws && ws.readyState === WebSocket.CONNECTING) ws.onopen = () => ws.close();
    else if (ws) ws.close();
    this._open();
  }

  _setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }

  _open() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.openedAt = Date.now();
    ws.onopen = () => {
      this.attempt = 0;
      this.lastPong = Date.now();
      this._setState("live");
      for (const [channel, sub] of this.subs) this._sendSubscribe(channel, sub);
    };
    ws.onmessage = (event) => { if (this.ws === ws) this._receive(JSON.parse(event.data)); };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this._setState("down");
      const delay = BACKOFF_S[Math.min(this.attempt, BACKOFF_S.length - 1)] * (0.8 + Math.random() * 0.4);
      this.attempt += 1;
      setTimeout(() => this._open(), delay * 1000);
    };
  }

  _send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  _sendSubscribe(channel, sub) {
    const id = this.nextId++;
    this.pending.set(id, channel);
    const frame = { action: "subscribe", channel, id };
    if (sub.seq !== null && sub.epoch !== null) frame.since = { seq: sub.seq, epoch: sub.epoch };
    this._send(frame);
  }

  _ping() {
    if (this.state !== "live" || !this.ws) return;
    if (Date.now() - this.lastPong > PING_EVERY_MS + PONG_WITHIN_MS) {
      this.ws.close(); // no answer: treat it as lost and reconnect
      this.ws.onclose && this.ws.onclose();
      return;
    }
    this._send({ action: "ping", channel: "_heartbeat" });
  }

  _receive(frame) {
    if (frame.channel === "_heartbeat") {
      this.lastPong = Date.now();
      return;
    }
    this.lastPong = Date.now(); // any traffic shows the connection is alive
    if (frame.id !== undefined && this.pending.has(frame.id)) {
      const channel = this.pending.get(frame.id);
      this.pending.delete(frame.id);
      const sub = this.subs.get(channel);
      if (frame.error && frame.error.code === "unauthorized") {
        // public_read is off and this connection has no session: main.js asks for the
        // password, then calls reconnect() so the handshake carries the new cookie
        this.refused = true;
        this.dispatchEvent(new CustomEvent("unauthorized", { detail: channel }));
      }
      if (!sub || !frame.result) return;
      const result = frame.result;
      const hadState = sub.seq !== null;
      if (!result.recovered) {
        sub.epoch = result.epoch;
        sub.seq = result.seq;
        if (hadState) for (const reset of sub.resets) reset();
        if (result.retained !== null && result.retained !== undefined) {
          this._deliver(sub, result.retained, { seq: result.seq, ts: null, retained: true });
        }
      }
      return;
    }
    if (!frame.channel || frame.seq === undefined) return;
    // wildcard subscriptions are not used by the client: the frame's channel is the key
    const sub = this.subs.get(frame.channel);
    if (!sub) return;
    if (sub.epoch === frame.epoch && sub.seq !== null && frame.seq <= sub.seq) return; // a duplicate
    sub.epoch = frame.epoch;
    sub.seq = frame.seq;
    this._deliver(sub, frame.data, { seq: frame.seq, ts: frame.ts, retained: false });
  }

  _deliver(sub, data, meta) {
    sub.last = { data, meta };
    for (const handler of sub.handlers) {
      try {
        handler(data, meta);
      } catch (error) {
        console.error(error); // eslint-ignore: one view's bug must not stop the others
      }
    }
  }
}

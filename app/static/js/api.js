// REST client: JSON in and out, the session's XSRF token on every change, and a 401
// anywhere brings the login dialog back and then retries what the brewer did.

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `request failed (${status})`);
    this.status = status;
    this.code = error.code;
    this.field = error.field;
  }
}

function xsrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : null;
}

let loginPrompt = null; // set by main.js: () => Promise<boolean> (true once logged in)
export function onLoginNeeded(prompt) { loginPrompt = prompt; }

// `ask: false` answers a 401 with ApiError instead of asking for the password (a view that
// only shows something more to a logged-in brewer)
export async function request(method, path, body, { raw = false, headers = {}, retried = false, ask = true } = {}) {
  const init = { method, headers: { ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    if (body instanceof Blob || typeof body === "string") {
      init.body = body;
    } else {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
  }
  if (method !== "GET") {
    const token = xsrfToken();
    if (token) init.headers["X-XSRFToken"] = token;
  }
  const response = await fetch(path, init);
  if (response.status === 401 && ask && !retried && loginPrompt && path !== "/api/login") {
    if (await loginPrompt()) return request(method, path, body, { raw, headers, retried: true });
  }
  if (raw) {
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return response;
  }
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body),
  patch: (path, body) => request("PATCH", path, body),
  put: (path, body) => request("PUT", path, body),
  delete: (path) => request("DELETE", path),
};

export async function login(password) {
  await request("POST", "/api/login", { password });
}

export async function logout() {
  await request("POST", "/api/logout", {});
}

// Calls to the Nacos HTTP API, with the session's token. The console uses the same API as
// scripts and SDKs: form-encoded bodies, plain-text v1 errors.

const TOKEN = "nacosd.token";
const USER = "nacosd.user";

export const session = {
  token: sessionStorage.getItem(TOKEN) || "",
  username: sessionStorage.getItem(USER) || "",
  authEnabled: false,
  admin: false,
  save(token, username) {
    this.token = token;
    this.username = username;
    sessionStorage.setItem(TOKEN, token);
    sessionStorage.setItem(USER, username);
  },
  clear() {
    this.token = "";
    this.username = "";
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(USER);
  },
};

/** A refused or failed call: its HTTP status and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
  }
}

/** Called when the server says the session is no longer valid. */
let onUnauthorized = () => {};
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

function withToken(params) {
  const all = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null) all.append(name, String(value));
  }
  if (session.token) all.set("accessToken", session.token);
  return all;
}

/** A URL of the API with the session's token, for downloads the browser fetches itself. */
export function apiUrl(path, params) {
  return `/nacos${path}?${withToken(params)}`;
}

/**
 * Calls `method path`. GET and DELETE send `params` in the query, POST and PUT as a form.
 * Resolves to the body (parsed when JSON); rejects with an ApiError.
 */
export async function call(method, path, params = {}, { headers = {}, body = null } = {}) {
  // With a body of its own (JSON, multipart), a call's parameters go in the query.
  const query = withToken(method === "GET" || method === "DELETE" || body !== null ? params : {});
  const init = { method, headers: { ...headers } };
  if (body !== null) {
    init.body = body;
  } else if (method === "POST" || method === "PUT") {
    init.body = withToken(params);
    init.headers["Content-Type"] = "application/x-www-form-urlencoded;charset=UTF-8";
  }
  const response = await fetch(`/nacos${path}?${query}`, init);
  const text = await response.text();
  if (!response.ok) {
    if (response.status === 403 && /token|not found|expired|invalid/i.test(text) && session.token) {
      onUnauthorized();
    }
    throw new ApiError(response.status, text.trim());
  }
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? JSON.parse(text) : text;
}

export const get = (path, params) => call("GET", path, params);
export const post = (path, params, options) => call("POST", path, params, options);
export const put = (path, params) => call("PUT", path, params);
export const del = (path, params) => call("DELETE", path, params);

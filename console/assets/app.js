// The console's shell: navigation, the namespace picker, the session, and the router that
// gives each `#/page?query` to its page module.

import { get, session, whenUnauthorized } from "./api.js";
import { currentNamespace, errorBox, h, render } from "./ui.js";

const PAGES = {
  "": { title: "Overview", module: "overview" },
  login: { title: "Log in", module: "login", hidden: true },
  namespaces: { title: "Namespaces", module: "namespaces" },
  configs: { title: "Configs", module: "configs" },
  config: { title: "Config", module: "config_edit", hidden: true },
  history: { title: "History", module: "history" },
  listeners: { title: "Listeners", module: "listeners" },
  transfer: { title: "Import / export", module: "transfer" },
  services: { title: "Services", module: "services" },
  service: { title: "Service", module: "service_detail", hidden: true },
  cluster: { title: "Cluster", module: "cluster" },
  users: { title: "Users and roles", module: "users", adminOnly: true },
};

/** The current route: page name and query parameters. */
export function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [name, query = ""] = hash.split("?");
  return { name: name || "", params: new URLSearchParams(query) };
}

/** Goes to `#/name?params`. */
export function go(name, params = {}) {
  const query = new URLSearchParams(params).toString();
  location.hash = `#/${name}${query ? `?${query}` : ""}`;
}

async function fillNamespaces() {
  const select = document.getElementById("namespace-select");
  try {
    const list = await get("/v1/console/namespaces");
    const chosen = currentNamespace();
    render(select, list.data.map((ns) => h("option", { value: ns.namespace, selected: ns.namespace === chosen }, ns.namespaceShowName || ns.namespace || "public")));
    if (!list.data.some((ns) => ns.namespace === chosen)) {
      sessionStorage.setItem("nacosd.namespace", "");
      select.value = "";
    }
  } catch {
    render(select, h("option", { value: "" }, "public"));
  }
}

/** Lets pages that change namespaces refresh the picker. */
export const refreshNamespaces = fillNamespaces;

function renderNav(active) {
  const nav = document.getElementById("nav");
  const links = Object.entries(PAGES)
    .filter(([, page]) => !page.hidden && (!page.adminOnly || !session.authEnabled || session.admin))
    .map(([name, page]) => h("a", { href: `#/${name}`, "aria-current": name === active ? "page" : null }, page.title));
  render(nav, links);
}

function renderWho() {
  const who = document.getElementById("who");
  if (!session.authEnabled) {
    render(who, h("span", { class: "muted" }, "auth off"));
  } else if (session.token) {
    render(who, h("span", { "data-testid": "username" }, session.username), h("button", { onclick: logout }, "Log out"));
  } else {
    render(who);
  }
}

function logout() {
  session.clear();
  go("login");
}

async function show() {
  const { name, params } = route();
  const page = PAGES[name] ? name : "";
  const main = document.getElementById("main");
  if (session.authEnabled && !session.token && page !== "login") {
    go("login", { next: location.hash });
    return;
  }
  renderNav(page);
  renderWho();
  document.getElementById("nav").classList.remove("open");
  document.title = `${PAGES[page].title} · nacosd`;
  // Each visit renders into its own view: a slow page that finishes after the user moved
  // on writes into a view no longer shown, never over the page that replaced it.
  const view = h("div", { class: "view" }, h("p", { class: "muted" }, "Loading…"));
  render(main, view);
  try {
    const module = await import(`./pages/${PAGES[page].module}.js`);
    await module.default(view, params);
  } catch (err) {
    render(view, h("h1", {}, PAGES[page].title), errorBox(err));
  }
}

async function start() {
  try {
    const state = await get("/v1/console/server/state");
    session.authEnabled = state.auth_enabled === "true";
  } catch {
    session.authEnabled = false;
  }
  session.admin = sessionStorage.getItem("nacosd.admin") === "true";
  whenUnauthorized(() => {
    session.clear();
    go("login", { next: location.hash, expired: "1" });
  });
  document.getElementById("namespace-select").addEventListener("change", (event) => {
    sessionStorage.setItem("nacosd.namespace", event.target.value);
    show();
  });
  const toggle = document.getElementById("menu-toggle");
  toggle.addEventListener("click", () => {
    const open = document.getElementById("nav").classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
  window.addEventListener("hashchange", show);
  if (!session.authEnabled || session.token) await fillNamespaces();
  await show();
}

/** After a login: the picker can be filled now. */
export async function loggedIn(admin) {
  session.admin = admin;
  sessionStorage.setItem("nacosd.admin", String(admin));
  await fillNamespaces();
}

start();

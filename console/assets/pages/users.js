// Users, roles and permissions (the administrator's, when auth is on).

import { del, get, post, put, session } from "../api.js";
import { confirmAction, errorBox, field, h, modal, pager, render, table, toast } from "../ui.js";

const PAGE_SIZE = 10;

export default async function users(main, params) {
  if (!session.authEnabled) {
    render(main, h("h1", {}, "Users and roles"), h("div", { class: "card empty" }, "Auth is off on this server: there are no users to manage. Start nacosd with --auth-enabled."));
    return;
  }
  const tab = params.get("tab") || "users";
  const tabs = h("div", { class: "tabs", role: "tablist" }, ["users", "roles", "permissions"].map((name) =>
    h("button", { role: "tab", "aria-selected": String(tab === name), onclick: () => { location.hash = `#/users?tab=${name}`; } }, name[0].toUpperCase() + name.slice(1))));
  const body = h("div", {});
  render(main, h("h1", {}, "Users and roles"), tabs, body);
  const pageNo = Number(params.get("pageNo") || 1);
  await ({ users: usersTab, roles: rolesTab, permissions: permissionsTab })[tab](body, pageNo, () => users(main, params));
}

function form(status, fields, label, submit) {
  return h("form", { class: "card inline", onsubmit: async (event) => {
    event.preventDefault();
    render(status);
    try {
      await submit();
    } catch (err) {
      render(status, errorBox(err));
    }
  } }, fields, h("button", { class: "primary", type: "submit" }, label));
}

async function usersTab(body, pageNo, again) {
  const page = await get("/v1/auth/users", { pageNo, pageSize: PAGE_SIZE });
  const status = h("div", {});
  const username = h("input", { name: "username", required: true, autocomplete: "off" });
  const password = h("input", { name: "password", type: "password", required: true, autocomplete: "new-password" });
  const create = form(status, [field("User name", username), field("Password", password)], "Create user", async () => {
    await post("/v1/auth/users", { username: username.value.trim(), password: password.value });
    toast(`User ${username.value} created`);
    await again();
  });
  const reset = async (user) => {
    const fresh = h("input", { type: "password", required: true, autocomplete: "new-password", "aria-label": "New password" });
    const done = await modal((close) => h("form", { onsubmit: async (event) => {
      event.preventDefault();
      try {
        await put("/v1/auth/users", { username: user.username, newPassword: fresh.value });
        close(true);
      } catch (err) {
        event.target.append(errorBox(err));
      }
    } }, h("h2", {}, `New password for ${user.username}`), field("Password", fresh),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Save"), h("button", { type: "button", onclick: () => close(false) }, "Cancel"))));
    if (done) toast("Password changed");
  };
  const remove = async (user) => {
    if (!(await confirmAction(`Delete user ${user.username}?`))) return;
    try {
      await del("/v1/auth/users", { username: user.username });
      toast("User deleted");
      await again();
    } catch (err) {
      render(status, errorBox(err));
    }
  };
  render(body, create, status, table([
    { title: "User", cell: (user) => user.username },
    { title: "", cell: (user) => h("div", { class: "actions" }, h("button", { onclick: () => reset(user) }, "Change password"), h("button", { class: "danger", onclick: () => remove(user) }, "Delete")) },
  ], page.pageItems), pager(pageNo, PAGE_SIZE, page.totalCount, (next) => { location.hash = `#/users?tab=users&pageNo=${next}`; }));
}

async function rolesTab(body, pageNo, again) {
  const page = await get("/v1/auth/roles", { pageNo, pageSize: PAGE_SIZE });
  const status = h("div", {});
  const role = h("input", { name: "role", required: true });
  const username = h("input", { name: "username", required: true });
  const bind = form(status, [field("Role", role), field("User name", username)], "Give role", async () => {
    await post("/v1/auth/roles", { role: role.value.trim(), username: username.value.trim() });
    toast("Role given");
    await again();
  });
  const remove = async (binding) => {
    if (!(await confirmAction(`Take role ${binding.role} from ${binding.username}?`, "Remove"))) return;
    try {
      await del("/v1/auth/roles", { role: binding.role, username: binding.username });
      await again();
    } catch (err) {
      render(status, errorBox(err));
    }
  };
  render(body, bind, status, table([
    { title: "Role", cell: (binding) => binding.role },
    { title: "User", cell: (binding) => binding.username },
    { title: "", cell: (binding) => binding.role === "ROLE_ADMIN" ? h("span", { class: "muted" }, "administrator") : h("button", { class: "danger", onclick: () => remove(binding) }, "Remove") },
  ], page.pageItems), pager(pageNo, PAGE_SIZE, page.totalCount, (next) => { location.hash = `#/users?tab=roles&pageNo=${next}`; }));
}

async function permissionsTab(body, pageNo, again) {
  const page = await get("/v1/auth/permissions", { pageNo, pageSize: PAGE_SIZE });
  const status = h("div", {});
  const role = h("input", { name: "role", required: true });
  const resource = h("input", { name: "resource", required: true, placeholder: "namespace:group:config/*" });
  const action = h("select", { name: "action" }, h("option", { value: "r" }, "read"), h("option", { value: "w" }, "write"), h("option", { value: "rw" }, "read and write"));
  const grant = form(status, [field("Role", role), field("Resource", resource), field("Action", action)], "Grant", async () => {
    await post("/v1/auth/permissions", { role: role.value.trim(), resource: resource.value.trim(), action: action.value });
    toast("Permission granted");
    await again();
  });
  const remove = async (permission) => {
    if (!(await confirmAction(`Revoke ${permission.action} on ${permission.resource} from ${permission.role}?`, "Revoke"))) return;
    try {
      await del("/v1/auth/permissions", { role: permission.role, resource: permission.resource, action: permission.action });
      await again();
    } catch (err) {
      render(status, errorBox(err));
    }
  };
  render(body, grant, status, table([
    { title: "Role", cell: (permission) => permission.role },
    { title: "Resource", cell: (permission) => h("code", {}, permission.resource) },
    { title: "Action", cell: (permission) => permission.action },
    { title: "", cell: (permission) => h("button", { class: "danger", onclick: () => remove(permission) }, "Revoke") },
  ], page.pageItems), pager(pageNo, PAGE_SIZE, page.totalCount, (next) => { location.hash = `#/users?tab=permissions&pageNo=${next}`; }));
}

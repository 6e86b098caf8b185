// Small helpers to build pages from the DOM API: no framework, no innerHTML with data.

/** Creates an element: attributes (`on*` are listeners), then children (strings or nodes). */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "class") {
      element.className = value;
    } else if (name === "value") {
      element.value = value;
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces what `element` shows. */
export function render(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** A labelled form field around `input`. */
export function field(label, input) {
  return h("label", { class: "field" }, label, input);
}

/** A table of `rows` with `columns` ({title, cell(row), optional}); `empty` when none. */
export function table(columns, rows, empty = "Nothing here yet.") {
  if (!rows.length) return h("div", { class: "card empty" }, empty);
  const head = h("tr", {}, columns.map((column) => h("th", { scope: "col", class: column.optional ? "optional" : null }, column.title)));
  const body = rows.map((row) => h("tr", {}, columns.map((column) => h("td", { class: column.optional ? "optional" : null }, column.cell(row)))));
  return h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, body)));
}

/** Previous/next for a page of `total` items. */
export function pager(pageNo, pageSize, total, go) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return h(
    "div",
    { class: "pager" },
    h("button", { disabled: pageNo <= 1, onclick: () => go(pageNo - 1) }, "Previous"),
    h("span", {}, `Page ${pageNo} of ${pages} (${total} in all)`),
    h("button", { disabled: pageNo >= pages, onclick: () => go(pageNo + 1) }, "Next"),
  );
}

/** A message that disappears after a few seconds. */
export function toast(message, bad = false) {
  const note = h("div", { class: bad ? "toast bad" : "toast" }, message);
  document.getElementById("toasts").append(note);
  setTimeout(() => note.remove(), 4000);
}

/** An error box with the server's message. */
export function errorBox(err) {
  const message = err && err.status === 403 ? `Not allowed: ${err.message}. Ask an administrator for the permission.` : String(err && err.message ? err.message : err);
  return h("div", { class: "error", role: "alert" }, message);
}

/** A modal dialog built by `build(close)`; resolves with what `close` is given. */
export function modal(build) {
  return new Promise((resolve) => {
    const dialog = h("dialog", {});
    const close = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(undefined);
    });
    render(dialog, build(close));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Asks before something that cannot be undone. */
export function confirmAction(question, action = "Delete") {
  return modal((close) => [
    h("p", {}, question),
    h("div", { class: "actions" },
      h("button", { class: "danger", onclick: () => close(true) }, action),
      h("button", { autofocus: true, onclick: () => close(false) }, "Cancel")),
  ]);
}

/** Milliseconds since the epoch as local date and time. */
export function when(millis) {
  const value = Number(millis);
  return value ? new Date(value).toLocaleString() : "";
}

/** The namespace the header's picker shows ("" is public). */
export function currentNamespace() {
  return sessionStorage.getItem("nacosd.namespace") || "";
}

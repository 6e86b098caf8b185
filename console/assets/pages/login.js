// Log in: a user name and password for a token; back to the page that asked.

import { post, session } from "../api.js";
import { loggedIn } from "../app.js";
import { errorBox, field, h, render } from "../ui.js";

export default async function login(main, params) {
  const username = h("input", { name: "username", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const status = h("div", {});
  const form = h("form", { class: "card", style: "max-width: 380px", onsubmit: async (event) => {
    event.preventDefault();
    render(status);
    try {
      const answer = await post("/v1/auth/users/login", { username: username.value, password: password.value });
      session.save(answer.accessToken, answer.username || username.value);
      await loggedIn(Boolean(answer.globalAdmin));
      const next = params.get("next");
      location.hash = next && next !== "#/login" && !next.startsWith("#/login?") ? next : "#/";
    } catch (err) {
      render(status, errorBox(err.status === 403 ? { message: "Wrong user name or password (or too many tries: wait a minute)." } : err));
    }
  } },
  field("User name", username), field("Password", password), status,
  h("button", { class: "primary", type: "submit" }, "Log in"));
  render(main, h("h1", {}, "Log in"),
    params.get("expired") ? h("p", { class: "notice" }, "Your session ended. Log in again.") : null,
    form);
}

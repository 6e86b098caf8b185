// Syntax highlighting for config types, and an editor that shows it under a textarea.

import { h } from "./ui.js";

const RULES = {
  json: [[/"(?:[^"\\]|\\.)*"(?=\s*:)/y, "tok-key"], [/"(?:[^"\\]|\\.)*"/y, "tok-str"], [/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y, "tok-num"], [/\b(?:true|false|null)\b/y, "tok-kw"]],
  yaml: [[/#.*/y, "tok-com"], [/^[ \t-]*[^\s:#][^:#\n]*(?=:(?:\s|$))/my, "tok-key"], [/"(?:[^"\\\n]|\\.)*"|'[^'\n]*'/y, "tok-str"], [/\b-?\d+(?:\.\d+)?\b/y, "tok-num"], [/\b(?:true|false|null|yes|no)\b/y, "tok-kw"]],
  properties: [[/^[ \t]*[#!].*/my, "tok-com"], [/^[ \t]*[^=:\s#!][^=:\n]*(?=\s*[=:])/my, "tok-key"]],
  toml: [[/#.*/y, "tok-com"], [/^\s*\[[^\]\n]*\]/my, "tok-tag"], [/^[ \t]*[A-Za-z0-9_.\-"]+(?=\s*=)/my, "tok-key"], [/"(?:[^"\\\n]|\\.)*"|'[^'\n]*'/y, "tok-str"], [/\b-?\d+(?:\.\d+)?\b/y, "tok-num"], [/\b(?:true|false)\b/y, "tok-kw"]],
  xml: [[/<!--[\s\S]*?-->/y, "tok-com"], [/<\/?[A-Za-z_][\w:.-]*|\/?>/y, "tok-tag"], [/[\w:.-]+(?==)/y, "tok-key"], [/"[^"]*"|'[^']*'/y, "tok-str"]],
};
RULES.html = RULES.xml;

/** `text` as nodes with token classes for `type` (plain text for text and unknown types). */
export function highlight(text, type) {
  const rules = RULES[type];
  if (!rules) return [text];
  const nodes = [];
  let plain = "";
  let at = 0;
  outer: while (at < text.length) {
    for (const [pattern, cls] of rules) {
      pattern.lastIndex = at;
      const match = pattern.exec(text);
      if (match && match.index === at && match[0].length) {
        if (plain) nodes.push(plain);
        plain = "";
        nodes.push(h("span", { class: cls }, match[0]));
        at += match[0].length;
        continue outer;
      }
    }
    plain += text[at++];
  }
  if (plain) nodes.push(plain);
  return nodes;
}

/** A highlighted, read-only view of `text`. */
export function codeView(text, type) {
  return h("pre", { class: "view", "data-testid": "code-view" }, highlight(text, type));
}

/**
 * An editor: a textarea whose text is transparent over a highlighted copy, kept in step
 * as the user types and scrolls. `getType` names the type to highlight for.
 */
export function codeEditor(initial, getType, label) {
  const shown = h("pre", { "aria-hidden": "true" });
  const input = h("textarea", { class: "code", spellcheck: "false", "aria-label": label, "data-testid": "content" });
  input.value = initial;
  const refresh = () => {
    shown.replaceChildren(...highlight(input.value + "\n", getType()));
    shown.scrollTop = input.scrollTop;
    shown.scrollLeft = input.scrollLeft;
  };
  input.addEventListener("input", refresh);
  input.addEventListener("scroll", refresh);
  input.addEventListener("keydown", (event) => {
    // Tab indents (two spaces) instead of leaving the editor; Escape then Tab leaves it.
    if (event.key === "Tab" && !event.shiftKey && !input.dataset.escaped) {
      event.preventDefault();
      input.setRangeText("  ", input.selectionStart, input.selectionEnd, "end");
      refresh();
    }
    input.dataset.escaped = event.key === "Escape" ? "1" : "";
  });
  refresh();
  return { element: h("div", { class: "editor" }, shown, input), input, refresh };
}

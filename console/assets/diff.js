// Line diff of two texts (longest common subsequence), shown as added and removed lines.

import { h } from "./ui.js";

/** Lines as [kind, text] with kind "same", "add" or "del", from `before` to `after`. */
export function diffLines(before, after) {
  const a = before.split("\n");
  const b = after.split("\n");
  // Trim the common head and tail so the table covers only the changed middle.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const out = a.slice(0, start).map((line) => ["same", line]);
  if (midA.length * midB.length > 4_000_000) {
    // Too large to align line by line: show it as replaced.
    midA.forEach((line) => out.push(["del", line]));
    midB.forEach((line) => out.push(["add", line]));
  } else {
    const rows = midA.length + 1;
    const cols = midB.length + 1;
    const lcs = new Uint32Array(rows * cols);
    for (let i = midA.length - 1; i >= 0; i--) {
      for (let j = midB.length - 1; j >= 0; j--) {
        lcs[i * cols + j] = midA[i] === midB[j] ? lcs[(i + 1) * cols + j + 1] + 1 : Math.max(lcs[(i + 1) * cols + j], lcs[i * cols + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < midA.length || j < midB.length) {
      if (i < midA.length && j < midB.length && midA[i] === midB[j]) {
        out.push(["same", midA[i++]]);
        j++;
      } else if (j < midB.length && (i === midA.length || lcs[i * cols + j + 1] > lcs[(i + 1) * cols + j])) {
        out.push(["add", midB[j++]]);
      } else {
        out.push(["del", midA[i++]]);
      }
    }
  }
  a.slice(endA).forEach((line) => out.push(["same", line]));
  return out;
}

/** The diff as a block of lines marked + and -; says so when nothing changed. */
export function diffView(before, after, { beforeLabel = "current", afterLabel = "new" } = {}) {
  const lines = diffLines(before, after);
  const changed = lines.filter(([kind]) => kind !== "same").length;
  const sign = { same: "  ", add: "+ ", del: "- " };
  return h("div", {},
    h("p", { class: "muted" }, changed ? `${changed} changed line(s): - ${beforeLabel}, + ${afterLabel}` : "No difference."),
    h("div", { class: "diff", "data-testid": "diff" }, lines.map(([kind, text]) => h("div", { class: kind }, sign[kind] + text))));
}

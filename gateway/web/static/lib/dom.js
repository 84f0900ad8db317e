// Building the page from data: text goes in through textContent only, never as HTML.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith("on")) { node.addEventListener(name.slice(2), value); }
    else if (value !== false && value !== null && value !== undefined) { node.setAttribute(name, value === true ? "" : value); }
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined).map((c) => (c instanceof Node ? c : String(c))));
  return node;
}

// A table with a header row; each row is a list of cells (text or nodes), or an element already made.
export function table(caption, headers, rows) {
  return el("table", {},
    caption ? el("caption", { class: "visually-hidden" }, caption) : null,
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((row) => (row instanceof Node ? row : el("tr", {}, row.map((c) => el("td", {}, c)))))));
}

export function muted(text) { return el("p", { class: "muted" }, text); }

// Fills a container from a loader, or says why it could not; aria-busy tells assistive technology
// (and the tests) while it loads.
export async function fill(container, load) {
  container.setAttribute("aria-busy", "true");
  try { container.replaceChildren(...[await load()].flat()); }
  catch (error) { container.replaceChildren(el("p", { class: "error", role: "alert" }, error.message)); }
  finally { container.setAttribute("aria-busy", "false"); }
}

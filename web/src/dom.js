// Tiny DOM helpers: build elements without a framework.
//
//   h("a", { class: "csv", href: url, onclick: go }, "Download CSV")

// Creates an element. Attributes: `class`, `text`, `dataset` (object),
// `on<event>` (listener), `style` (string), booleans (set when true), and
// anything else as a plain attribute. Children are nodes, strings or arrays of
// them; null, undefined and false are skipped.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else if (key === "value") element.value = value;
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// A <select> with the given options ([value, label] pairs or plain values).
export function select(options, selected, onchange, attributes = {}) {
  const element = h("select", { ...attributes, onchange: (event) => onchange(event.target.value) });
  for (const option of options) {
    const [value, label] = Array.isArray(option) ? option : [option, option];
    element.append(h("option", { value: String(value), selected: String(value) === String(selected) }, label));
  }
  return element;
}

// A titled panel; `wide` spans the whole grid row.
export function card(title, { wide = false, id, subtitle } = {}, ...children) {
  return h("section", { class: wide ? "card wide" : "card", id, dataset: id ? { card: id } : undefined },
    h("h2", {}, title),
    subtitle ? h("p", { class: "subtitle" }, subtitle) : null,
    ...children);
}

// A message box: kind is "note" (informational) or "error".
export function message(kind, text) {
  return h("div", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
}

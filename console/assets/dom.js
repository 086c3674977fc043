// Small DOM helpers. Text is always set as text, never parsed as HTML, so
// strings from customers (names, notes) and from their machines (host
// names, user names) cannot inject markup.

/**
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/** @param {HTMLElement} el @param {...(Node|string)} children */
export function replace(el, ...children) {
  el.replaceChildren(...children);
}

/**
 * A <select> with options given as [value, label] pairs.
 * @param {Record<string, any>} attrs
 * @param {Array<[string|number, string]>} options
 * @param {string|number|null|undefined} [value]
 */
export function select(attrs, options, value) {
  const v = value === undefined || value === null ? '' : String(value);
  return h('select', attrs, ...options.map(([val, label]) => h('option', { value: String(val), selected: String(val) === v }, label)));
}

/**
 * Replaces a <select>'s options, keeping the chosen value when it is still
 * there.
 * @param {HTMLSelectElement} sel
 * @param {Array<[string|number, string]>} options
 * @param {string} [value]
 */
export function setOptions(sel, options, value = sel.value) {
  sel.replaceChildren(...options.map(([val, label]) => h('option', { value: String(val) }, label)));
  if (options.some(([val]) => String(val) === value)) sel.value = value;
}

/**
 * Calls fn once the calls stop for ms milliseconds.
 * @template {any[]} A
 * @param {(...args: A) => void} fn
 * @param {number} ms
 * @returns {(...args: A) => void}
 */
export function debounce(fn, ms) {
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

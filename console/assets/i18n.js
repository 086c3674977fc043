// Console texts in Dutch, French and English, from the relay's catalog.

/** @type {Record<string, Record<string, string>>} */
let catalog = {};
let lang = 'nl';

export const languages = ['nl', 'fr', 'en'];

/** Loads the catalog and picks the language: saved choice, then browser. */
export async function load() {
  const res = await fetch('/i18n.json');
  catalog = await res.json();
  const saved = localStorage.getItem('meekijk.lang');
  const browser = (navigator.language || 'nl').slice(0, 2);
  lang = languages.includes(saved || '') ? /** @type {string} */ (saved) : languages.includes(browser) ? browser : 'nl';
  document.documentElement.lang = lang;
}

export function current() { return lang; }

/**
 * Uses the user's own language unless they chose one in this browser.
 * @param {string} l
 */
export function preferUserLanguage(l) {
  if (localStorage.getItem('meekijk.lang') || !languages.includes(l)) return;
  lang = l;
  document.documentElement.lang = l;
}

/** @param {string} l */
export function setLanguage(l) {
  if (!languages.includes(l)) return;
  lang = l;
  localStorage.setItem('meekijk.lang', l);
  document.documentElement.lang = l;
}

/**
 * @param {string} key
 * @param {Record<string, string|number>} [params]
 */
export function t(key, params = {}) {
  const entry = catalog['console.' + key];
  const text = entry ? (entry[lang] || entry.nl) : key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

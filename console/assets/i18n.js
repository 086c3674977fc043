// Console texts in Dutch, French and English, from the relay's catalog, and
// numbers, amounts and dates in the page's language.

/** @type {Record<string, Record<string, string>>} */
let catalog = {};
let lang = 'nl';
/** The catalog prefix of this page's own texts: t('x') is tr(prefix + 'x'). */
let prefix = 'console.';
/**
 * The desk's time zone (its calendar's): moments are shown in it, with
 * the zone's name, whatever zone the browser is in. Undefined until known.
 * @type {string|undefined}
 */
let zone;

/** @param {string} z an IANA zone, "Europe/Brussels" */
export function setTimeZone(z) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: z });
    zone = z;
  } catch {
    // An unknown zone leaves the browser's: still labelled below.
  }
}

export const languages = ['nl', 'fr', 'en'];

/**
 * Loads the catalog and picks the language: saved choice, then browser.
 * The customer portal loads its own catalog, whose texts start "portal.".
 */
export async function load(url = '/i18n.json', textPrefix = 'console.') {
  prefix = textPrefix;
  catalog = await fetchCatalog(url);
  const saved = localStorage.getItem('meekijk.lang');
  const browser = (navigator.language || 'nl').slice(0, 2);
  lang = languages.includes(saved || '') ? /** @type {string} */ (saved) : languages.includes(browser) ? browser : 'nl';
  document.documentElement.lang = lang;
}

/**
 * The catalog, asked for again a few times over some seconds: a change of
 * network aborts the requests in flight, and without texts there is no page.
 * @returns {Promise<Record<string, Record<string, string>>>}
 */
/** @param {string} url */
async function fetchCatalog(url) {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return await res.json();
    } catch (err) {
      if (attempt === 4) throw new Error(`load the texts: ${err}`);
      await new Promise((done) => setTimeout(done, 250 * 2 ** attempt));
    }
  }
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

/**
 * Shows the page in l without remembering it in this browser: the portal
 * keeps its person's language on their contact instead.
 * @param {string} l
 */
export function showLanguage(l) {
  if (!languages.includes(l)) return;
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
 * Any catalog text by its full key ("ticket.status.new", "reason.no_contract").
 * A key missing from the catalog shows as itself, so it is easy to spot.
 * @param {string} key
 * @param {Record<string, string|number>} [params]
 */
export function tr(key, params = {}) {
  const entry = catalog[key];
  const text = entry ? (entry[lang] || entry.nl || key) : key;
  return fill(text, lang, params);
}

/**
 * Fills a catalog text's placeholders: {name}, and {name|one|other} for a
 * count, whose form follows the language's plural rules with # for the
 * number (internal/i18n does the same for texts worded by the relay).
 * @param {string} text
 * @param {string} language
 * @param {Record<string, string|number>} params
 */
function fill(text, language, params) {
  const rules = new Intl.PluralRules(language);
  return text.replace(/\{(\w+)(?:\|([^{}|]*)\|([^{}|]*))?\}/g, (m, name, one, other) => {
    if (!(name in params)) return m;
    const v = params[name];
    if (one === undefined) return String(v);
    return (rules.select(Number(v)) === 'one' ? one : other).replaceAll('#', String(v));
  });
}

/**
 * A text of this page: the key without its prefix ("console.", "portal.").
 * @param {string} key
 * @param {Record<string, string|number>} [params]
 */
export function t(key, params = {}) {
  if (prefix + key in catalog) return tr(prefix + key, params);
  // A text not in the catalog yet shows as its key, with what it would say.
  const values = Object.values(params);
  return values.length ? `${key} (${values.join(', ')})` : key;
}

/**
 * Whether the catalog has a text for the full key.
 * @param {string} key
 */
export function has(key) { return key in catalog; }

/**
 * Whether t has a text for the key (without its prefix).
 * @param {string} key
 */
export function known(key) { return prefix + key in catalog; }

/**
 * An amount in cents as euros, in the page's number format.
 * @param {number} cents
 */
export function money(cents) {
  return new Intl.NumberFormat(lang, { style: 'currency', currency: 'EUR' }).format(cents / 100);
}

/**
 * A moment (RFC 3339) as date and time in the page's language.
 * @param {string|undefined|null} iso
 */
export function dateTime(iso) {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(lang, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
    timeZone: zone, timeZoneName: 'short' }).format(new Date(iso));
}

/** The zone moments are shown and typed in: the desk's, else the browser's. */
export function zoneName() {
  return zone || Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * The wall-clock parts of a moment in the desk's zone.
 * @param {number} ms
 */
function wallClock(ms) {
  /** @type {Record<string, number>} */
  const p = {};
  for (const { type, value } of new Intl.DateTimeFormat('en', { timeZone: zoneName(), hourCycle: 'h23',
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(ms))) {
    if (type !== 'literal') p[type] = Number(value);
  }
  return p;
}

/**
 * A moment (RFC 3339) as the value of a datetime-local input in the desk's
 * zone, which the field's label names: the browser's own zone would make
 * "10:00" mean another hour for a technician abroad or on a server in UTC.
 * @param {string|null|undefined} iso
 */
export function zoneInput(iso) {
  if (!iso) return '';
  const w = wallClock(new Date(iso).getTime());
  const p = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${w.year}-${p(w.month)}-${p(w.day)}T${p(w.hour)}:${p(w.minute)}`;
}

/**
 * A datetime-local value typed in the desk's zone as an RFC 3339 moment. A
 * time skipped by a clock change moves forward by the change, as clocks do.
 * @param {string} value "YYYY-MM-DDTHH:MM"
 */
export function fromZoneInput(value) {
  const [date, time] = value.split('T');
  const [y, mo, d] = date.split('-').map(Number);
  const [h, mi] = time.split(':').map(Number);
  const asUTC = Date.UTC(y, mo - 1, d, h, mi);
  /** @param {number} ms the zone's offset from UTC at ms */
  const offset = (ms) => {
    const w = wallClock(ms);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - ms;
  };
  // The offset at the guess may be the other side of a clock change from
  // the answer: correct once with the offset at the first answer.
  let ms = asUTC - offset(asUTC);
  ms = asUTC - offset(ms);
  return new Date(ms).toISOString();
}

/**
 * A calendar date (YYYY-MM-DD) in the page's language.
 * @param {string|undefined|null} ymd
 */
export function day(ymd) {
  if (!ymd) return '—';
  const [y, m, d] = ymd.split('-').map(Number);
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d)));
}

/**
 * The name of a weekday (0 = Sunday) in the page's language.
 * @param {number} weekday
 */
export function weekdayName(weekday) {
  // 2024-01-07 was a Sunday.
  return new Intl.DateTimeFormat(lang, { weekday: 'long', timeZone: 'UTC' }).format(new Date(Date.UTC(2024, 0, 7 + weekday)));
}

// Money and minutes as people type them. One parser and one formatter for
// every amount and minutes field of the console, so "85,50" and "85.50"
// mean the same € 85,50 everywhere, and an amount that could be read two
// ways ("1.234": a thousand or one euro?) is refused with the reason
// rather than guessed. The fields are plain text fields: a number field
// silently drops a comma in an English browser (85,50 became 8550).
import { h } from './dom.js';
import { t, money } from './i18n.js';
import { APIError } from './api.js';

/** Hourly rates outside this band (cents) ask "are you sure?" first. */
export const RATE_BAND = { min: 1500, max: 50000 };

/**
 * Why a text is not an amount: "empty", "ambiguous" or "invalid".
 */
export class AmountError extends Error {
  /** @param {'empty'|'ambiguous'|'invalid'} reason */
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

/**
 * Cents from an amount as typed: "85", "85,5", "85.50", "€ 1.234,50",
 * "1,234.50", "1 234,50". A single separator before exactly three digits
 * ("1.234", "1,234") is ambiguous and refused.
 * @param {string} text
 * @returns {number}
 */
export function parseAmount(text) {
  const s = String(text).replace(/[\s\u00a0\u202f€]/g, '');
  if (s === '') throw new AmountError('empty');
  let m;
  if (/^\d+$/.test(s)) return Number(s) * 100;
  if ((m = /^(\d+)[.,](\d{1,2})$/.exec(s))) return Number(m[1]) * 100 + Number(m[2].padEnd(2, '0'));
  if (/^\d{1,3}[.,]\d{3}$/.test(s)) throw new AmountError('ambiguous');
  // Grouped thousands, with the other separator (if any) for the cents.
  if ((m = /^(\d{1,3}(?:([.,])\d{3})+)(?:([.,])(\d{1,2}))?$/.exec(s)) && m[2] !== m[3]) {
    const euros = Number(m[1].replaceAll(m[2], ''));
    return euros * 100 + (m[4] ? Number(m[4].padEnd(2, '0')) : 0);
  }
  throw new AmountError('invalid');
}

/**
 * Whole minutes as typed, within [min, max]; throws AmountError.
 * @param {string} text
 * @param {number} min
 * @param {number} max
 */
export function parseMinutes(text, min, max) {
  const s = String(text).trim();
  if (s === '') throw new AmountError('empty');
  if (!/^\d+$/.test(s)) throw new AmountError('invalid');
  const n = Number(s);
  if (n < min || n > max) throw new AmountError('invalid');
  return n;
}

/**
 * An empty text field for an amount in euros, with what it will save
 * shown beside it as the user types ("= € 85,50").
 * @param {string} name
 * @returns {HTMLElement} the input and its read-back, in a span
 */
export function moneyInput(name) {
  const input = /** @type {HTMLInputElement} */ (h('input', { type: 'text', name, inputmode: 'decimal', autocomplete: 'off', class: 'amount' }));
  const echo = h('output', { class: 'amount-echo', 'data-echo-for': name });
  const show = () => {
    try {
      echo.textContent = '= ' + money(parseAmount(input.value));
      echo.dataset.state = 'ok';
    } catch (err) {
      echo.textContent = input.value.trim() === '' ? '' : amountText(/** @type {AmountError} */ (err));
      echo.dataset.state = 'error';
    }
  };
  input.addEventListener('input', show);
  show();
  return h('span', { class: 'amount-wrap' }, input, echo);
}

/**
 * A text field for whole minutes. The whole prefilled value is selected
 * on focus, so typing replaces it (30 then "45" gave 3045 before).
 * @param {Record<string, any>} attrs
 */
export function minutesInput(attrs) {
  const input = /** @type {HTMLInputElement} */ (h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off', class: 'minutes', ...attrs }));
  input.addEventListener('focus', () => input.select());
  // Chromium places the caret on mouseup after focus: keep the selection.
  input.addEventListener('mouseup', (e) => { if (input.selectionStart !== input.selectionEnd) e.preventDefault(); });
  return input;
}

/**
 * An error found in the page before anything is sent: status 0, its text
 * already in the page's language, shown at the field as it is.
 * @param {string} apiField
 * @param {string} code
 * @param {string} text
 */
function pageError(apiField, code, text) {
  return new APIError(0, { error: code, field: apiField, message: text });
}

/** @param {AmountError} err */
function amountText(err) {
  return err.reason === 'ambiguous' ? t('error.amount_ambiguous') : t('error.amount');
}

/**
 * Cents from a form's money field, or an error shown at the field
 * apiField. With band, an amount outside it must be submitted twice (the
 * field says why): a rate of € 8.550 an hour is likelier a typo than
 * meant.
 * @param {HTMLFormElement} f
 * @param {string} name the input's name
 * @param {string} apiField the field's name in the API, which errors name
 * @param {{min: number, max: number}} [band]
 */
export function readMoney(f, name, apiField, band) {
  const input = /** @type {HTMLInputElement} */ (f.elements.namedItem(name));
  let cents;
  try {
    cents = parseAmount(input.value);
  } catch (err) {
    const reason = /** @type {AmountError} */ (err).reason;
    throw pageError(apiField, reason === 'ambiguous' ? 'amount_ambiguous' : 'amount', amountText(/** @type {AmountError} */ (err)));
  }
  if (band && (cents < band.min || cents > band.max) && input.dataset.confirmed !== String(cents)) {
    input.dataset.confirmed = String(cents);
    throw pageError(apiField, 'amount_unusual', t('error.amount_unusual', { amount: money(cents), min: money(band.min), max: money(band.max) }));
  }
  return cents;
}

/**
 * Minutes from a form's field of hours, typed like an amount ("10",
 * "7,5", "7.25"), or an error shown at apiField.
 * @param {HTMLFormElement} f
 * @param {string} name
 * @param {string} apiField
 */
export function readHours(f, name, apiField) {
  const input = /** @type {HTMLInputElement} */ (f.elements.namedItem(name));
  try {
    // parseAmount reads hundredths; an hour has 60 minutes.
    return Math.round(parseAmount(input.value) * 60 / 100);
  } catch (err) {
    throw pageError(apiField, 'amount', amountText(/** @type {AmountError} */ (err)));
  }
}

/**
 * Minutes from a form's minutes field, or an error shown at apiField.
 * @param {HTMLFormElement} f
 * @param {string} name
 * @param {string} apiField
 * @param {number} min
 * @param {number} max
 */
export function readMinutes(f, name, apiField, min, max) {
  const input = /** @type {HTMLInputElement} */ (f.elements.namedItem(name));
  try {
    return parseMinutes(input.value, min, max);
  } catch {
    throw pageError(apiField, 'minutes', t('error.minutes', { min, max }));
  }
}

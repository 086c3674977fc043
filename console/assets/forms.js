// Forms: labelled fields with a place for their error, submission through
// the API, and the API's 400/409 answers shown next to the field they name.
import { h } from './dom.js';
import { t, known } from './i18n.js';
import { APIError } from './api.js';

/**
 * The labels of the API's fields, for an error shown away from its form:
 * a page names a field as its user knows it, never as the API spells it.
 * @type {Record<string, string>}
 */
const FIELD_LABELS = {
  vatNumber: 'customer.vat', email: 'user.email', name: 'customer.name', title: 'ticket.subject',
  customerId: 'ticket.customer', contactId: 'ticket.contact', centsPerHour: 'rate.amount',
  effectiveFrom: 'rate.from', overrideReason: 'session.override_reason', categoryId: 'ticket.category',
};

/**
 * A text for any error, for a line under a form or on a page.
 * @param {unknown} err
 */
export function errorText(err) {
  if (err instanceof APIError) {
    if (err.code === 'bad_credentials') return t('error.bad_credentials');
    if (err.code === 'throttled') return t('error.throttled', { seconds: err.retryAfter || 60 });
    // A cap on new sessions (too_many_live_codes, too_many_sessions_per_hour).
    if (err.code.startsWith('too_many_') && known(`error.${err.code}`)) return t(`error.${err.code}`, { seconds: err.retryAfter || 60 });
    if (err.code === 'invalid' && err.field) return FIELD_LABELS[err.field] ? t('error.invalid', { field: t(FIELD_LABELS[err.field]) }) : t('error.invalid_unnamed');
    if (err.code === 'not_found') return t('error.not_found');
    if (err.code === 'forbidden') return t('error.forbidden');
    // A page's own text for an error only it meets (the portal's
    // link_expired), rather than the API's English.
    if (known(`error.api.${err.code}`)) return t(`error.api.${err.code}`, { seconds: err.retryAfter || 60 });
    return t('error.generic', { message: err.message });
  }
  return t('error.generic', { message: String(err) });
}

/**
 * The text shown next to a field the API refused: the catalog's text for
 * this error on this field when it has one, else a general one naming the
 * field by its label. The API's own explanation is English and names
 * fields as the API spells them: it goes to the console's log, not to a
 * page in Dutch or French.
 * @param {APIError} err
 * @param {string} label
 */
function fieldErrorText(err, label) {
  if (err.status === 0) return err.detail;
  const specific = `error.${err.code}.${err.field}`;
  if (known(specific)) return t(specific);
  if (err.detail) console.info(`${err.field}: ${err.detail}`);
  return err.code === 'conflict' ? t('error.conflict', { field: label }) : t('error.invalid', { field: label });
}

/**
 * A labelled field; its error appears in the span after the control.
 * @param {string} label
 * @param {string} name the field's name in the API, which errors name
 * @param {HTMLElement} control
 * @param {Record<string, any>} [attrs]
 */
export function field(label, name, control, attrs = {}) {
  return h('label', { class: 'field', 'data-field': name, 'data-label': label, ...attrs },
    h('span', { class: 'label' }, label), control,
    h('span', { class: 'field-error', 'data-error-for': name, role: 'alert' }));
}

/**
 * A checkbox with its label to the right.
 * @param {string} label
 * @param {string} name
 * @param {boolean} checked
 * @param {Record<string, any>} [attrs]
 */
export function checkbox(label, name, checked, attrs = {}) {
  return h('label', { class: 'check', 'data-field': name },
    h('input', { type: 'checkbox', name, checked, ...attrs }), ' ', label,
    h('span', { class: 'field-error', 'data-error-for': name, role: 'alert' }));
}

/**
 * A form that the API validates (novalidate: no browser bubbles), with a
 * line for errors that name no field.
 * @param {Record<string, any>} attrs
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLFormElement}
 */
export function form(attrs, ...children) {
  return /** @type {HTMLFormElement} */ (h('form', { novalidate: true, ...attrs }, ...children,
    h('p', { class: 'error form-error', role: 'alert' })));
}

/** @param {HTMLElement} f */
export function clearErrors(f) {
  for (const el of f.querySelectorAll('[data-error-for], .form-error')) {
    el.textContent = '';
    delete (/** @type {HTMLElement} */ (el)).dataset.code;
  }
  for (const el of f.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/**
 * Shows err next to the field it names, or under the form.
 * @param {HTMLElement} f
 * @param {unknown} err
 */
export function showError(f, err) {
  if (err instanceof APIError && err.field) {
    const slot = /** @type {HTMLElement|null} */ (f.querySelector(`[data-error-for="${CSS.escape(err.field)}"]`));
    if (slot) {
      const wrap = /** @type {HTMLElement} */ (slot.closest('[data-field]'));
      slot.textContent = fieldErrorText(err, wrap?.dataset.label || err.field);
      slot.dataset.code = err.code;
      const control = wrap?.querySelector('input, select, textarea');
      if (control) {
        control.setAttribute('aria-invalid', 'true');
        /** @type {HTMLElement} */ (control).focus();
      }
      return;
    }
  }
  const general = /** @type {HTMLElement|null} */ (f.querySelector('.form-error'));
  if (general) {
    general.textContent = errorText(err);
    if (err instanceof APIError) general.dataset.code = err.code;
  }
}

/**
 * Runs fn on submit with the form's values; shows what fails.
 * @param {HTMLFormElement} f
 * @param {(data: FormData) => Promise<void>} fn
 */
export function onSubmit(f, fn) {
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(f);
    const buttons = [...f.querySelectorAll('button')];
    for (const b of buttons) b.disabled = true;
    try {
      await fn(new FormData(f));
    } catch (err) {
      showError(f, err);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  });
}

/**
 * A form field's trimmed text.
 * @param {FormData} data
 * @param {string} name
 */
export function str(data, name) {
  return String(data.get(name) || '').trim();
}

/**
 * A form field's id (0 for none).
 * @param {FormData} data
 * @param {string} name
 */
export function id(data, name) {
  return Number(data.get(name) || 0);
}

/** Today's date as YYYY-MM-DD in the browser's time zone. */
export function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

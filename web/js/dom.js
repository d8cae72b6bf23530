// A tiny DOM helper instead of a framework: h('tag#id.class', {attrs}, ...kids).
// Text is always set as text (never innerHTML), so data from the API cannot
// inject markup.

export function h(spec, attrs, ...kids) {
  // 'tag#id.class1.class2' (id and classes optional)
  const [head, ...classes] = spec.split('.');
  const [tag, id] = head.split('#');
  const el = document.createElement(tag || 'div');
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    kids.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'class') {
      el.className = [el.className, v].filter(Boolean).join(' ');
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

/// Replaces the children of `el`.
export function mount(el, ...kids) {
  el.replaceChildren();
  append(el, kids);
  return el;
}

/// A labelled form field: <label for> + control, for screen readers too.
let nextId = 0;
export function field(label, control, hint) {
  const id = control.id || `f${++nextId}`;
  control.id = id;
  const kids = [h('label', { for: id }, label), control];
  if (hint) {
    const hid = `${id}-hint`;
    control.setAttribute('aria-describedby', hid);
    kids.push(h('small.hint', { id: hid }, hint));
  }
  return h('div.field', kids);
}

/// <select> from [value, label] pairs.
export function select(options, value, attrs = {}) {
  return h('select', attrs,
    options.map(([v, label]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, label)));
}

export function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

/// Text inputs for Israeli dates and 24-hour times (a native date or time
/// input follows the browser's locale, e.g. mm/dd and AM/PM).
export function dateInput(attrs = {}) {
  return h('input', { type: 'text', inputmode: 'numeric', placeholder: 'dd/mm/yyyy', dir: 'ltr', autocomplete: 'off', ...attrs });
}

export function timeInput(attrs = {}) {
  return h('input', { type: 'text', inputmode: 'numeric', placeholder: 'HH:MM', dir: 'ltr', autocomplete: 'off', maxlength: '5', ...attrs });
}

/// Submits `form` through `handler` (async): the default is prevented, and
/// while the handler runs the form's submit buttons are disabled and show
/// a progress state (aria-busy, a spinner in CSS), so a slow save cannot
/// be sent twice and the user sees it is on its way.
export function onSubmit(form, handler) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    const buttons = [...form.querySelectorAll('button[type="submit"], button:not([type])')]
      .filter((b) => !b.disabled);
    form.setAttribute('aria-busy', 'true');
    for (const b of buttons) {
      b.disabled = true;
      b.setAttribute('aria-busy', 'true');
    }
    try {
      await handler(e);
    } finally {
      form.removeAttribute('aria-busy');
      for (const b of buttons) {
        b.removeAttribute('aria-busy');
        if (b.isConnected) b.disabled = false;
      }
    }
  });
}

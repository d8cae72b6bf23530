// Listings: the properties the office offers. A filtered, paginated list of
// cards (one column on a phone), a page per listing (an edit form for
// writers, the details for everyone else), a quick status change on each
// card, delete with an in-page confirmation, and CSV import and export.
// Filtering and paging are the server's.
import { h, mount, field, select, debounce, onSubmit } from './dom.js';
import { get, post, patch, del, qs } from './api.js';
import * as fmt from './fmt.js';
import { exportButton, importForm } from './csv.js';

const LIST_PAGE = 24;

export const LISTING_DEAL = { buy: 'למכירה', rent: 'להשכרה' };
export const LISTING_STATUS = { available: 'זמין', reserved: 'שמור', sold: 'נמכר', rented: 'הושכר' };
export const FEATURES = [
  ['parking', 'חניה'], ['elevator', 'מעלית'], ['safe_room', 'ממ"ד'], ['balcony', 'מרפסת'],
  ['storage', 'מחסן'], ['accessible', 'נגיש'], ['furnished', 'מרוהט'],
  ['air_conditioning', 'מיזוג'], ['garden', 'גינה'], ['renovated', 'משופץ'],
];
const FEATURE_LABEL = Object.fromEntries(FEATURES);
const PROPERTY_TYPE = {
  apartment: 'דירה', garden_apartment: 'דירת גן', penthouse: 'פנטהאוז', duplex: 'דופלקס',
  studio: 'סטודיו', house: 'בית פרטי', cottage: 'קוטג\'', land: 'מגרש', office: 'משרד', store: 'חנות',
};

/// "‏2,450,000 ₪", or "‏6,500 ₪ לחודש" for rent; "" without a price.
export function price(l) {
  if (l.price === null || l.price === undefined || l.price === '') return '';
  return `${fmt.shekels(l.price)}${l.deal === 'rent' ? ' לחודש' : ''}`;
}

export function roomsText(rooms) {
  if (rooms === null || rooms === undefined || rooms === '') return '';
  const n = Number(rooms);
  return n === 1 ? 'חדר אחד' : `${n.toLocaleString('he-IL')} חדרים`;
}

/// The first photo as a thumbnail, or a placeholder (also when the image
/// cannot be loaded).
export function thumb(l) {
  const none = () => h('div.thumb.no-photo', { 'aria-hidden': 'true' }, 'אין תמונה');
  const src = (l.photos || []).find((p) => typeof p === 'string' && p.trim());
  if (!src) return none();
  const img = h('img.thumb', {
    src, alt: `תמונה של ${l.title || 'הנכס'}`, loading: 'lazy', decoding: 'async',
    referrerpolicy: 'no-referrer', width: '160', height: '120',
  });
  img.addEventListener('error', () => img.replaceWith(none()), { once: true });
  return img;
}

export function statusPill(status) {
  return h(`span.pill.ls-${status}`, LISTING_STATUS[status] || status);
}

export async function render(view, ctx, { arg, query }) {
  if (arg === 'new') {
    if (!ctx.canWrite) {
      mount(view, h('p.empty', { role: 'alert' }, 'אין לך הרשאה להוסיף נכסים.'));
      return null;
    }
    return renderOne(view, ctx, null);
  }
  if (arg) {
    const id = Number(arg);
    if (!Number.isInteger(id) || id <= 0) {
      mount(view, h('p.empty', { role: 'alert' }, 'מספר נכס לא תקין.'));
      return null;
    }
    return renderOne(view, ctx, await get(`/api/crm/listings/${id}`));
  }
  return renderList(view, ctx, query);
}

// -- the list -------------------------------------------------------------------

const FILTERS = ['q', 'deal', 'city', 'rooms_min', 'rooms_max', 'price_max', 'status'];

async function renderList(view, ctx, query) {
  const state = { page: Math.max(1, Number(query.get('page')) || 1) };
  for (const k of FILTERS) state[k] = query.get(k) || '';
  const num = (name, value, attrs = {}) => h('input', {
    type: 'number', name, value, min: '0', dir: 'ltr', inputmode: 'decimal', autocomplete: 'off', ...attrs,
  });
  const inputs = {
    q: h('input', { type: 'search', name: 'q', value: state.q, autocomplete: 'off' }),
    deal: select([['', 'הכול'], ...Object.entries(LISTING_DEAL)], state.deal, { name: 'deal' }),
    city: h('input', { name: 'city', value: state.city, autocomplete: 'off' }),
    rooms_min: num('rooms_min', state.rooms_min, { step: '0.5', max: '99' }),
    rooms_max: num('rooms_max', state.rooms_max, { step: '0.5', max: '99' }),
    price_max: num('price_max', state.price_max, { step: '1', inputmode: 'numeric' }),
    status: select([['', 'כל המצבים'], ...Object.entries(LISTING_STATUS)], state.status, { name: 'status' }),
  };
  const cards = h('ul.listing-cards', { 'aria-label': 'נכסים' });
  const summary = h('p.summary', { role: 'status', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button' }, 'הקודם');
  const next = h('button', { type: 'button' }, 'הבא');
  const pageInfo = h('span.page-info');
  const filters = () => Object.fromEntries(FILTERS.map((k) => [k, state[k]]));
  mount(view,
    h('header.page-head', h('h1', 'נכסים'),
      h('div.actions',
        ctx.canWrite ? h('a#new-listing.button.primary', { href: '#/listings/new' }, 'נכס חדש') : null,
        exportButton(ctx, { path: () => `/api/crm/listings.csv${qs(filters())}`, filename: 'listings.csv' }))),
    ctx.canWrite ? importForm(ctx, {
      id: 'listings-import',
      title: 'ייבוא נכסים מקובץ CSV',
      path: '/api/crm/listings/import',
      hint: 'שורת כותרות בעברית או באנגלית (למשל כותרת, עסקה, עיר, חדרים, מחיר, מספר מודעה). נכס עם מזהה חיצוני קיים מתעדכן.',
      done: () => load(),
    }) : null,
    h('form.filters.filter-grid', { role: 'search', 'aria-label': 'סינון נכסים', onsubmit: (e) => e.preventDefault() },
      field('חיפוש חופשי', inputs.q), field('עסקה', inputs.deal), field('עיר', inputs.city),
      field('חדרים מ־', inputs.rooms_min), field('חדרים עד', inputs.rooms_max),
      field('מחיר עד (₪)', inputs.price_max), field('מצב', inputs.status)),
    summary,
    cards,
    h('nav.pager', { 'aria-label': 'דפדוף' }, prev, pageInfo, next));

  let seq = 0;
  async function load() {
    const my = ++seq;
    history.replaceState(null, '', `#/listings${qs({ ...filters(), page: state.page > 1 ? state.page : '' })}`);
    let res;
    try {
      res = await get(`/api/crm/listings${qs({ ...filters(), page: state.page, per_page: LIST_PAGE })}`);
    } catch (err) {
      if (my === seq) ctx.fail('טעינת הנכסים נכשלה', err);
      return;
    }
    if (my !== seq) return; // a newer search answered first
    const pages = Math.max(1, Math.ceil(res.total / LIST_PAGE));
    summary.textContent = res.total === 0 ? 'לא נמצאו נכסים.' : `נמצאו ${res.total.toLocaleString('he-IL')} נכסים`;
    pageInfo.textContent = `עמוד ${state.page} מתוך ${pages}`;
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pages;
    mount(cards, res.items.map((l) => card(ctx, l)));
  }
  const reload = () => { state.page = 1; load(); };
  for (const [k, el] of Object.entries(inputs)) {
    if (el.tagName === 'SELECT') {
      el.addEventListener('change', () => { state[k] = el.value; reload(); });
    } else {
      el.addEventListener('input', debounce(() => {
        const v = el.value.trim();
        if (el.type === 'number' && v !== '' && !Number.isFinite(Number(v))) return;
        state[k] = v;
        reload();
      }, 300));
    }
  }
  prev.addEventListener('click', () => { state.page -= 1; load(); });
  next.addEventListener('click', () => { state.page += 1; load(); });
  await load();
  return null;
}

function card(ctx, l) {
  const pill = statusPill(l.status);
  const meta = [LISTING_DEAL[l.deal] || l.deal, PROPERTY_TYPE[l.property_type] || l.property_type,
    [l.neighborhood, l.city].filter(Boolean).join(', '), roomsText(l.rooms),
    l.size_sqm != null ? `${l.size_sqm} מ"ר` : null].filter(Boolean).join(' · ');
  let quick = null;
  if (ctx.canWrite) {
    const sel = select(Object.entries(LISTING_STATUS), l.status,
      { class: 'status-select', 'aria-label': `מצב הנכס: ${l.title}` });
    sel.addEventListener('change', async () => {
      const before = l.status;
      sel.disabled = true;
      try {
        const saved = await patch(`/api/crm/listings/${l.id}`, { status: sel.value });
        l.status = saved.status;
        pill.replaceWith(statusPill(saved.status));
        ctx.toast(`מצב הנכס עודכן ל"${LISTING_STATUS[saved.status] || saved.status}".`);
      } catch (err) {
        sel.value = before;
        ctx.fail('עדכון מצב הנכס נכשל', err);
      } finally {
        sel.disabled = false;
        sel.focus();
      }
    });
    quick = sel;
  }
  const matches = Number(l.matching_leads || 0);
  return h('li.listing-card', { dataset: { id: l.id, status: l.status } },
    h('a.thumb-link', { href: `#/listings/${l.id}`, tabindex: '-1', 'aria-hidden': 'true' }, thumb(l)),
    h('div.listing-body',
      h('a.card-title', { href: `#/listings/${l.id}` }, l.title || `נכס ${l.id}`),
      meta ? h('span.card-meta', meta) : null,
      h('span.listing-price', price(l) || 'מחיר לא צוין'),
      h('div.card-foot',
        pill,
        h('span.matches', { title: 'לידים שהנכס מתאים להם' },
          matches === 1 ? 'ליד מתאים אחד' : `${matches.toLocaleString('he-IL')} לידים מתאימים`),
        quick)));
}

// -- one listing: the form (writers) or the details ----------------------------

function renderOne(view, ctx, listing) {
  const title = h('h1', listing ? listing.title : 'נכס חדש');
  const head = h('header.page-head', title, listing ? statusPill(listing.status) : null);
  const body = h('div.listing-page');
  mount(view, h('p.breadcrumb', h('a', { href: '#/listings' }, '→ לכל הנכסים')), head, body);
  if (!ctx.canWrite) {
    mount(body, details(listing));
    return null;
  }
  const changed = (l) => {
    listing = l;
    title.textContent = l.title;
    head.querySelector('.pill')?.replaceWith(statusPill(l.status));
  };
  mount(body, listingForm(ctx, listing, changed), listing ? deleteBox(ctx, () => listing) : null);
  return null;
}

function details(l) {
  const row = (label, value) => (value === '' || value === null || value === undefined
    ? null : [h('dt', label), h('dd', value)]);
  const photos = (l.photos || []).filter(Boolean);
  return h('section.card', { 'aria-label': 'פרטי הנכס' },
    photos.length ? h('ul.photo-strip', photos.slice(0, 8).map((p, i) => h('li',
      h('a', { href: p, target: '_blank', rel: 'noopener noreferrer' }, thumb({ title: `${l.title} (${i + 1})`, photos: [p] }))))) : null,
    h('dl.details',
      row('עסקה', LISTING_DEAL[l.deal] || l.deal),
      row('סוג נכס', PROPERTY_TYPE[l.property_type] || l.property_type),
      row('מחיר', price(l)),
      row('עיר', l.city), row('שכונה', l.neighborhood), row('רחוב', l.street),
      row('חדרים', l.rooms != null ? Number(l.rooms).toLocaleString('he-IL') : ''),
      row('קומה', l.floor != null ? String(l.floor) : ''),
      row('שטח', l.size_sqm != null ? `${l.size_sqm} מ"ר` : ''),
      row('מאפיינים', (l.features || []).map((f) => FEATURE_LABEL[f] || f).join(', ')),
      row('מזהה חיצוני', l.external_ref ? h('bdi', { dir: 'ltr' }, l.external_ref) : ''),
      row('מספר מעקב', l.tracking_number ? h('bdi', { dir: 'ltr' }, fmt.phone(l.tracking_number)) : ''),
      row('לידים מתאימים', String(l.matching_leads ?? 0)),
      row('עודכן', fmt.dateTime(l.updated_at))),
    l.description ? h('p.description', { dir: 'auto' }, l.description) : null);
}

/// Which form control a server error is about ("price must be...").
const FIELD_OF_ERROR = /\b(title|deal|property_type|city|neighborhood|street|rooms|floor|size_sqm|price|status|description|features|photos|external_ref|tracking_number)\b/;

function listingForm(ctx, l, changed) {
  const v = (x) => (x === null || x === undefined ? '' : String(x));
  const types = Object.entries(PROPERTY_TYPE);
  if (l?.property_type && !PROPERTY_TYPE[l.property_type]) types.push([l.property_type, l.property_type]);
  const inputs = {
    title: h('input', { name: 'title', value: v(l?.title), required: true, maxlength: '200', autocomplete: 'off', dir: 'auto' }),
    deal: select([['', 'בחירה…'], ...Object.entries(LISTING_DEAL)], l?.deal || '', { name: 'deal', required: true }),
    property_type: select([['', '—'], ...types], l?.property_type || '', { name: 'property_type' }),
    city: h('input', { name: 'city', value: v(l?.city), autocomplete: 'off', dir: 'auto' }),
    neighborhood: h('input', { name: 'neighborhood', value: v(l?.neighborhood), autocomplete: 'off', dir: 'auto' }),
    street: h('input', { name: 'street', value: v(l?.street), autocomplete: 'off', dir: 'auto' }),
    rooms: h('input', { name: 'rooms', type: 'number', min: '0', max: '99.5', step: '0.5', inputmode: 'decimal', dir: 'ltr', value: v(l?.rooms) }),
    floor: h('input', { name: 'floor', type: 'number', min: '-10', max: '200', step: '1', inputmode: 'numeric', dir: 'ltr', value: v(l?.floor) }),
    size_sqm: h('input', { name: 'size_sqm', type: 'number', min: '0', step: '1', inputmode: 'numeric', dir: 'ltr', value: v(l?.size_sqm) }),
    price: h('input', { name: 'price', type: 'number', min: '0', step: '1', inputmode: 'numeric', dir: 'ltr', value: v(l?.price) }),
    status: select(Object.entries(LISTING_STATUS), l?.status || 'available', { name: 'status' }),
    description: h('textarea', { name: 'description', rows: '4', maxlength: '10000', dir: 'auto', value: v(l?.description) }),
    photos: h('textarea', { name: 'photos', rows: '3', dir: 'ltr', spellcheck: 'false', value: (l?.photos || []).join('\n') }),
    external_ref: h('input', { name: 'external_ref', value: v(l?.external_ref), autocomplete: 'off', dir: 'ltr' }),
    tracking_number: h('input', { name: 'tracking_number', type: 'tel', value: v(l?.tracking_number), autocomplete: 'off', dir: 'ltr' }),
  };
  const have = new Set(l?.features || []);
  const boxes = FEATURES.map(([key, label]) => {
    const box = h('input', { type: 'checkbox', name: 'features', value: key, checked: have.has(key) });
    return { key, box, el: h('label.feature', box, ' ', label) };
  });
  const error = h('p.form-error', { role: 'alert' });
  const save = h('button.primary', { type: 'submit' }, l ? 'שמירת הנכס' : 'הוספת הנכס');
  const progress = h('progress.busy', { hidden: true, 'aria-label': 'שומר' });
  const form = h('form.card.listing-form', { 'aria-label': l ? 'עריכת הנכס' : 'נכס חדש', novalidate: true },
    field('כותרת', inputs.title),
    h('div.row', field('עסקה', inputs.deal), field('סוג נכס', inputs.property_type), field('מצב', inputs.status)),
    h('div.row', field('עיר', inputs.city), field('שכונה', inputs.neighborhood), field('רחוב', inputs.street)),
    h('div.row', field('חדרים', inputs.rooms), field('קומה', inputs.floor), field('שטח (מ"ר)', inputs.size_sqm)),
    field('מחיר (₪)', inputs.price, 'בשקלים שלמים; בהשכרה — לחודש.'),
    h('fieldset.features', h('legend', 'מאפיינים'), h('div.feature-grid', boxes.map((b) => b.el))),
    field('תיאור', inputs.description),
    field('תמונות', inputs.photos, 'כתובת (URL) אחת בכל שורה; הראשונה מוצגת ברשימה.'),
    h('div.row', field('מזהה חיצוני', inputs.external_ref, 'מספר המודעה בפורטל (למשל yad2-123); לפיו מתעדכן נכס בייבוא.'),
      field('מספר מעקב', inputs.tracking_number, 'מספר טלפון ייעודי למודעה: שיחות אליו משויכות לנכס.')),
    error,
    h('div.actions', save, progress));

  const invalid = (input, text) => {
    input.setAttribute('aria-invalid', 'true');
    error.textContent = text;
    input.focus();
    return null;
  };
  function collect() {
    for (const el of Object.values(inputs)) el.removeAttribute('aria-invalid');
    error.textContent = '';
    const text = (el) => el.value.trim();
    const orNull = (el) => text(el) || null;
    const number = (el, label, integer) => {
      const s = text(el);
      if (el.validity?.badInput) {
        invalid(el, `${label}: יש להזין ${integer ? 'מספר שלם' : 'מספר'}.`);
        return undefined;
      }
      if (s === '') return null;
      const n = Number(s);
      if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
        invalid(el, `${label}: יש להזין ${integer ? 'מספר שלם' : 'מספר'}.`);
        return undefined;
      }
      return n;
    };
    if (!text(inputs.title)) return invalid(inputs.title, 'יש למלא כותרת.');
    if (!inputs.deal.value) return invalid(inputs.deal, 'יש לבחור עסקה: מכירה או השכרה.');
    const rooms = number(inputs.rooms, 'חדרים', false);
    if (rooms === undefined) return null;
    if (rooms !== null && (rooms < 0 || rooms * 2 !== Math.round(rooms * 2))) {
      return invalid(inputs.rooms, 'חדרים: מספר בקפיצות של חצי (למשל 3.5).');
    }
    const floor = number(inputs.floor, 'קומה', true);
    if (floor === undefined) return null;
    const size = number(inputs.size_sqm, 'שטח', true);
    if (size === undefined) return null;
    const amount = number(inputs.price, 'מחיר', true);
    if (amount === undefined) return null;
    if (amount !== null && amount < 0) return invalid(inputs.price, 'מחיר: לא יכול להיות שלילי.');
    const photos = inputs.photos.value.split(/\r?\n/).map((p) => p.trim()).filter(Boolean);
    const bad = photos.find((p) => !/^https?:\/\/\S+$/i.test(p));
    if (bad) return invalid(inputs.photos, `תמונות: "${bad}" אינה כתובת http(s) תקינה.`);
    return {
      title: text(inputs.title),
      deal: inputs.deal.value,
      property_type: inputs.property_type.value || null,
      city: orNull(inputs.city),
      neighborhood: orNull(inputs.neighborhood),
      street: orNull(inputs.street),
      rooms,
      floor,
      size_sqm: size,
      price: amount,
      status: inputs.status.value,
      description: inputs.description.value.trim(),
      features: boxes.filter((b) => b.box.checked).map((b) => b.key),
      photos,
      external_ref: orNull(inputs.external_ref),
      tracking_number: orNull(inputs.tracking_number),
    };
  }

  let busy = false;
  onSubmit(form, async (e) => {
    e.preventDefault();
    if (busy) return;
    const body = collect();
    if (!body) return;
    busy = true;
    save.disabled = true;
    save.textContent = 'שומר…';
    form.setAttribute('aria-busy', 'true');
    progress.hidden = false;
    try {
      if (l) {
        const saved = await patch(`/api/crm/listings/${l.id}`, body);
        l = saved;
        changed(saved);
        ctx.toast('הנכס נשמר.');
      } else {
        const created = await post('/api/crm/listings', body);
        ctx.toast(`הנכס "${created.title}" נוסף.`);
        ctx.navigate(`#/listings/${created.id}`);
      }
    } catch (err) {
      // Beside the button, not in a toast over the form; the field the
      // server names gets the focus.
      error.textContent = err.explain ? err.explain('שמירת הנכס נכשלה') : `שמירת הנכס נכשלה: ${err.message}`;
      const key = FIELD_OF_ERROR.exec(err.detail || '')?.[1];
      const target = key === 'features' ? boxes[0].box : inputs[key];
      if (target) {
        target.setAttribute('aria-invalid', 'true');
        target.focus();
      }
    } finally {
      busy = false;
      save.disabled = false;
      save.textContent = l ? 'שמירת הנכס' : 'הוספת הנכס';
      form.removeAttribute('aria-busy');
      progress.hidden = true;
    }
  });
  return form;
}

function deleteBox(ctx, current) {
  const ask = h('button.danger', { type: 'button' }, 'מחיקת הנכס');
  const yes = h('button.danger', { type: 'button' }, 'כן, למחוק');
  const no = h('button', { type: 'button' }, 'ביטול');
  const question = h('p');
  const confirmBox = h('div.confirm', { role: 'group', 'aria-label': 'אישור מחיקה', hidden: true }, question, yes, no);
  ask.addEventListener('click', () => {
    question.textContent = `למחוק את "${current().title}"? הנכס ייעלם מהרשימה ומהחיפוש (השיחות שהזכירו אותו נשארות).`;
    ask.hidden = true;
    confirmBox.hidden = false;
    no.focus();
  });
  no.addEventListener('click', () => {
    confirmBox.hidden = true;
    ask.hidden = false;
    ask.focus();
  });
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    no.disabled = true;
    yes.textContent = 'מוחק…';
    try {
      await del(`/api/crm/listings/${current().id}`);
      ctx.toast('הנכס נמחק.');
      ctx.navigate('#/listings');
    } catch (err) {
      ctx.fail('מחיקת הנכס נכשלה', err);
      yes.disabled = false;
      no.disabled = false;
      yes.textContent = 'כן, למחוק';
    }
  });
  return h('section.card.delete-box', { 'aria-label': 'מחיקה' }, ask, confirmBox);
}

// One lead: its details (editable by writers), the timeline of its calls
// (each opens on its after-call summary with the extracted fields, then the
// whole-call recording beside the speaker-labelled transcript, the caller's
// audio segments; audio plays through blob URLs fetched with the token),
// WhatsApp messages with a reply box,
// payments with "send payment link", notes and tasks; the listings that fit
// the lead, each with "send on WhatsApp".
import { h, mount, field, select, dateInput, timeInput, onSubmit } from './dom.js';
import { get, post, patch, qs, audioUrl } from './api.js';
import * as fmt from './fmt.js';
import { SOURCE, DEAL } from './page-leads.js';
import { CALL_STATUS, ENGINE } from './page-live.js';
import { price as listingPrice, roomsText, thumb, statusPill } from './page-listings.js';

const MSG_STATUS = {
  queued: 'בתור', sending: 'נשלחת', sent: 'נשלחה', delivered: 'נמסרה',
  read: 'נקראה', undelivered: 'לא נמסרה', failed: 'נכשלה', received: 'התקבלה',
};
const PAY_STATUS = { pending: 'ממתין לתשלום', paid: 'שולם', failed: 'נכשל', cancelled: 'בוטל' };
const ROLE = { caller: 'מתקשר', agent: 'נציג', user: 'מתקשר', assistant: 'נציג' };
const SIDE = { caller: 'caller', agent: 'agent', user: 'caller', assistant: 'agent' };

export async function render(view, ctx, { arg }) {
  const id = Number(arg);
  if (!Number.isInteger(id) || id <= 0) {
    mount(view, h('p.empty', { role: 'alert' }, 'מספר ליד לא תקין.'));
    return null;
  }
  const leadData = await get(`/api/crm/leads/${id}`);
  const urls = new Set(); // blob: URLs to revoke when leaving
  const sections = {
    details: h('section.card', { 'aria-labelledby': 'details-title' }),
    calls: h('section.card', { 'aria-labelledby': 'calls-title' }),
    matches: h('section.card', { 'aria-labelledby': 'matches-title' }),
    messages: h('section.card', { 'aria-labelledby': 'messages-title' }),
    payments: h('section.card', { 'aria-labelledby': 'payments-title' }),
    notes: h('section.card', { 'aria-labelledby': 'notes-title' }),
    tasks: h('section.card', { 'aria-labelledby': 'tasks-title' }),
  };
  const title = h('h1');
  const statusSel = select(ctx.pipeline.map((s) => [s.key, s.label]), leadData.status,
    { id: 'lead-status', disabled: !ctx.canWrite });
  mount(view,
    h('p.breadcrumb', h('a', { href: '#/leads' }, '→ לכל הלידים')),
    h('header.page-head', title, field('שלב', statusSel)),
    h('div.lead-grid',
      h('div.col-main', sections.calls, sections.matches, sections.messages, sections.payments),
      h('div.col-side', sections.details, sections.tasks, sections.notes)));

  let lead = leadData;
  function setTitle() {
    mount(title, lead.name || (lead.phone ? h('bdi', { dir: 'ltr' }, fmt.phone(lead.phone)) : `ליד ${lead.id}`));
  }
  setTitle();
  statusSel.addEventListener('change', async () => {
    const before = lead.status;
    try {
      lead = await patch(`/api/crm/leads/${id}`, { status: statusSel.value });
      ctx.toast(`השלב עודכן ל"${ctx.statusLabel(lead.status)}".`);
    } catch (err) {
      statusSel.value = before;
      ctx.fail('עדכון השלב נכשל', err);
    }
  });

  const reloadMatches = () => drawMatches(sections.matches, ctx, id, () => lead, reloadMessages)
    .catch((e) => ctx.fail('טעינת הנכסים המתאימים נכשלה', e));
  drawDetails(sections.details, ctx, lead, (l) => {
    const phoneChanged = l.phone !== lead.phone;
    lead = l;
    setTitle();
    statusSel.value = l.status;
    reloadMatches(); // what fits follows deal, city, rooms and budget
    if (phoneChanged) reloadMessages();
  });
  const reloadCalls = () => drawCalls(sections.calls, ctx, id, urls).catch((e) => ctx.fail('טעינת השיחות נכשלה', e));
  const reloadMessages = () => drawMessages(sections.messages, ctx, id, () => lead).catch((e) => ctx.fail('טעינת ההודעות נכשלה', e));
  const reloadPayments = () => drawPayments(sections.payments, ctx, id).catch((e) => ctx.fail('טעינת התשלומים נכשלה', e));
  await Promise.all([
    reloadCalls(), reloadMessages(), reloadPayments(), reloadMatches(),
    drawNotes(sections.notes, ctx, id).catch((e) => ctx.fail('טעינת ההערות נכשלה', e)),
    drawTasks(sections.tasks, ctx, id).catch((e) => ctx.fail('טעינת המשימות נכשלה', e)),
  ]);

  ctx.onEvent((kind, d) => {
    if (d.lead_id !== id) return;
    if (kind === 'message') reloadMessages();
    else if (kind === 'payment') reloadPayments();
    else if (kind === 'call' && !['ringing', 'in-progress'].includes(d.status)) reloadCalls();
  });
  return () => { for (const u of urls) URL.revokeObjectURL(u); };
}

// -- details ------------------------------------------------------------------

function drawDetails(sec, ctx, lead, changed) {
  const ro = !ctx.canWrite;
  const inputs = {
    name: h('input', { value: lead.name || '', disabled: ro, autocomplete: 'off' }),
    phone: h('input', { value: lead.phone || '', type: 'tel', dir: 'ltr', disabled: ro, autocomplete: 'off' }),
    deal: select([['', '—'], ...Object.entries(DEAL)], lead.deal || '', { disabled: ro }),
    city: h('input', { value: lead.city || '', disabled: ro, autocomplete: 'off' }),
    rooms: h('input', { value: lead.rooms ?? '', type: 'number', min: '0', max: '99.5', step: '0.5', disabled: ro, inputmode: 'decimal' }),
    budget_min: h('input', { value: lead.budget_min ?? '', type: 'number', min: '0', step: '1000', disabled: ro, inputmode: 'numeric' }),
    budget_max: h('input', { value: lead.budget_max ?? '', type: 'number', min: '0', step: '1000', disabled: ro, inputmode: 'numeric' }),
    tags: h('input', { value: (lead.tags || []).join(', '), disabled: ro, autocomplete: 'off' }),
  };
  const form = h('form.stack', { 'aria-labelledby': 'details-title' },
    h('p.meta', `מקור: ${SOURCE[lead.source] || lead.source} · נוצר ${fmt.dateTime(lead.created_at)}`,
      lead.callback_at ? ` · לחזור ב־${fmt.dateTime(lead.callback_at)}` : ''),
    field('שם', inputs.name), field('טלפון', inputs.phone), field('עסקה', inputs.deal),
    field('עיר', inputs.city), field('חדרים', inputs.rooms),
    h('div.row', field('תקציב מ־ (₪)', inputs.budget_min), field('תקציב עד (₪)', inputs.budget_max)),
    field('תגיות', inputs.tags, 'מופרדות בפסיקים'),
    ro ? null : h('button.primary', { type: 'submit' }, 'שמירת הפרטים'));
  onSubmit(form, async (e) => {
    e.preventDefault();
    const num = (v) => (v.trim() === '' ? null : Number(v));
    const body = {
      name: inputs.name.value.trim(),
      phone: inputs.phone.value.trim() || null,
      deal: inputs.deal.value || null,
      city: inputs.city.value.trim() || null,
      rooms: num(inputs.rooms.value),
      budget_min: num(inputs.budget_min.value),
      budget_max: num(inputs.budget_max.value),
      tags: inputs.tags.value.split(',').map((t) => t.trim()).filter(Boolean),
    };
    try {
      const l = await patch(`/api/crm/leads/${lead.id}`, body);
      changed(l);
      ctx.toast('פרטי הליד נשמרו.');
    } catch (err) {
      ctx.fail('שמירת הפרטים נכשלה', err);
    }
  });
  mount(sec, h('h2#details-title', 'פרטים'), form);
}

// -- calls --------------------------------------------------------------------

async function drawCalls(sec, ctx, id, urls) {
  const res = await get(`/api/crm/calls${qs({ lead_id: id, per_page: 20 })}`);
  const list = h('ol.timeline');
  mount(sec, h('h2#calls-title', 'שיחות'),
    res.items.length ? list : h('p.empty', 'אין שיחות עם הליד הזה.'));
  res.items.forEach((c, n) => {
    const details = h(`div#call-details-${n}.call-details`);
    const open = h('button.link', { type: 'button', 'aria-expanded': 'false', 'aria-controls': details.id }, 'פרטי השיחה');
    const item = h('li.call', { dataset: { sid: c.sid } });
    open.addEventListener('click', async () => {
      const expanded = open.getAttribute('aria-expanded') === 'true';
      open.setAttribute('aria-expanded', String(!expanded));
      item.classList.toggle('open', !expanded);
      const gen = (details.gen || 0) + 1;
      details.gen = gen;
      if (expanded) { mount(details); return; }
      mount(details, h('p.loading', 'טוען…'));
      const current = () => details.gen === gen && details.isConnected;
      const load = () => get(`/api/crm/calls/${encodeURIComponent(c.sid)}`);
      let call;
      try {
        call = await load();
      } catch (err) {
        if (current()) mount(details);
        ctx.fail('טעינת פרטי השיחה נכשלה', err);
        return;
      }
      if (!current()) return;
      drawCall(details, ctx, call, urls);
      // While the transcript and summary are being made, look again now and
      // then (while this call stays open on screen), and draw them once
      // ready, though not under someone listening to the recording.
      for (let i = 0; i < 60 && afterCallWorking(call); i++) {
        await sleep(5000);
        if (!current()) return;
        let next;
        try { next = await load(); } catch { return; }
        if (!current()) return;
        if (afterCallWorking(next)) continue;
        while (current() && [...details.querySelectorAll('audio')].some((au) => !au.paused)) await sleep(2000);
        if (!current()) return;
        call = next;
        drawCall(details, ctx, call, urls);
      }
    });
    list.append(mount(item,
      h('div.call-head',
        h('strong', fmt.dateTime(c.created_at)),
        h('span', ` · ${fmt.duration(c.duration_s)} · ${ENGINE[c.engine] || c.engine} · `),
        h(`span.pill.st-${c.status}`, CALL_STATUS[c.status] || c.status),
        c.summary ? h('p.summary', c.summary) : null,
        open),
      details));
  });
}

function player(ctx, label, path, urls) {
  const wrap = h('div.player');
  const btn = h('button.play', { type: 'button' }, `▶ ${label}`);
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const url = await audioUrl(path);
      urls.add(url);
      const audio = h('audio', { controls: true, src: url, preload: 'auto', 'aria-label': label });
      mount(wrap, audio);
      audio.play().catch(() => { /* autoplay refused: the controls are there */ });
    } catch (err) {
      btn.disabled = false;
      ctx.fail(`השמעת "${label}" נכשלה`, err);
    }
  });
  wrap.append(btn);
  return wrap;
}

/// What happened on a call that an agent wants to see at a glance.
const CALL_EVENT = {
  transfer: (d) => `הועברה לנציג${d.reason ? ` (${d.reason})` : ''}: ${(d.numbers || []).join(', ')}`,
  transfer_refused: (d) => `בקשה לנציג מחוץ לשעות הפעילות${d.opens ? ` — נפתח ${d.opens}` : ''}`,
  transfer_unavailable: () => 'בקשה לנציג — לא הוגדרו מספרים להעברה',
  transfer_status: (d) => ({ completed: 'הנציג ענה', answered: 'הנציג ענה', busy: 'הנציג תפוס', 'no-answer': 'הנציג לא ענה', failed: 'ההעברה נכשלה', canceled: 'ההעברה בוטלה' }[d.status] || `העברה: ${d.status}`)
    + (d.duration ? ` · ${fmt.duration(Number(d.duration))}` : ''),
  silence_reprompt: () => 'המתקשר שתק — נשאל אם הוא עדיין על הקו',
  silence_goodbye: () => 'המתקשר שתק — השיחה הסתיימה בנימוס',
  engine_fallback: (d) => `המעבר לקול המובנה (${d.reason || ''})`,
};

/// The labelled facts the after-call summary extracted, in reading order.
const SENTIMENT = { positive: 'חיובי', neutral: 'ניטרלי', negative: 'שלילי' };
const SUMMARY_FIELDS = [
  ['deal', 'עסקה', (v) => DEAL[v] || v],
  ['city', 'עיר', (v) => v],
  ['rooms', 'חדרים', (v) => String(v)],
  ['budget', 'תקציב', budgetText],
  ['callback_time', 'מועד לחזרה', (v) => (/^\d{4}-\d{2}-\d{2}T/.test(v) ? fmt.dateTime(v) : v)],
  ['next_step', 'הצעד הבא', (v) => v],
];
/// A budget as ₪: a number, a numeric text, {min, max}, or words as said.
function budgetText(v) {
  const ils = (x) => (x !== null && x !== '' && Number.isFinite(Number(x)) ? fmt.shekels(Number(x)) : null);
  if (v && typeof v === 'object') {
    const [lo, hi] = [ils(v.min), ils(v.max)];
    if (lo && hi) return `${lo}–${hi}`;
    if (hi) return `עד ${hi}`;
    return lo ? `מ־${lo}` : '';
  }
  return ils(typeof v === 'string' ? v.replace(/[,\s₪]/g, '') : v) || String(v);
}
const blank = (v) => v === null || v === undefined || (typeof v === 'string' && !v.trim());

/// The summary on top: its text, the extracted fields as labelled chips and
/// the caller's sentiment as a coloured badge.
function callSummary(call) {
  const f = call.summary_fields && typeof call.summary_fields === 'object' ? call.summary_fields : {};
  const text = blank(f.summary) ? call.summary : f.summary;
  const chips = SUMMARY_FIELDS.filter(([k]) => !blank(f[k]))
    .map(([k, label, show]) => [k, label, String(show(f[k]))]).filter(([, , v]) => v.trim())
    .map(([k, label, v]) => h('li.fact', { dataset: { field: k } },
      h('span.fact-label', `${label}: `), h('bdi.fact-value', v)));
  const mood = SENTIMENT[f.sentiment] ? h(`span.pill.sentiment.sent-${f.sentiment}`,
    { dataset: { field: 'sentiment' } }, h('span.visually-hidden', 'רושם כללי: '), SENTIMENT[f.sentiment]) : null;
  if (blank(text) && !chips.length && !mood) return null;
  return h('div.call-summary', h('div.call-summary-head', h('h3', 'סיכום השיחה'), mood),
    blank(text) ? null : h('p.call-summary-text', { dir: 'auto' }, text),
    chips.length ? h('ul.facts', { 'aria-label': 'פרטים שעלו בשיחה' }, chips) : null);
}

/// Where the after-call work stands (nothing once it is done).
function afterCallState(call) {
  const a = call.after_call;
  if (!a || a.status === 'done') return null;
  if (a.status === 'pending' || a.status === 'running') {
    return h('p.after-call.working', { role: 'status', dataset: { status: a.status } }, 'מתמלל ומסכם…');
  }
  if (a.status === 'failed') {
    const tries = Number(a.attempts) || 0;
    return h('p.after-call.failed', { role: 'alert', dataset: { status: a.status } },
      `התמלול והסיכום נכשלו${tries ? ` אחרי ${tries === 1 ? 'ניסיון אחד' : `${tries} ניסיונות`}` : ''}`,
      a.error ? [': ', h('bdi', a.error)] : '', '.');
  }
  return null;
}

/// The whole-call recording, when the call has one.
function recordingPath(call) {
  if (call.recording_url) return call.recording_url;
  if (call.recording === true) return `/api/crm/calls/${encodeURIComponent(call.sid)}/recording`;
  return null;
}

const afterCallWorking = (call) => ['pending', 'running'].includes(call.after_call?.status);
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

function drawCall(el, ctx, call, urls) {
  const segs = call.segments || [];
  const transcript = call.transcript || [];
  const moments = (call.events || []).filter((e) => CALL_EVENT[e.kind]);
  const offered = (call.listings || []).filter((l) => l && l.id != null);
  const recording = recordingPath(call);
  const lines = transcript.filter((t) => !blank(t.text));
  mount(el,
    callSummary(call),
    afterCallState(call),
    recording || lines.length ? h(`div.call-media${recording && lines.length ? '.two' : ''}`,
      recording ? h('div.recording', h('h3', 'הקלטת השיחה'), player(ctx, 'הקלטת השיחה', recording, urls)) : null,
      lines.length ? h('div.transcript', h(`h3#${el.id}-transcript`, 'תמליל'),
        h('ol.transcript-lines', { tabindex: '0', 'aria-labelledby': `${el.id}-transcript` }, lines.map((t) => {
          const role = t.role || t.speaker || '';
          const who = ROLE[role] || role || 'דובר';
          return h(`li.line.role-${SIDE[role] || 'other'}`, { dataset: { seq: t.seq } },
            h('span.speaker', who), h('span.visually-hidden', ': '), h('span.said', { dir: 'auto' }, t.text));
        }))) : null) : null,
    offered.length ? h('div.call-listings', h('h3', 'נכסים שהוצעו בשיחה'),
      h('ul.chips', offered.map((l) => h('li', l.deleted
        ? h('span.chip.deleted', `${l.title || `נכס ${l.id}`} (נמחק)`)
        : h('a.chip', { href: `#/listings/${encodeURIComponent(l.id)}` }, l.title || `נכס ${l.id}`))))) : null,
    moments.length ? h('div.call-events', h('h3', 'מהלך השיחה'),
      h('ul.plain', moments.map((e) => h('li', { dataset: { kind: e.kind } },
        h('span.meta', `${fmt.time(e.at)} · `), CALL_EVENT[e.kind](e.detail || {}))))) : null,
    segs.length ? h('div.segments', h('h3', 'קטעי שמע של המתקשר'),
      h('ul.plain', segs.map((s) => h('li',
        player(ctx, `קטע ${s.seq} (${fmt.duration(s.duration_ms / 1000)})`, s.url, urls))))) : null,
    !segs.length && !recording && !transcript.length && !offered.length && !afterCallWorking(call)
      ? h('p.empty', 'אין שמע או תמליל לשיחה הזו.') : null);
}

// -- listings that fit ------------------------------------------------------------

/// The WhatsApp text offering listing `l` to `lead`.
export function offerText(lead, l) {
  const place = [l.neighborhood, l.city].filter(Boolean).join(', ');
  const facts = [listingPrice(l), roomsText(l.rooms), place].filter(Boolean).join(' · ');
  const photo = (l.photos || []).find(Boolean);
  return [
    `שלום${lead.name ? ` ${lead.name}` : ''}, יש לנו נכס שעשוי להתאים לך:`,
    l.title,
    facts || null,
    photo ? `תמונה: ${photo}` : null,
    'נשמח לתאם ביקור — אפשר להשיב להודעה הזו.',
  ].filter(Boolean).join('\n');
}

async function drawMatches(sec, ctx, id, leadNow, reloadMessages) {
  const res = await get(`/api/crm/leads/${id}/matches`);
  const items = res.items || [];
  const lead = leadNow();
  const kids = [h('h2#matches-title', 'נכסים מתאימים')];
  if (!items.length) {
    kids.push(h('p.empty', lead.deal || lead.city || lead.rooms != null || lead.budget_max != null
      ? 'אין כרגע נכסים זמינים שמתאימים לליד.'
      : 'אין כרגע נכסים מתאימים. מלאו עסקה, עיר, חדרים או תקציב כדי למצוא התאמות.'));
    mount(sec, kids);
    return;
  }
  if (ctx.canWrite && !lead.phone) kids.push(h('p.hint', 'לליד אין מספר טלפון, אי אפשר לשלוח וואטסאפ.'));
  kids.push(h('ul.match-list', items.map((l) => {
    let send = null;
    if (ctx.canWrite) {
      send = h('button.send-offer', { type: 'button', disabled: !lead.phone,
        'aria-label': `שליחת "${l.title}" בוואטסאפ` }, 'שליחה בוואטסאפ');
      send.addEventListener('click', async () => {
        const now = leadNow();
        if (!now.phone) return;
        send.disabled = true;
        send.textContent = 'שולח…';
        try {
          await post('/api/whatsapp/send', { to: now.phone, text: offerText(now, l) });
          ctx.toast(`הנכס "${l.title}" נשלח בוואטסאפ${now.name ? ` ל${now.name}` : ' לליד'}.`);
          send.textContent = 'נשלח ✓';
          reloadMessages();
        } catch (err) {
          ctx.fail('שליחת הנכס בוואטסאפ נכשלה', err);
          send.textContent = 'שליחה בוואטסאפ';
          send.disabled = false;
        }
      });
    }
    const score = Number(l.score);
    return h('li.match', { dataset: { id: l.id } },
      h('a.thumb-link', { href: `#/listings/${l.id}`, tabindex: '-1', 'aria-hidden': 'true' }, thumb(l)),
      h('div.match-body',
        h('a.card-title', { href: `#/listings/${l.id}` }, l.title),
        h('span.card-meta', [listingPrice(l), roomsText(l.rooms), l.city].filter(Boolean).join(' · ')),
        h('span.match-foot', statusPill(l.status),
          Number.isFinite(score) ? h('span.meta', ` התאמה ${Math.round(score * 100)}%`) : null)),
      send);
  })));
  mount(sec, kids);
}

// -- WhatsApp -------------------------------------------------------------------

async function drawMessages(sec, ctx, id, leadNow) {
  const res = await get(`/api/crm/leads/${id}/messages?per_page=50`);
  const items = [...res.items].reverse(); // oldest first, like a chat
  const chat = h('ol.chat', { 'aria-label': 'שיחת וואטסאפ' }, items.map((m) => h(`li.bubble.${m.direction}`,
    h('p', { dir: 'auto' }, m.body),
    h('span.bubble-meta', `${fmt.dateTime(m.created_at)} · ${MSG_STATUS[m.status] || m.status}`,
      m.error ? ` · ${m.error}` : ''))));
  const kids = [h('h2#messages-title', 'וואטסאפ'),
    items.length ? chat : h('p.empty', 'אין הודעות.')];
  const lead = leadNow();
  if (ctx.canWrite) {
    const text = h('textarea', { rows: '2', maxlength: '4096', required: true, dir: 'auto' });
    const send = h('button.primary', { type: 'submit' }, 'שליחה');
    const form = h('form.reply', field('תשובה', text), send);
    if (!lead.phone) {
      text.disabled = true;
      send.disabled = true;
      kids.push(h('p.hint', 'לליד אין מספר טלפון, אי אפשר לשלוח וואטסאפ.'));
    }
    onSubmit(form, async (e) => {
      e.preventDefault();
      const message = text.value.trim();
      if (!message) return;
      send.disabled = true;
      try {
        await post('/api/whatsapp/send', { to: leadNow().phone, message });
        text.value = '';
        ctx.toast('ההודעה נשלחה.');
        await drawMessages(sec, ctx, id, leadNow);
        sec.querySelector('textarea')?.focus();
      } catch (err) {
        ctx.fail('שליחת ההודעה נכשלה', err);
        send.disabled = false;
      }
    });
    kids.push(form);
  }
  mount(sec, kids);
  chat.scrollTop = chat.scrollHeight;
}

// -- payments -------------------------------------------------------------------

async function drawPayments(sec, ctx, id) {
  const res = await get(`/api/crm/payments${qs({ lead_id: id, per_page: 50 })}`);
  const rows = res.items.map((p) => h('tr',
    h('td', fmt.dateTime(p.created_at)),
    h('td.num', fmt.amount(p.amount_minor, p.currency)),
    h('td', p.description || ''),
    h('td', h(`span.pill.pay-${p.status}`, PAY_STATUS[p.status] || p.status)),
    h('td', p.pay_url && p.status === 'pending'
      ? h('a', { href: p.pay_url, target: '_blank', rel: 'noopener noreferrer' }, 'קישור לתשלום') : '')));
  const kids = [h('h2#payments-title', 'תשלומים'),
    rows.length ? h('div.table-wrap', h('table.data', h('thead', h('tr',
      ...['תאריך', 'סכום', 'תיאור', 'מצב', ''].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', rows)))
      : h('p.empty', 'אין תשלומים.')];
  if (ctx.canWrite) {
    const amount = h('input', { type: 'text', inputmode: 'decimal', required: true, dir: 'ltr', autocomplete: 'off' });
    const desc = h('input', { autocomplete: 'off', maxlength: '200' });
    const provider = select([['', 'ברירת המחדל של העסק'], ['paypal', 'PayPal'], ['tranzila', 'Tranzila']], '');
    // The last link made here survives re-renders (the live 'payment' event
    // redraws this section right after the create).
    const result = h('p.pay-result', { role: 'status' }, ...(sec.lastPayUrl ? payLink(sec.lastPayUrl) : []));
    const form = h('form.inline-form', { 'aria-label': 'שליחת קישור לתשלום' },
      field('סכום (₪)', amount), field('תיאור', desc), field('ספק', provider),
      h('button.primary', { type: 'submit' }, 'שליחת קישור לתשלום'));
    onSubmit(form, async (e) => {
      e.preventDefault();
      const value = amount.value.trim().replace(/,/g, '');
      if (!/^\d+(\.\d{1,2})?$/.test(value) || Number(value) <= 0) {
        ctx.toast('סכום לא תקין: יש להזין מספר חיובי, עד שתי ספרות אחרי הנקודה.', 'error');
        amount.focus();
        return;
      }
      const body = { amount: value, currency: 'ILS', lead_id: id };
      if (desc.value.trim()) body.description = desc.value.trim();
      if (provider.value) body.provider = provider.value;
      try {
        const p = await post('/api/crm/payments/create', body);
        ctx.toast(`נוצר קישור לתשלום על ${fmt.ils(Math.round(Number(value) * 100))}.`);
        sec.lastPayUrl = p.pay_url || '';
        await drawPayments(sec, ctx, id);
      } catch (err) {
        ctx.fail('יצירת קישור התשלום נכשלה', err);
      }
    });
    kids.push(form, result);
  }
  mount(sec, kids);
}

function payLink(url) {
  return ['הקישור: ', h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', dir: 'ltr' }, url)];
}

// -- notes and tasks -------------------------------------------------------------

async function drawNotes(sec, ctx, id) {
  const res = await get(`/api/crm/leads/${id}/notes?per_page=50`);
  const kids = [h('h2#notes-title', 'הערות')];
  if (ctx.canWrite) {
    const text = h('textarea', { rows: '2', maxlength: '10000', required: true, dir: 'auto' });
    const form = h('form.stack', field('הערה חדשה', text), h('button', { type: 'submit' }, 'הוספה'));
    onSubmit(form, async (e) => {
      e.preventDefault();
      if (!text.value.trim()) return;
      try {
        await post(`/api/crm/leads/${id}/notes`, { body: text.value.trim() });
        ctx.toast('ההערה נוספה.');
        await drawNotes(sec, ctx, id);
      } catch (err) {
        ctx.fail('הוספת ההערה נכשלה', err);
      }
    });
    kids.push(form);
  }
  kids.push(res.items.length
    ? h('ul.notes', res.items.map((n) => h('li', h('p', { dir: 'auto' }, n.body),
      h('span.meta', fmt.dateTime(n.created_at)))))
    : h('p.empty', 'אין הערות.'));
  mount(sec, kids);
}

async function drawTasks(sec, ctx, id) {
  const res = await get(`/api/crm/tasks${qs({ lead_id: id, per_page: 50 })}`);
  const list = h('ul.tasks', res.items.map((t) => {
    const box = h('input', { type: 'checkbox', checked: t.done, disabled: !ctx.canWrite });
    box.addEventListener('change', async () => {
      try {
        await patch(`/api/crm/tasks/${t.id}`, { done: box.checked });
      } catch (err) {
        box.checked = !box.checked;
        ctx.fail('עדכון המשימה נכשל', err);
      }
    });
    return h('li', h('label', box, ' ', t.title,
      t.due_at ? h('span.meta', ` · עד ${fmt.dateTime(t.due_at)}`) : ''));
  }));
  const kids = [h('h2#tasks-title', 'משימות'), res.items.length ? list : h('p.empty', 'אין משימות.')];
  if (ctx.canWrite) {
    const title = h('input', { required: true, maxlength: '500', autocomplete: 'off' });
    const day = dateInput();
    const at = timeInput();
    const form = h('form.stack', field('משימה חדשה', title),
      h('div.row', field('תאריך יעד', day), field('שעה', at)),
      h('button', { type: 'submit' }, 'הוספת משימה'));
    onSubmit(form, async (e) => {
      e.preventDefault();
      const body = { title: title.value.trim(), lead_id: id };
      if (!body.title) return;
      if (day.value.trim()) {
        const d = fmt.parseDate(day.value);
        const t = at.value.trim() ? fmt.parseTime(at.value) : '09:00';
        if (!d || !t) {
          ctx.toast(!d ? 'תאריך לא תקין: יש להזין dd/mm/yyyy.' : 'שעה לא תקינה: יש להזין HH:MM (24 שעות).', 'error');
          (!d ? day : at).focus();
          return;
        }
        body.due_at = fmt.israelToIso(d, t);
      }
      try {
        await post('/api/crm/tasks', body);
        ctx.toast('המשימה נוספה.');
        await drawTasks(sec, ctx, id);
      } catch (err) {
        ctx.fail('הוספת המשימה נכשלה', err);
      }
    });
    kids.push(form);
  }
  mount(sec, kids);
}

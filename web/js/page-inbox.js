// The shared WhatsApp inbox: the business's conversations by last message
// (unread badges, who drives each one: the AI, an agent, or waiting for an
// agent), and the open conversation's thread with its media, a reply box
// (free text inside WhatsApp's 24-hour window, an approved template outside
// it) and take-over / hand-back of the AI. Two panes side by side on wide
// screens (the list on the right in RTL), stacked on phones. Refreshed by
// the live event stream; a slow poll catches what the stream does not carry
// (another agent taking a conversation over).
import { h, mount, field, select, onSubmit, debounce } from './dom.js';
import { get, post, qs, audioUrl, download, ApiError } from './api.js';
import * as fmt from './fmt.js';

const FILTERS = [
  ['all', 'הכול'], ['unread', 'לא נקראו'], ['needs_agent', 'ממתינות לנציג'], ['human', 'בטיפול נציג'],
];
export const AI_STATE = {
  ai: 'AI עונה', human: 'נציג מטפל', needs_agent: 'ממתינה לנציג', off: 'AI כבוי',
};
const SENT_BY = { ai: 'AI', agent: 'נציג', auto: 'אוטומטי', system: 'מערכת' };
const MSG_STATUS = {
  queued: 'בתור', sending: 'נשלחת', sent: 'נשלחה', delivered: 'נמסרה',
  read: 'נקראה', undelivered: 'לא נמסרה', failed: 'נכשלה', received: 'התקבלה',
};
const PER_PAGE = 50;
const THREAD_PAGE = 50;
const POLL_MS = 30000;

const enc = (phone) => encodeURIComponent(phone);
const peerOf = (address) => String(address || '').replace(/^whatsapp:/, '');

export async function render(view, ctx, { arg, query }) {
  const state = {
    filter: FILTERS.some(([k]) => k === query.get('filter')) ? query.get('filter') : 'all',
    page: 1,
    items: [],
    total: 0,
    selected: arg ? decodeURIComponent(arg) : null,
    thread: null,       // the open conversation's last answer
    messages: [],       // its messages so far, oldest first
    templates: null,    // loaded on first need
    oldest: { hasMore: false, before: null }, // paging of the oldest loaded
  };
  const media = new Map(); // media path -> Promise of its blob: URL (open thread)
  let reply = null;        // the reply box, kept across redraws: { phone, open, el }

  const counter = h('span.count');
  const filterBar = h('div.inbox-filters', { role: 'group', 'aria-label': 'סינון השיחות' });
  const list = h('ul.conv-list', { 'aria-label': 'שיחות וואטסאפ' });
  const pager = h('div.pager');
  const listPane = h('section.card.inbox-list', { 'aria-labelledby': 'inbox-list-title' },
    h('h2#inbox-list-title', 'שיחות'), filterBar, list, pager);
  const threadPane = h('section.card.inbox-thread', { 'aria-labelledby': 'thread-title' });
  const announcer = h('p.visually-hidden', { 'aria-live': 'polite', role: 'status' });
  mount(view,
    h('header.page-head', h('h1', 'וואטסאפ ', counter)),
    h('div.inbox', listPane, threadPane),
    announcer);

  // -- the list -------------------------------------------------------------

  function drawFilters() {
    mount(filterBar, FILTERS.map(([key, label]) => {
      const b = h('button.filter', { type: 'button', 'aria-pressed': String(state.filter === key) }, label);
      b.addEventListener('click', () => {
        if (state.filter === key) return;
        state.filter = key;
        state.page = 1;
        drawFilters();
        loadList().catch((e) => ctx.fail('טעינת השיחות נכשלה', e));
      });
      return b;
    }));
  }

  function drawList() {
    const unread = state.items.reduce((n, c) => n + (c.unread || 0), 0);
    counter.textContent = unread ? `(${unread} לא נקראו)` : '';
    if (!state.items.length) {
      mount(list, h('li.empty', state.filter === 'all' ? 'אין עדיין שיחות וואטסאפ.' : 'אין שיחות שמתאימות לסינון.'));
    } else {
      mount(list, state.items.map((c) => {
        const who = c.lead_name || fmt.phone(c.phone);
        const last = c.last_message;
        const snippet = last
          ? `${last.direction === 'out' ? `${SENT_BY[last.sent_by] || 'אנחנו'}: ` : ''}${last.body || '(קובץ)'}`
          : '';
        const b = h('button.conv', {
          type: 'button',
          'aria-current': c.phone === state.selected ? 'true' : null,
          dataset: { phone: c.phone },
        },
        h('span.conv-head',
          h('span.conv-name', c.lead_name ? who : h('bdi', { dir: 'ltr' }, who)),
          h('time.conv-time', { datetime: c.last_message_at }, fmt.dateTime(c.last_message_at))),
        h('span.conv-snippet', { dir: 'auto' }, snippet),
        h('span.conv-foot',
          h(`span.pill.ai-${c.ai_state}`, AI_STATE[c.ai_state] || c.ai_state),
          c.unread ? h('span.unread-badge', { 'aria-label': `${c.unread} הודעות שלא נקראו` }, String(c.unread)) : null));
        b.addEventListener('click', () => open(c.phone));
        return h('li', b);
      }));
    }
    const pages = Math.ceil(state.total / PER_PAGE);
    if (pages <= 1) {
      mount(pager);
      return;
    }
    const prev = h('button', { type: 'button', disabled: state.page <= 1 }, 'הקודם');
    const next = h('button', { type: 'button', disabled: state.page >= pages }, 'הבא');
    prev.addEventListener('click', () => { state.page -= 1; loadList().catch((e) => ctx.fail('טעינת השיחות נכשלה', e)); });
    next.addEventListener('click', () => { state.page += 1; loadList().catch((e) => ctx.fail('טעינת השיחות נכשלה', e)); });
    mount(pager, prev, h('span', `עמוד ${state.page} מתוך ${pages}`), next);
  }

  async function loadList() {
    const res = await get(`/api/crm/whatsapp/conversations${qs({ filter: state.filter === 'all' ? '' : state.filter, page: state.page, per_page: PER_PAGE })}`);
    state.items = res.items;
    state.total = res.total;
    drawList();
  }

  // -- the thread -----------------------------------------------------------

  function revokeAll() {
    for (const p of media.values()) p.then((u) => URL.revokeObjectURL(u), () => {});
    media.clear();
  }

  /// The blob: URL of a media item (an <img>/<audio> src cannot send the
  /// bearer header), fetched once per open thread.
  function blobOf(path) {
    if (!media.has(path)) {
      const p = audioUrl(path);
      p.catch(() => media.delete(path)); // a failure may be retried
      media.set(path, p);
    }
    return media.get(path);
  }

  async function open(phone) {
    if (state.selected !== phone) {
      revokeAll();
      state.messages = [];
      reply = null;
    }
    state.selected = phone;
    history.replaceState(null, '', `#/inbox/${enc(phone)}${state.filter === 'all' ? '' : `?filter=${state.filter}`}`);
    for (const b of list.querySelectorAll('.conv')) {
      if (b.dataset.phone === phone) b.setAttribute('aria-current', 'true');
      else b.removeAttribute('aria-current');
    }
    mount(threadPane, h('p.loading', { role: 'status' }, 'טוען…'));
    try {
      await loadThread(true);
    } catch (err) {
      mount(threadPane, h('p.empty', { role: 'alert' },
        err instanceof ApiError && err.status === 404 ? 'השיחה לא נמצאה.' : err instanceof ApiError ? err.explain('טעינת השיחה נכשלה') : `טעינת השיחה נכשלה: ${err.message}`));
      return;
    }
    threadPane.querySelector('h2')?.focus();
  }

  /// The newest page of the open thread (`fresh`: drawn anew; else only
  /// new messages are announced).
  async function loadThread(fresh = false) {
    const phone = state.selected;
    if (!phone) return;
    const res = await get(`/api/crm/whatsapp/conversations/${enc(phone)}/messages${qs({ limit: THREAD_PAGE })}`);
    if (state.selected !== phone) return; // the user moved on meanwhile
    const known = new Set(state.messages.map((m) => m.id));
    const arrived = res.items.filter((m) => !known.has(m.id) && m.direction === 'in');
    // Keep older pages already loaded; the newest page replaces its range.
    const first = res.items.length ? res.items[0].seq : Infinity;
    const older = fresh ? [] : state.messages.filter((m) => m.seq < first);
    state.thread = res;
    state.messages = [...older, ...res.items];
    if (!fresh && arrived.length) {
      announcer.textContent = `הודעה חדשה מ${res.lead_name || fmt.phone(res.phone)}: ${arrived[arrived.length - 1].body}`;
    }
    if (!older.length) state.oldest = { hasMore: res.has_more, before: res.next_before_seq };
    drawThread();
    if (res.unread > 0 && ctx.canWrite) await markRead(phone);
  }

  async function markRead(phone) {
    try {
      await post(`/api/crm/whatsapp/conversations/${enc(phone)}/read`);
      const c = state.items.find((x) => x.phone === phone);
      if (c) {
        c.unread = 0;
        drawList();
      }
    } catch (err) {
      ctx.fail('סימון השיחה כנקראה נכשל', err);
    }
  }

  async function loadOlder(before) {
    const phone = state.selected;
    const res = await get(`/api/crm/whatsapp/conversations/${enc(phone)}/messages${qs({ before_seq: before, limit: THREAD_PAGE })}`);
    if (state.selected !== phone) return;
    state.messages = [...res.items, ...state.messages];
    state.oldest = { hasMore: res.has_more, before: res.next_before_seq };
    drawThread(true);
  }

  /// `keepScroll`: older messages were added on top; the view stays put.
  function drawThread(keepScroll = false) {
    const t = state.thread;
    const { hasMore, before } = state.oldest;
    const chat = h('ol.chat.thread-chat', { 'aria-label': `ההודעות עם ${t.lead_name || fmt.phone(t.phone)}`, tabindex: '0' });
    if (hasMore && before) {
      const more = h('button.link', { type: 'button' }, 'הודעות קודמות');
      more.addEventListener('click', () => {
        more.disabled = true;
        loadOlder(before).catch((e) => { more.disabled = false; ctx.fail('טעינת ההודעות הקודמות נכשלה', e); });
      });
      chat.append(h('li.more-messages', more));
    }
    for (const m of state.messages) chat.append(bubble(m));
    if (!state.messages.length) chat.append(h('li.empty', 'אין הודעות בשיחה.'));
    // Where the reader was: older messages added on top, or a reader
    // scrolled up, keep their place; otherwise the newest message shows.
    const prev = threadPane.querySelector('.thread-chat');
    const fromBottom = prev ? prev.scrollHeight - prev.scrollTop : 0;
    const stay = prev && (keepScroll || fromBottom - prev.clientHeight > 40);

    const name = t.lead_name || fmt.phone(t.phone);
    const title = h('h2#thread-title', { tabindex: '-1' }, t.lead_name ? name : h('bdi', { dir: 'ltr' }, name));
    const head = h('header.thread-head',
      h('div.thread-who', title,
        h('span.meta', h('bdi', { dir: 'ltr' }, fmt.phone(t.phone)),
          t.lead_id ? [' · ', h('a', { href: `#/leads/${t.lead_id}` }, 'לכרטיס הליד')] : null)),
      h('div.thread-state',
        h(`span.pill.ai-${t.ai_state}`, AI_STATE[t.ai_state] || t.ai_state),
        t.ai_state === 'human' && t.ai_paused_until ? h('span.meta', `עד ${fmt.dateTime(t.ai_paused_until)}`) : null,
        h(`span.pill.${t.window_open ? 'window-open' : 'window-closed'}`,
          t.window_open ? 'חלון 24 שעות פתוח' : 'חלון 24 שעות סגור')),
      takeoverControls(t));
    // The reply box survives a redraw (a live update must not eat a draft)
    // unless the window opened or closed.
    if (ctx.canWrite && (!reply || reply.phone !== t.phone || reply.open !== t.window_open)) {
      reply = { phone: t.phone, open: t.window_open, el: replyBox(t) };
    }
    const hadFocus = reply && reply.el.contains(document.activeElement) ? document.activeElement : null;
    mount(threadPane, head, chat, ctx.canWrite ? reply.el : null);
    if (hadFocus) hadFocus.focus();
    chat.scrollTop = stay ? chat.scrollHeight - fromBottom : chat.scrollHeight;
  }

  function bubble(m) {
    const who = m.direction === 'out' ? (SENT_BY[m.sent_by] || 'נשלחה') : null;
    return h(`li.bubble.${m.direction}`, { dataset: { seq: m.seq } },
      who ? h(`span.sent-by.by-${m.sent_by || 'unknown'}`, who) : null,
      m.body ? h('p', { dir: 'auto' }, m.body) : null,
      (m.media || []).map(mediaItem),
      h('span.bubble-meta',
        h('time', { datetime: m.created_at }, fmt.dateTime(m.created_at)),
        m.direction === 'out' ? ` · ${MSG_STATUS[m.status] || m.status}` : '',
        m.template_name ? ` · תבנית ${m.template_name}` : '',
        m.error ? ` · ${m.error}` : ''));
  }

  function mediaItem(item) {
    const type = item.content_type || '';
    const label = item.filename || (type.startsWith('image/') ? 'תמונה' : type.startsWith('audio/') ? 'הודעה קולית' : 'קובץ');
    const wrap = h('div.media');
    if (item.status === 'pending') {
      wrap.append(h('span.meta', `${label}: בהורדה מהספק…`));
    } else if (item.status === 'failed') {
      wrap.append(h('span.media-problem', `${label}: הקובץ לא התקבל מהספק`));
    } else if (item.status === 'rejected') {
      wrap.append(h('span.media-problem', `${label}: הקובץ נדחה (גדול מדי או מסוג שאינו נתמך)`));
    } else if (item.url && type.startsWith('image/')) {
      // An <img src> cannot send the bearer header: fetched into a blob.
      const img = h('img.media-image', { alt: item.filename ? `תמונה: ${item.filename}` : 'תמונה שנשלחה בשיחה' });
      blobOf(item.url).then((u) => {
        img.src = u;
      }).catch(() => mount(wrap, h('span.media-problem', 'טעינת התמונה נכשלה')));
      wrap.append(img);
    } else if (item.url && type.startsWith('audio/')) {
      const btn = h('button.play', { type: 'button' }, `▶ ${label}`);
      btn.addEventListener('click', async () => {
        btn.disabled = true;
        try {
          const u = await blobOf(item.url);
          const audio = h('audio', { controls: true, src: u, preload: 'auto', 'aria-label': label });
          btn.replaceWith(audio);
          audio.play().catch(() => { /* autoplay refused: the controls are there */ });
        } catch (err) {
          btn.disabled = false;
          ctx.fail(`השמעת "${label}" נכשלה`, err);
        }
      });
      wrap.append(btn);
    } else if (item.url) {
      const btn = h('button.link', { type: 'button' }, `הורדת ${label}${item.size ? ` (${Math.max(1, Math.round(item.size / 1024))} KB)` : ''}`);
      btn.addEventListener('click', () => download(item.url, item.filename || 'file').catch((e) => ctx.fail('ההורדה נכשלה', e)));
      wrap.append(btn);
    }
    if (item.transcript) wrap.append(h('p.transcript', { dir: 'auto' }, h('span.meta', 'תמלול: '), item.transcript));
    return wrap;
  }

  function takeoverControls(t) {
    if (!ctx.canWrite) return null;
    if (t.ai_state === 'off') return h('p.hint', 'ה־AI אינו עונה בוואטסאפ של העסק; הנציגים עונים.');
    const paused = t.ai_state === 'human';
    const btn = h('button', { type: 'button', disabled: !t.lead_id },
      paused ? 'החזרת השיחה ל־AI' : 'השתלטות על השיחה');
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        const res = await post(`/api/crm/leads/${t.lead_id}/${paused ? 'release' : 'takeover'}`);
        ctx.toast(paused ? 'השיחה הוחזרה ל־AI.'
          : `ה־AI מושהה בשיחה הזו${res && res.ai_paused_until ? ` עד ${fmt.dateTime(res.ai_paused_until)}` : ''}.`);
        await Promise.all([loadThread(), loadList()]);
      } catch (err) {
        btn.disabled = false;
        ctx.fail(paused ? 'החזרת השיחה ל־AI נכשלה' : 'ההשתלטות נכשלה', err);
      }
    });
    return h('div.actions.thread-actions', btn,
      t.lead_id ? null : h('span.hint', 'אין ליד למספר הזה, אי אפשר להשהות את ה־AI.'));
  }

  // -- replying ---------------------------------------------------------------

  function replyBox(t) {
    const problem = h('p.form-error', { role: 'alert' });
    if (t.window_open) {
      const text = h('textarea', { rows: '2', maxlength: '4096', required: true, dir: 'auto' });
      const send = h('button.primary', { type: 'submit' }, 'שליחה');
      const form = h('form.reply', field('תשובה', text, 'Ctrl+Enter לשליחה'), send);
      text.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
      });
      onSubmit(form, async () => {
        const message = text.value.trim();
        if (!message) return;
        problem.textContent = '';
        try {
          await post('/api/whatsapp/send', { to: t.phone, message });
          text.value = '';
          await Promise.all([loadThread(), loadList()]);
          threadPane.querySelector('textarea')?.focus();
        } catch (err) {
          if (err instanceof ApiError && err.status === 422) {
            // The window closed meanwhile: the server says so, and the box
            // turns into the template picker.
            problem.textContent = err.detail || err.message;
            await loadThread().catch(() => {});
            const shown = threadPane.querySelector('.reply-box .form-error');
            if (shown) shown.textContent = err.detail || err.message;
          } else {
            ctx.fail('שליחת ההודעה נכשלה', err);
          }
        }
      });
      return h('div.reply-box', form, problem);
    }
    const box = h('div.reply-box',
      h('p.hint', 'עברו יותר מ־24 שעות מההודעה האחרונה של הלקוח: וואטסאפ מאפשר לשלוח רק תבנית מאושרת.'),
      problem);
    templatePicker(t, box, problem);
    return box;
  }

  async function templatePicker(t, box, problem) {
    try {
      if (!state.templates) state.templates = (await get('/api/crm/whatsapp/templates')).items;
    } catch (err) {
      box.append(h('p.form-error', { role: 'alert' }, err instanceof ApiError ? err.explain('טעינת התבניות נכשלה') : 'טעינת התבניות נכשלה'));
      return;
    }
    const templates = state.templates;
    if (!templates.length) {
      box.append(h('p.empty', 'אין תבניות רשומות לעסק. בעלי העסק רושמים תבניות שאושרו אצל הספק.'));
      return;
    }
    const chooser = select(templates.map((x) => [x.name, x.name]), templates[0].name);
    const vars = h('div.template-vars');
    const preview = h('p.template-preview', { dir: 'auto', 'aria-live': 'polite' });
    const send = h('button.primary', { type: 'submit' }, 'שליחת התבנית');
    const form = h('form.template-form', field('תבנית', chooser), vars, preview, send);
    const current = () => templates.find((x) => x.name === chooser.value) || templates[0];
    const showPreview = () => {
      const tpl = current();
      let body = tpl.body || '';
      for (const input of vars.querySelectorAll('input')) {
        body = body.split(`{{${input.dataset.key}}}`).join(input.value || `{{${input.dataset.key}}}`);
      }
      preview.textContent = body ? `תצוגה מקדימה: ${body}` : '';
    };
    const drawVars = () => {
      const tpl = current();
      mount(vars, (tpl.variables || []).map((key) => {
        const input = h('input', { type: 'text', required: true, maxlength: '1024', dir: 'auto', dataset: { key } });
        input.addEventListener('input', showPreview);
        return field(`ערך למשתנה {{${key}}}`, input);
      }));
      showPreview();
    };
    chooser.addEventListener('change', drawVars);
    drawVars();
    onSubmit(form, async () => {
      const variables = {};
      for (const input of vars.querySelectorAll('input')) variables[input.dataset.key] = input.value.trim();
      problem.textContent = '';
      try {
        await post('/api/whatsapp/send', { to: t.phone, template: { name: current().name, variables } });
        ctx.toast('התבנית נשלחה.');
        await Promise.all([loadThread(), loadList()]);
      } catch (err) {
        if (err instanceof ApiError && err.status < 500 && err.detail) problem.textContent = err.detail;
        else ctx.fail('שליחת התבנית נכשלה', err);
      }
    });
    box.append(form);
  }

  // -- live updates -------------------------------------------------------------

  // The thread first: opening it marks it read, which the list then shows.
  // A failure waits for the next event or poll.
  const refresh = debounce(async () => {
    if (state.selected) await loadThread().catch(() => {});
    await loadList().catch(() => {});
  }, 300);
  ctx.onEvent((kind, d) => {
    if (kind !== 'message') return;
    const phone = peerOf(d.direction === 'in' ? d.from : d.to);
    if (phone === state.selected || state.items.some((c) => c.phone === phone) || d.direction === 'in') refresh();
  });
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') refresh();
  }, POLL_MS);

  drawFilters();
  await loadList();
  if (state.selected) await open(state.selected);
  else mount(threadPane, h('h2#thread-title.visually-hidden', 'שיחה'), h('p.empty', 'בחרו שיחה מהרשימה.'));

  return () => {
    clearInterval(timer);
    revokeAll();
  };
}

// AgentLocator dashboard: sign-in, the shell (sidebar on the right, RTL),
// a hash router, the live event stream and toasts. Pages live in js/.
import { h, mount, field } from './js/dom.js';
import { session, get, post, ApiError, liveEvents, setUnauthorizedHandler } from './js/api.js';
import * as overview from './js/page-overview.js';
import * as live from './js/page-live.js';
import * as leads from './js/page-leads.js';
import * as lead from './js/page-lead.js';
import * as inbox from './js/page-inbox.js';
import * as listings from './js/page-listings.js';
import * as appointments from './js/page-appointments.js';
import * as campaigns from './js/page-campaigns.js';
import * as settings from './js/page-settings.js';

const root = document.getElementById('root');
const toasts = document.getElementById('toasts');

const ROLE_LABEL = {
  admin: 'מנהל מערכת', owner: 'בעלים', agent: 'סוכן', read_only: 'צפייה בלבד',
};

const NAV = [
  ['#/overview', 'סקירה', 'overview'],
  ['#/live', 'שיחות חיות', 'live'],
  ['#/leads', 'לידים', 'leads'],
  ['#/listings', 'נכסים', 'listings'],
  ['#/inbox', 'וואטסאפ', 'inbox'],
  ['#/appointments', 'פגישות', 'appointments'],
  ['#/campaigns', 'קמפיינים', 'campaigns'],
  ['#/settings', 'הגדרות', 'settings'],
];

const MAX_TOASTS = 3;

/// A message at the bottom of the screen; errors stay until dismissed. They
/// do not pile up over the page: a new message replaces the previous
/// non-error one, an error replaces an older error with the same `key` (the
/// same failed action) or text, and at most MAX_TOASTS show at once.
export function toast(text, kind = 'info', key = '') {
  for (const old of toasts.querySelectorAll('.toast')) {
    if (!old.classList.contains('error') || old.dataset.text === text || (key && old.dataset.key === key)) old.remove();
  }
  const close = h('button.toast-close', { type: 'button', 'aria-label': 'סגירת ההודעה' }, '×');
  const t = h(`div.toast.${kind}`, { role: kind === 'error' ? 'alert' : 'status', dataset: { text, key } },
    h('span', text), close);
  close.addEventListener('click', () => t.remove());
  toasts.append(t);
  while (toasts.children.length > MAX_TOASTS) toasts.firstChild.remove();
  if (kind !== 'error') setTimeout(() => t.remove(), 4000);
}

/// Shows an API failure in Hebrew: "<what>: <why> (<server detail>)".
export function fail(what, err) {
  const text = err instanceof ApiError ? err.explain(what) : `${what}: ${err?.message || err}`;
  toast(text, 'error', what);
}

// -- state of the signed-in session -----------------------------------------

let ctx = null;        // what pages get (see start())
let closeEvents = null;
let listeners = new Set();
let cleanup = null;    // the current page's
let routeSeq = 0;

function signOut(message) {
  const ended = session.token;
  // A dashboard session ends on the server too (an integration token is
  // left alone); best effort: the tab forgets it either way.
  if (ended) {
    fetch('/api/auth/sign-out', {
      method: 'POST', headers: { Authorization: `Bearer ${ended}` },
    }).catch(() => {});
  }
  session.token = '';
  toasts.replaceChildren(); // nothing of this session stays on screen
  if (closeEvents) closeEvents();
  closeEvents = null;
  ctx = null;
  listeners = new Set();
  renderSignIn(message);
}

setUnauthorizedHandler(() => {
  if (ctx) signOut('ההתחברות פגה או שהאסימון בוטל. יש להתחבר מחדש.');
});

function renderSignIn(message) {
  document.title = 'כניסה — AgentLocator';
  const input = h('input', {
    type: 'password', name: 'token', autocomplete: 'off', required: true,
    spellcheck: 'false', dir: 'ltr', placeholder: 'al_…',
  });
  const error = h('p.form-error', { role: 'alert', id: 'signin-error' }, message || '');
  const button = h('button.primary', { type: 'submit' }, 'כניסה');
  const form = h('form.signin-card', { 'aria-labelledby': 'signin-title' },
    h('h1#signin-title', 'AgentLocator'),
    h('p.lead-text', 'לוח הבקרה של המשרד: שיחות, לידים, וואטסאפ ותשלומים.'),
    h('p.hint', 'הדרך הקלה: פתחו קישור כניסה שקיבלתם (deploy/start.sh מדפיס אחד, ובעלי המשרד יוצרים קישורים בהגדרות). או הזינו אסימון גישה:'),
    field('אסימון גישה (API token)', input, 'האסימון נשמר רק בלשונית הזו ונמחק ביציאה.'),
    error,
    button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) {
      error.textContent = 'יש להזין אסימון גישה.';
      return;
    }
    button.disabled = true;
    error.textContent = '';
    session.token = token;
    try {
      await start();
    } catch (err) {
      session.token = '';
      error.textContent = err instanceof ApiError
        ? (err.status === 401 ? 'האסימון אינו מוכר או שבוטל. בדקו אותו ונסו שוב.' : err.explain('הכניסה נכשלה'))
        : `הכניסה נכשלה: ${err.message}`;
      button.disabled = false;
      input.focus();
    }
  });
  mount(root, h('main#main.signin', form));
  input.focus();
}

/// Signs in with the stored token: who am I, which business, its pipeline.
async function start() {
  const [me, business, pipeline] = await Promise.all([
    get('/api/crm/me'), get('/api/crm/business'), get('/api/crm/pipeline'),
  ]);
  ctx = {
    me,
    business,
    pipeline: pipeline.items || pipeline,
    canWrite: !!me.can_write,
    canManage: !!me.can_manage,
    toast,
    fail,
    navigate: (hash) => { location.hash = hash; },
    /// Subscribes the current page to live events (dropped on navigation).
    onEvent: (fn) => listeners.add(fn),
    statusLabel: (key) => (ctx.pipeline.find((s) => s.key === key) || {}).label || key,
  };
  renderShell();
  closeEvents = liveEvents((kind, data) => {
    for (const fn of listeners) {
      try { fn(kind, data); } catch (e) { console.error(e); }
    }
  }, (state) => {
    const dot = document.getElementById('live-state');
    if (!dot) return;
    dot.dataset.state = state;
    dot.textContent = state === 'open' ? 'עדכונים חיים פעילים' : 'מתחבר מחדש לעדכונים…';
  });
  route();
}

function renderShell() {
  const b = ctx.business;
  document.title = `${b.name || 'העסק'} — AgentLocator`;
  const links = NAV.map(([href, label, id]) =>
    h('li', h('a.nav-link', { href, dataset: { page: id } }, label)));
  const menu = h('button.menu-toggle', {
    type: 'button', 'aria-expanded': 'false', 'aria-controls': 'nav-list',
  }, 'תפריט');
  const list = h('ul#nav-list.nav-list', links);
  menu.addEventListener('click', () => {
    const open = menu.getAttribute('aria-expanded') !== 'true';
    menu.setAttribute('aria-expanded', String(open));
    list.classList.toggle('open', open);
  });
  list.addEventListener('click', (e) => {
    if (e.target.closest('a')) {
      menu.setAttribute('aria-expanded', 'false');
      list.classList.remove('open');
    }
  });
  const out = h('button.signout', { type: 'button' }, 'יציאה');
  out.addEventListener('click', () => signOut('יצאת מהמערכת.'));
  const sidebar = h('nav#sidebar.sidebar', { 'aria-label': 'ניווט ראשי' },
    h('div.brand', h('strong', 'AgentLocator'),
      h('span.business-name', b.name || ''),
      h('span.role-badge', { title: 'ההרשאה של האסימון' }, ROLE_LABEL[ctx.me.role] || ctx.me.role)),
    menu,
    list,
    h('p#live-state.live-state', { role: 'status', dataset: { state: 'connecting' } }, 'מתחבר לעדכונים…'),
    out);
  mount(root,
    h('a.skip-link', { href: '#main' }, 'דילוג לתוכן'),
    h('div.shell', sidebar, h('main#main.page', { tabindex: '-1' })));
  root.querySelector('.skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    document.getElementById('main').focus();
  });
}

/// Where a bare /app lands: the overview for owners (and the
/// administrator), live calls for everyone else.
function homePath() {
  return ctx && (ctx.me.role === 'owner' || ctx.me.role === 'admin') ? '/overview' : '/live';
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || homePath();
  const [path, query = ''] = raw.split('?');
  return { parts: path.split('/').filter(Boolean), query: new URLSearchParams(query) };
}

async function route() {
  if (!ctx) return;
  const main = document.getElementById('main');
  if (!main) return;
  if (cleanup) {
    try { cleanup(); } catch { /* page already gone */ }
  }
  cleanup = null;
  listeners = new Set();
  // Errors of the page being left no longer apply.
  for (const t of toasts.querySelectorAll('.toast.error')) t.remove();
  const { parts, query } = parseHash();
  let page = live;
  let id = 'live';
  let arg = null;
  if (parts[0] === 'overview') {
    page = overview; id = 'overview';
  } else if (parts[0] === 'leads' && parts[1]) {
    page = lead; id = 'leads'; arg = parts[1];
  } else if (parts[0] === 'leads') {
    page = leads; id = 'leads';
  } else if (parts[0] === 'inbox') {
    page = inbox; id = 'inbox'; arg = parts[1] || null;
  } else if (parts[0] === 'listings') {
    page = listings; id = 'listings'; arg = parts[1] || null;
  } else if (parts[0] === 'appointments') {
    page = appointments; id = 'appointments';
  } else if (parts[0] === 'campaigns') {
    page = campaigns; id = 'campaigns'; arg = parts[1] || null;
  } else if (parts[0] === 'settings') {
    page = settings; id = 'settings';
  }
  for (const a of document.querySelectorAll('.nav-link')) {
    if (a.dataset.page === id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // Each visit renders into its own view: a slow page that finishes after
  // the user moved on writes into a detached element, not over the new page.
  const seq = ++routeSeq;
  const view = h('div.view', h('p.loading', { role: 'status' }, 'טוען…'));
  mount(main, view);
  try {
    const done = (await page.render(view, ctx, { arg, query })) || null;
    if (seq === routeSeq) cleanup = done;
    else if (done) done();
  } catch (err) {
    mount(view, h('div.empty', { role: 'alert' },
      err instanceof ApiError ? err.explain('טעינת העמוד נכשלה') : `טעינת העמוד נכשלה: ${err.message}`));
  }
}

window.addEventListener('hashchange', route);

/// A sign-in link (`/app/#signin=<code>`, from `agentlocator sign-in-link`
/// or an owner's invitation): the one-time code is taken out of the address
/// bar and the history at once, then exchanged for a session.
async function redeemLink(code) {
  history.replaceState(null, '', location.pathname + location.search);
  session.token = '';
  try {
    const grant = await post('/api/auth/sign-in', { code });
    session.token = grant.token;
    await start();
  } catch (err) {
    session.token = '';
    renderSignIn(err instanceof ApiError && err.status === 401
      ? 'קישור הכניסה אינו מוכר, כבר נוצל או שפג תוקפו. בקשו קישור חדש.'
      : (err instanceof ApiError ? err.explain('הכניסה נכשלה') : `הכניסה נכשלה: ${err.message}`));
  }
}

const signInLink = /^#signin=([A-Za-z0-9_-]{1,128})$/.exec(location.hash);
if (signInLink) {
  redeemLink(signInLink[1]);
} else if (session.token) {
  start().catch((err) => {
    session.token = '';
    renderSignIn(err instanceof ApiError ? err.explain('הכניסה נכשלה') : '');
  });
} else {
  renderSignIn();
}

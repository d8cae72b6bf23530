// The REST API with the signed-in token, and Hebrew messages for every
// failure. The token lives in sessionStorage only (this tab; gone when the
// tab closes or on sign-out).

const KEY = 'al.token';

export const session = {
  get token() { return sessionStorage.getItem(KEY) || ''; },
  set token(t) {
    if (t) sessionStorage.setItem(KEY, t);
    else sessionStorage.removeItem(KEY);
  },
};

/// Called with no arguments when the server says the token is not valid.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

const STATUS_TEXT = {
  400: 'הבקשה אינה תקינה',
  401: 'אסימון הגישה אינו תקף או שבוטל. יש להתחבר מחדש',
  403: 'אין לך הרשאה לבצע פעולה זו',
  404: 'הפריט לא נמצא (ייתכן שנמחק)',
  405: 'הפעולה אינה נתמכת',
  409: 'הפעולה מתנגשת בנתונים קיימים',
  410: 'ספק התשלום הזה אינו נתמך עוד',
  413: 'הבקשה גדולה מדי',
  422: 'הערך אינו מתאים להגדרות העסק',
  429: 'יותר מדי בקשות. נסו שוב בעוד דקה',
  501: 'השירות אינו מוגדר בשרת (חסרים פרטי ספק או שהשירות כבוי)',
  502: 'הספק החיצוני דחה את הבקשה',
  503: 'השירות אינו זמין כרגע. נסו שוב בעוד רגע',
  504: 'הספק החיצוני לא ענה בזמן',
};

/// An API failure: `message` is Hebrew, `detail` the server's own words.
export class ApiError extends Error {
  constructor(status, detail, body) {
    const base = status === 0
      ? 'אין חיבור לשרת. בדקו את החיבור לרשת ונסו שוב'
      : STATUS_TEXT[status] || (status >= 500 ? 'שגיאה בשרת. נסו שוב' : `שגיאה (${status})`);
    super(base);
    this.status = status;
    this.detail = detail || '';
    this.body = body;
  }
  /// "<what failed>: <why>" for the user.
  explain(what) {
    return `${what}: ${this.message}${this.detail ? ` (${this.detail})` : ''}`;
  }
}

function headers(json) {
  const h = { Accept: 'application/json' };
  if (session.token) h.Authorization = `Bearer ${session.token}`;
  if (json) h['Content-Type'] = 'application/json';
  return h;
}

/// `sent`: the token the request carried. A 401 for a token that is no
/// longer the session's (a late answer to a refused sign-in) signs nobody out.
async function failure(res, sent) {
  let body = null;
  let detail = '';
  try {
    body = await res.json();
    detail = body && typeof body.error === 'string' ? body.error : '';
  } catch { /* not JSON */ }
  if (res.status === 401 && sent === session.token) onUnauthorized();
  return new ApiError(res.status, detail, body);
}

/// JSON request; resolves to the parsed body, rejects with ApiError.
export async function api(method, path, body) {
  let res;
  const sent = session.token;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body !== undefined),
      body: body !== undefined ? JSON.stringify(body) : undefined,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0);
  }
  if (!res.ok) throw await failure(res, sent);
  if (res.status === 204) return null;
  return res.json();
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const patch = (path, body) => api('PATCH', path, body ?? {});
export const del = (path) => api('DELETE', path);

/// Sends a file as the raw body (an upload: PUT unless `method` says
/// otherwise, with the file's own type unless `type` says otherwise);
/// resolves to the parsed answer.
export async function upload(path, file, { method = 'PUT', type } = {}) {
  let res;
  const sent = session.token;
  try {
    res = await fetch(path, {
      method,
      headers: { ...headers(false), 'Content-Type': type || file.type || 'application/octet-stream' },
      body: file,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0);
  }
  if (!res.ok) throw await failure(res, sent);
  return res.json();
}

/// Fetches audio with the bearer header (an <audio src> cannot send it) and
/// returns a blob: URL; revoke it when done.
export async function audioUrl(path) {
  let res;
  const sent = session.token;
  try {
    res = await fetch(path, { headers: headers(false), credentials: 'omit' });
  } catch {
    throw new ApiError(0);
  }
  if (!res.ok) throw await failure(res, sent);
  const type = res.headers.get('Content-Type') || '';
  let blob = await res.blob();
  if (type.startsWith('audio/wav')) blob = await playableWav(blob);
  return URL.createObjectURL(blob);
}

/// Downloads `path` (fetched with the bearer header, which a plain link
/// cannot send) as a file named `filename`; resolves to its size in bytes.
export async function download(path, filename) {
  let res;
  const sent = session.token;
  try {
    res = await fetch(path, { headers: { ...headers(false), Accept: '*/*' }, credentials: 'omit', cache: 'no-store' });
  } catch {
    throw new ApiError(0);
  }
  if (!res.ok) throw await failure(res, sent);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The browser reads the blob on its own time: revoke it a while later.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return blob.size;
}

/// Caller audio is stored as 8 kHz mu-law WAV, which not every browser
/// decodes: turn it into 16-bit PCM WAV here. Other WAVs pass unchanged.
async function playableWav(blob) {
  const buf = new DataView(await blob.arrayBuffer());
  const tag = (at) => String.fromCharCode(...new Uint8Array(buf.buffer, at, 4));
  if (buf.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return blob;
  let format = 0;
  let channels = 1;
  let rate = 8000;
  let data = null;
  for (let at = 12; at + 8 <= buf.byteLength;) {
    const id = tag(at);
    const size = buf.getUint32(at + 4, true);
    if (id === 'fmt ') {
      format = buf.getUint16(at + 8, true);
      channels = buf.getUint16(at + 10, true);
      rate = buf.getUint32(at + 12, true);
    } else if (id === 'data') {
      data = new Uint8Array(buf.buffer, at + 8, Math.min(size, buf.byteLength - at - 8));
    }
    at += 8 + size + (size & 1);
  }
  if (format !== 7 || !data) return blob; // not mu-law
  const out = new DataView(new ArrayBuffer(44 + data.length * 2));
  const str = (at, s) => { for (let i = 0; i < 4; i++) out.setUint8(at + i, s.charCodeAt(i)); };
  str(0, 'RIFF'); out.setUint32(4, 36 + data.length * 2, true); str(8, 'WAVE');
  str(12, 'fmt '); out.setUint32(16, 16, true); out.setUint16(20, 1, true);
  out.setUint16(22, channels, true); out.setUint32(24, rate, true);
  out.setUint32(28, rate * channels * 2, true); out.setUint16(32, channels * 2, true);
  out.setUint16(34, 16, true); str(36, 'data'); out.setUint32(40, data.length * 2, true);
  for (let i = 0; i < data.length; i++) out.setInt16(44 + i * 2, ulaw(data[i]), true);
  return new Blob([out.buffer], { type: 'audio/wav' });
}

/// G.711 mu-law byte -> 16-bit sample.
function ulaw(byte) {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

/// "?a=1&b=x" from an object, skipping empty values.
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, v);
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/// The live event stream of the token's business; returns a close function.
/// `on(kind, data)` gets call / message / payment events; `status(state)`
/// gets 'open' | 'reconnecting' | 'closed'. The API token never goes in a
/// URL: each connection first asks for a short-lived stream ticket (bearer
/// in the header) and opens `/api/crm/events?ticket=...`. A browser would
/// reconnect a dropped EventSource with its first URL (an expired ticket),
/// so a dropped stream is closed here and reopened with a fresh ticket and
/// the last event id it saw: the server sends what was missed, once.
export function liveEvents(on, status) {
  let src = null;
  let lastId = '';
  let stopped = false;
  let timer = null;
  let delay = 1000;

  const retry = () => {
    // Backoff with jitter, so that dashboards do not return all at once.
    timer = setTimeout(open, delay * (0.5 + Math.random()));
    delay = Math.min(delay * 2, 30000);
  };
  const seen = (e) => { if (e.lastEventId) lastId = e.lastEventId; };

  async function open() {
    timer = null;
    let ticket;
    try {
      ({ ticket } = await post('/api/crm/events/ticket'));
    } catch (err) {
      if (stopped) return;
      // A refused token signs out (api() already said so): stop here.
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        status('closed');
        return;
      }
      status('reconnecting');
      retry();
      return;
    }
    if (stopped) return;
    const es = new EventSource(`/api/crm/events${qs({ ticket, last_event_id: lastId })}`);
    src = es;
    for (const kind of ['call', 'message', 'payment']) {
      es.addEventListener(kind, (e) => {
        seen(e);
        try { on(kind, JSON.parse(e.data)); } catch { /* ignore a bad frame */ }
      });
    }
    es.addEventListener('ready', (e) => {
      seen(e);
      delay = 1000;
      status('open');
    });
    es.onerror = () => {
      es.close();
      if (src === es) src = null;
      if (stopped) return;
      status('reconnecting');
      retry();
    };
  }

  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (src) src.close();
  };
}

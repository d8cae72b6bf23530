// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe
// (file descriptors 3 and 4, NUL-terminated JSON): no npm packages, no
// WebSocket, no port. Enough for the dashboard's browser test.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
  '--no-default-browser-check', '--disable-dev-shm-usage', '--mute-audio',
  '--autoplay-policy=no-user-gesture-required',
];

export class Browser {
  static async launch(executable = process.env.CHROMIUM || '/usr/bin/chromium') {
    const profile = mkdtempSync(join(tmpdir(), 'al-chromium-'));
    const proc = spawn(executable,
      [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank'],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    const b = new Browser(proc, profile);
    proc.stderr.on('data', (d) => { b.stderr += d; if (b.stderr.length > 20000) b.stderr = b.stderr.slice(-10000); });
    await new Promise((resolve, reject) => {
      proc.once('spawn', resolve);
      proc.once('error', reject);
    });
    await b.send('Browser.getVersion');
    return b;
  }

  constructor(proc, profile) {
    this.proc = proc;
    this.profile = profile;
    this.stderr = '';
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Set();
    this.input = proc.stdio[3];
    let buf = Buffer.alloc(0);
    proc.stdio[4].on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let end;
      while ((end = buf.indexOf(0)) >= 0) {
        const msg = JSON.parse(buf.subarray(0, end).toString('utf8'));
        buf = buf.subarray(end + 1);
        this.dispatch(msg);
      }
    });
    proc.on('exit', (code) => {
      for (const { reject } of this.pending.values()) reject(new Error(`chromium exited (${code}): ${this.stderr.slice(-2000)}`));
      this.pending.clear();
    });
  }

  dispatch(msg) {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
      else p.resolve(msg.result);
      return;
    }
    for (const fn of this.listeners) fn(msg);
  }

  send(method, params = {}, sessionId, timeoutMs = 20000) {
    const id = this.nextId++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        method,
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.input.write(`${JSON.stringify(msg)}\0`);
    });
  }

  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /// A new tab with its own (incognito-like) browser context.
  async newPage() {
    const { browserContextId } = await this.send('Target.createBrowserContext');
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank', browserContextId });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, sessionId, browserContextId);
    await page.init();
    return page;
  }

  async close() {
    try { await this.send('Browser.close', {}, undefined, 3000); } catch { /* gone */ }
    await new Promise((r) => {
      if (this.proc.exitCode !== null) return r();
      const t = setTimeout(() => { this.proc.kill('SIGKILL'); r(); }, 3000);
      this.proc.once('exit', () => { clearTimeout(t); r(); });
    });
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(browser, sessionId, browserContextId) {
    this.browser = browser;
    this.sessionId = sessionId;
    this.browserContextId = browserContextId;
    this.requests = [];     // every URL the page asked for
    this.responses = [];    // { url, status, mimeType } of every answer
    this.downloads = [];    // { guid, file, state } (after allowDownloads)
    this.consoleErrors = [];
    this.waiters = new Set();
    browser.on((msg) => {
      if (msg.sessionId !== sessionId) return;
      if (msg.method === 'Network.requestWillBeSent') this.requests.push(msg.params.request.url);
      if (msg.method === 'Network.responseReceived') {
        const { url, status, mimeType } = msg.params.response;
        this.responses.push({ url, status, mimeType });
      }
      if (msg.method === 'Runtime.exceptionThrown') this.consoleErrors.push(msg.params.exceptionDetails?.exception?.description || msg.params.exceptionDetails?.text);
      if (msg.method === 'Runtime.consoleAPICalled' && msg.params.type === 'error') {
        this.consoleErrors.push(msg.params.args.map((a) => a.value ?? a.description).join(' '));
      }
      for (const w of this.waiters) w(msg);
    });
  }

  send(method, params) {
    return this.browser.send(method, params, this.sessionId);
  }

  /// Saves this page's downloads in `dir` (under their suggested names);
  /// `downloads` tracks them.
  async allowDownloads(dir) {
    this.browser.on((msg) => {
      if (msg.method === 'Browser.downloadWillBegin') {
        this.downloads.push({ guid: msg.params.guid, file: msg.params.suggestedFilename, state: 'started' });
      } else if (msg.method === 'Browser.downloadProgress') {
        const d = this.downloads.find((x) => x.guid === msg.params.guid);
        if (d) d.state = msg.params.state;
      }
    });
    await this.browser.send('Browser.setDownloadBehavior', {
      behavior: 'allow', downloadPath: dir, browserContextId: this.browserContextId, eventsEnabled: true,
    });
  }

  /// Puts files (paths on disk) into the <input type=file> `selector`, as if
  /// chosen in the file dialog, and fires its input and change events.
  async setFiles(selector, files) {
    const { root } = await this.send('DOM.getDocument', { depth: 0 });
    const { nodeId } = await this.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    if (!nodeId) throw new Error(`no element matches ${selector}`);
    await this.send('DOM.setFileInputFiles', { nodeId, files });
  }

  async init() {
    await Promise.all([this.send('Page.enable'), this.send('Runtime.enable'), this.send('Network.enable')]);
  }

  event(method, timeoutMs = 15000) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.waiters.delete(w); reject(new Error(`no ${method} in ${timeoutMs} ms`)); }, timeoutMs);
      const w = (msg) => {
        if (msg.method !== method) return;
        clearTimeout(t);
        this.waiters.delete(w);
        resolve(msg.params);
      };
      this.waiters.add(w);
    });
  }

  async goto(url) {
    const loaded = this.event('Page.loadEventFired');
    await this.send('Page.navigate', { url });
    await loaded;
  }

  /// In-app navigation (hash routes): no page load, so no load event.
  async nav(hash) {
    await this.eval((h) => {
      // Empty the view first, so that waiting for an element never finds
      // the previous page's.
      document.getElementById('main')?.replaceChildren();
      if (location.hash === h) window.dispatchEvent(new HashChangeEvent('hashchange'));
      else location.hash = h;
    }, hash);
  }

  async viewport(width, height, mobile = false) {
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile });
  }

  /// Runs `fn` (a function or expression text) in the page; returns its value.
  async eval(fn, ...args) {
    const expression = typeof fn === 'function' ? `(${fn})(...${JSON.stringify(args)})` : fn;
    const r = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) {
      throw new Error(`page: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
    }
    return r.result.value;
  }

  /// Polls `fn` in the page until it returns something truthy.
  async waitFor(fn, what, timeoutMs = 10000, ...args) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      try {
        last = await this.eval(fn, ...args);
        if (last) return last;
      } catch (e) {
        last = e.message;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /// Types text into the focused element like a keyboard would.
  async type(text) {
    await this.send('Input.insertText', { text });
  }

  /// Presses and releases a key; `text` is what it types (Enter: "\r").
  async key(key, code = key, keyCode = 0, text = undefined) {
    await this.send('Input.dispatchKeyEvent', { type: 'keyDown', key, code, windowsVirtualKeyCode: keyCode, text });
    await this.send('Input.dispatchKeyEvent', { type: 'keyUp', key, code, windowsVirtualKeyCode: keyCode });
  }

  async screenshot() {
    const { data } = await this.send('Page.captureScreenshot', { format: 'png' });
    return Buffer.from(data, 'base64');
  }
}

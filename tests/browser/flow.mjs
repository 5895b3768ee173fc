// Drives Debian's headless Chromium through the broker's browser sign-in,
// as a person would, and prints one JSON line with what it saw.
//
//   node tests/browser/flow.mjs --broker URL --emulator URL --issuer URL \
//     --out DIR --scenario alice|carol|dave
//
// Every page visited is screenshotted into DIR. Console errors, uncaught
// page errors and CSP violations are recorded for each page. On failure
// the line carries `error` and the process exits 1.

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

// Only loopback resolves: nothing the pages ask for leaves the machine.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
];

// Generous for a 2-core machine that may be compiling at the same time.
const STEP_TIMEOUT_MS = 20_000;

// How long a page must stay put to count as settled.
const QUIET_MS = 2_000;

// Provider pages (login, consent, confirm) one sign-in may pass through.
const MAX_PROVIDER_STEPS = 8;

const { values: opts } = parseArgs({
  options: {
    broker: { type: 'string' },
    emulator: { type: 'string' },
    issuer: { type: 'string' },
    out: { type: 'string' },
    scenario: { type: 'string' },
  },
});

const scenarios = { alice, carol, dave };

// Where a URL points, without its query: origin plus path.
function where(url) {
  const u = new URL(url);
  return u.origin + u.pathname;
}

// The browser, its one tab, and what was seen in it.
class Session {
  constructor(context, page) {
    this.context = context;
    this.page = page;
    this.pages = [];
    this.shots = 0;
    this.issuerRequests = 0;
    this.lastDocument = null;
    const issuer = new URL(opts.issuer).origin;
    context.on('request', (request) => {
      if (new URL(request.url()).origin === issuer) this.issuerRequests += 1;
    });
    page.on('response', (response) => {
      const request = response.request();
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
        this.lastDocument = { url: response.url(), status: response.status() };
      }
    });
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) this.pages.push(pageRecord(frame.url()));
    });
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const { url } = message.location();
      this.current().console.push({ text: message.text(), url: url || null });
    });
    page.on('pageerror', (error) => this.current().errors.push(String(error)));
  }

  // The record of the page now shown.
  current() {
    if (this.pages.length === 0) this.pages.push(pageRecord(this.page.url()));
    return this.pages[this.pages.length - 1];
  }

  // Waits for the document `action` leads to, and for it to load.
  async navigate(action) {
    const main = this.page.mainFrame();
    const arrived = this.page.waitForEvent('framenavigated', {
      predicate: (frame) => frame === main,
      timeout: STEP_TIMEOUT_MS,
    });
    await action();
    await arrived;
    await this.page.waitForLoadState('load', { timeout: STEP_TIMEOUT_MS });
    const record = this.current();
    record.title = await this.page.title();
    if (this.lastDocument?.url === this.page.url()) {
      record.status = this.lastDocument.status;
    }
  }

  async open(url) {
    await this.navigate(() => this.page.goto(url, { timeout: STEP_TIMEOUT_MS }));
  }

  // Screenshots the page into the output folder; returns the file name.
  async shot(label) {
    this.shots += 1;
    const name = `${String(this.shots).padStart(2, '0')}-${label}.png`;
    await this.page.screenshot({ path: join(opts.out, name), fullPage: true });
    this.current().screenshot = name;
    return name;
  }

  // Answers the provider's pages as `login` (any password) until the
  // browser leaves the provider.
  async signIn(login) {
    const issuer = new URL(opts.issuer).origin;
    for (let step = 0; step < MAX_PROVIDER_STEPS; step += 1) {
      if (new URL(this.page.url()).origin !== issuer) return;
      const form = this.page.locator('form').first();
      const loginField = form.locator('input[name="login"]');
      if ((await loginField.count()) > 0) {
        await loginField.fill(login);
        await form.locator('input[name="password"]').fill('any password');
        await this.shot(`login-${login}`);
      } else {
        await this.shot('provider');
      }
      const submit = form.locator('button[type="submit"]').first();
      await this.navigate(() => submit.click());
    }
    throw new Error(`still at the provider after ${MAX_PROVIDER_STEPS} pages`);
  }

  // Resolves true when no navigation happens within `ms`.
  async staysPut(ms) {
    const before = this.pages.length;
    const url = this.page.url();
    await this.page.waitForTimeout(ms);
    return this.pages.length === before && this.page.url() === url;
  }

  async text(selector) {
    return (await this.page.locator(selector).innerText()).trim();
  }

  // What the Studio page shows.
  async studio() {
    return {
      url: where(this.page.url()),
      title: await this.page.title(),
      domain: await this.text('#domain'),
      profile: await this.text('#profile'),
      space: await this.text('#space'),
    };
  }
}

function pageRecord(url) {
  return { url: where(url), title: null, status: null, screenshot: null, console: [], errors: [] };
}

// One person, one target: straight to Studio, and again without the
// provider once signed in.
async function alice(s) {
  const before = s.issuerRequests;
  await s.open(`${opts.broker}/`);
  await s.signIn('alice');
  const first = await s.studio();
  await s.shot('studio');
  first.issuer_requests = s.issuerRequests - before;

  const again = s.issuerRequests;
  await s.open(`${opts.broker}/`);
  const second = await s.studio();
  await s.shot('studio-again');
  second.issuer_requests = s.issuerRequests - again;
  return { first, second };
}

// Three targets: the chooser, one of its links, then signing out.
async function carol(s) {
  await s.open(`${opts.broker}/`);
  await s.signIn('carol');
  const chooser = await chooserPage(s);
  await s.shot('chooser');

  await s.navigate(() => s.page.locator('a[href="/go/ml/team"]').click());
  const team = await s.studio();
  await s.shot('studio-team');

  await s.open(`${opts.broker}/`);
  const back = { url: where(s.page.url()), title: await s.page.title() };
  const signOut = s.page.getByRole('button', { name: 'Sign out' });
  await s.navigate(() => signOut.click());
  const confirm = { url: where(s.page.url()), title: await s.page.title() };
  await s.shot('sign-out-confirm');
  const yes = s.page.locator('button[name="logout"][value="yes"]');
  await s.navigate(() => yes.click());
  await s.shot('signed-out');
  const signedOut = {
    url: where(s.page.url()),
    title: await s.page.title(),
    text: await s.text('body'),
    stays_put: await s.staysPut(QUIET_MS),
  };
  return { chooser, team, back, confirm, signed_out: signedOut };
}

async function chooserPage(s) {
  const links = s.page.locator('a.target');
  const items = [];
  for (let i = 0; i < (await links.count()); i += 1) {
    const link = links.nth(i);
    items.push({ href: await link.getAttribute('href'), text: (await link.innerText()).trim() });
  }
  return {
    url: where(s.page.url()),
    title: await s.page.title(),
    links: items,
    sign_out_buttons: await s.page.getByRole('button', { name: 'Sign out' }).count(),
  };
}

// No table row: the denial page.
async function dave(s) {
  await s.open(`${opts.broker}/`);
  await s.signIn('dave');
  await s.shot('denied');
  return {
    denied: {
      url: where(s.page.url()),
      status: s.current().status,
      title: await s.page.title(),
      text: await s.text('body'),
      sign_out_buttons: await s.page.getByRole('button', { name: 'Sign out' }).count(),
    },
  };
}

async function main() {
  const scenario = scenarios[opts.scenario];
  for (const name of ['broker', 'emulator', 'issuer', 'out']) {
    if (!opts[name]) throw new Error(`--${name} is required`);
  }
  if (!scenario) throw new Error(`--scenario must be one of ${Object.keys(scenarios)}`);
  await mkdir(opts.out, { recursive: true });

  const profile = await mkdtemp(join(tmpdir(), 'studio-broker-chromium-'));
  let context;
  let session;
  const report = { scenario: opts.scenario };
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1000, height: 700 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    session = new Session(context, page);
    Object.assign(report, await scenario(session));
  } catch (error) {
    report.error = String(error?.stack ?? error);
    await session?.shot('failure').catch(() => {});
    process.exitCode = 1;
  } finally {
    report.pages = session?.pages ?? [];
    await context?.close().catch(() => {});
    await rm(profile, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error) => {
  process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`);
  process.exitCode = 1;
});

import { test, expect, Page } from '@playwright/test';
import { spawn, ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import { hydrated, EMAIL, PASSWORD } from './helpers';

// The second factor in a real browser (issue 29), on a server of its own:
// WebAuthn needs a domain as relying party, so this one is browsed at
// http://localhost:PORT with its public URL set to match, and its sudo window
// is short (15 s) so the test can outlast it.
//   1. Enrol an authenticator app (the secret read from the page, the code
//      computed here), sign out, sign in with the code of a later step.
//   2. Register a passkey with Chromium's virtual authenticator (DevTools'
//      WebAuthn domain), sign out, sign in with it; a copy whose counter went
//      back is refused.
//   3. A token creation after the sudo window asks for the password first
//      and keeps what was typed in the form.

const PORT = Number(process.env.PREQ_E2E_PORT ?? 3939) + 1;
const BASE = `http://localhost:${PORT}`;
const DIR = `${os.tmpdir()}/preqstation-e2e-2fa-${PORT}`;
const BIN = process.env.PREQ_BIN ?? `${process.env.HOME}/.cache/preqstation-target/debug/preqstation`;
const SUDO_SECS = 15;

let server: ChildProcess | undefined;
let recovery: string[] = [];

/** RFC 6238 (SHA-1, 6 digits, 30 s) for `steps` steps from now. */
function totp(secret: string, steps = 0): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) key.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + steps));
  const h = crypto.createHmac('sha1', Buffer.from(key)).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  const n = (((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]) % 1_000_000;
  return n.toString().padStart(6, '0');
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  fs.rmSync(DIR, { recursive: true, force: true });
  fs.mkdirSync(DIR, { recursive: true });
  server = spawn(BIN, ['serve'], {
    env: {
      ...process.env,
      PREQSTATION_DATA_DIR: DIR,
      PREQSTATION_LISTEN: `127.0.0.1:${PORT}`,
      PREQSTATION_PUBLIC_URL: BASE,
      PREQSTATION_SUDO_WINDOW: String(SUDO_SECS),
      PREQSTATION_WEBHOOK_ALLOW_HOSTS: '127.0.0.1,localhost',
    },
    stdio: 'ignore',
  });
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the second server did not start');
});

test.afterAll(() => {
  server?.kill();
});

async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login/);
}

/** The password step; lands on the second step. */
async function password(page: Page) {
  await page.goto(`${BASE}/login`);
  await hydrated(page);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/login\/two-factor/);
  await hydrated(page);
}

async function withCode(page: Page, code: string) {
  await password(page);
  await page.getByLabel('Authentication code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByTestId('account-email')).toHaveText(EMAIL);
}

test('enrol an authenticator app, then sign in with a later code', async ({ page }) => {
  await page.goto(`${BASE}/setup`);
  await hydrated(page);
  await page.getByLabel('Setup code').fill(fs.readFileSync(`${DIR}/setup-code`, 'utf8').trim());
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByTestId('account-email')).toHaveText(EMAIL);

  await page.goto(`${BASE}/settings/security`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Set up authenticator app' }).click();
  await expect(page.getByTestId('totp-qr')).toBeVisible();
  const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
  await page.getByLabel('Code from the app').fill(totp(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  const codes = page.getByTestId('recovery-codes').locator('li');
  await expect(codes).toHaveCount(10);
  recovery = (await codes.allTextContents()).map((c) => c.trim());
  await expect(page.getByTestId('totp-on')).toBeVisible();

  await signOut(page);
  // The step used to enrol is spent; the next one signs in.
  await password(page);
  await page.getByLabel('Authentication code').fill(totp(secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByText('already used')).toBeVisible();
  await page.getByLabel('Authentication code').fill(totp(secret, 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByTestId('account-email')).toHaveText(EMAIL);
});

test('register a passkey, sign in with it, and refuse a copy whose counter went back', async ({ page }) => {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
  await withCode(page, recovery[0]);
  await page.goto(`${BASE}/settings/security`);
  await hydrated(page);
  await page.getByPlaceholder('Laptop').fill('Virtual key');
  await page.getByTestId('add-passkey').click();
  await expect(page.getByTestId('passkey-list')).toContainText('Virtual key');

  await signOut(page);
  await password(page);
  await page.getByTestId('use-passkey').click();
  await expect(page.getByTestId('account-email')).toHaveText(EMAIL);

  // A copy of the authenticator: the same key with an older counter.
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials.length).toBe(1);
  expect(credentials[0].signCount).toBeGreaterThan(1);
  await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: credentials[0].credentialId });
  await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...credentials[0], signCount: 0 } });
  await signOut(page);
  await password(page);
  await page.getByTestId('use-passkey').click();
  await expect(page.getByText('counter went back')).toBeVisible();
});

test('a token creation after the sudo window asks for the password and keeps the form', async ({ page }) => {
  await withCode(page, recovery[1]);
  await page.goto(`${BASE}/settings/api-keys`);
  await hydrated(page);
  await page.getByRole('button', { name: '+ New Token' }).click();
  await page.locator('#token-name').fill('made after the window');
  await page.waitForTimeout((SUDO_SECS + 1) * 1000);
  await page.getByRole('button', { name: 'Create token' }).click();
  const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
  await expect(dialog).toBeVisible();
  await expect(page.locator('#token-name')).toHaveValue('made after the window');
  await dialog.getByLabel('Password or authenticator code').fill(PASSWORD);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('new-token-panel')).toBeVisible();
  await expect(dialog).toBeHidden();
  await expect(page.getByText('made after the window').first()).toBeVisible();
});

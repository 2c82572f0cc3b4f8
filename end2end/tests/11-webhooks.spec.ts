import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import * as crypto from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import { hydrated, signIn } from './helpers';

// Settings > Webhooks in a real browser, against a receiver started here on
// 127.0.0.1 (the test server allows it: PREQSTATION_WEBHOOK_ALLOW_HOSTS in
// playwright.config.ts). Add an endpoint for every notification (a field
// error first), see its secret once, send a test event and see it delivered
// in the log; the receiver got it signed as Standard Webhooks says (checked
// here with Node's crypto); resend it; disable and enable; axe-core on the
// page; delete it after the confirmation.

type Hit = { method: string; path: string; headers: http.IncomingHttpHeaders; body: string };

const hits: Hit[] = [];
let receiver: http.Server;
let port = 0;

test.beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as AddressInfo).port;
});

test.afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});

/** Standard Webhooks: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed by the decoded secret. */
function signs(secret: string, hit: Hit, body = hit.body): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = crypto
    .createHmac('sha256', key)
    .update(`${hit.headers['webhook-id']}.${hit.headers['webhook-timestamp']}.${body}`)
    .digest('base64');
  return String(hit.headers['webhook-signature'])
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .some((s) => s.slice(3) === expected);
}

function testEvents(): Hit[] {
  return hits.filter((h) => h.method === 'POST' && h.path === '/hook' && h.body.includes('"type":"webhook.test"'));
}

test('add an endpoint, send a signed test event, resend it, disable it, delete it', async ({ page }) => {
  const url = `http://127.0.0.1:${port}/hook`;
  await signIn(page);
  await page.getByRole('navigation').getByRole('link', { name: 'Webhooks' }).click();
  await expect(page.getByRole('heading', { name: 'Webhooks', level: 1 })).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('webhooks-empty')).toBeVisible();

  // No event chosen: the server's answer shows by the events field.
  await page.getByRole('button', { name: '+ New endpoint' }).click();
  await page.getByLabel('URL').fill(url);
  await page.getByLabel('Description').fill('e2e receiver');
  await page.getByRole('button', { name: 'Add endpoint', exact: true }).click();
  await expect(page.locator('[data-error-for="events"]')).toContainText('Choose at least one event type');
  await expect(page.getByText('notification.token_leaked').first()).toBeHidden();
  await page.getByText(/^Every event type/).click();
  await expect(page.getByText('notification.token_leaked').first()).toBeVisible();
  await page.getByLabel('All notifications').check();
  await page.getByRole('button', { name: 'Add endpoint', exact: true }).click();

  // The secret, once.
  const panel = page.getByTestId('webhook-secret-panel');
  await expect(panel).toBeVisible();
  await expect(panel).toContainText('Copy it now: it is not shown again');
  const secret = (await page.getByTestId('webhook-secret').textContent())!.trim();
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
  const card = page.locator(`[data-testid="webhook-endpoint"][data-url="${url}"]`);
  await expect(card).toContainText('notification.*');
  await expect(card).toContainText('e2e receiver');
  await expect(card.getByTestId('endpoint-status')).toHaveText('Enabled');
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('webhook-secret')).toHaveCount(0);

  // A test event: its answer, and the log's new row.
  await card.getByRole('button', { name: 'Send test event' }).click();
  const result = card.getByTestId('test-result');
  await expect(result).toHaveAttribute('data-outcome', 'delivered', { timeout: 20_000 });
  await expect(result).toContainText('HTTP 200');
  const row = card.getByTestId('delivery-log').locator('tr[data-event="webhook.test"]');
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute('data-state', 'delivered');
  await expect(row).toContainText('Delivered');
  await expect(row.getByTestId('response-status')).toHaveText('200');

  // What the receiver got: a POST signed with the secret shown.
  await expect.poll(() => testEvents().length).toBe(1);
  const hit = testEvents()[0];
  expect(hit.headers['content-type']).toContain('application/json');
  expect(hit.headers['webhook-id']).toBeTruthy();
  expect(Math.abs(Number(hit.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(300);
  expect(String(hit.headers['webhook-signature'])).toMatch(/^v1,/);
  expect(JSON.parse(hit.body).type).toBe('webhook.test');
  expect(signs(secret, hit)).toBe(true);
  expect(signs(secret, hit, `${hit.body} `)).toBe(false);

  // Resend: the same webhook-id again, and the row still delivered.
  await row.getByRole('button', { name: /^Resend delivery/ }).click();
  await expect.poll(() => testEvents().length, { timeout: 20_000 }).toBe(2);
  expect(testEvents()[1].headers['webhook-id']).toBe(hit.headers['webhook-id']);
  expect(signs(secret, testEvents()[1])).toBe(true);
  await expect(row).toHaveAttribute('data-state', 'delivered');

  // axe-core with the log open and the add form shown.
  await page.getByRole('button', { name: '+ New endpoint' }).click();
  const axe = await new AxeBuilder({ page }).analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), 'axe-core on /settings/webhooks').toEqual([]);
  await page.getByRole('button', { name: '+ New endpoint' }).click();

  // Disable (no sudo needed), then enable again (sudo: fresh after sign-in).
  await card.getByRole('button', { name: 'Disable' }).click();
  await expect(card.getByTestId('endpoint-status')).toHaveText(/^Disabled/);
  await expect(card).toHaveAttribute('data-enabled', 'false');
  await expect(card.getByRole('button', { name: 'Send test event' })).toBeDisabled();
  await card.getByRole('button', { name: 'Enable' }).click();
  await expect(card.getByTestId('endpoint-status')).toHaveText('Enabled');

  // Delete, after the confirmation.
  await card.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this endpoint?' });
  await expect(dialog).toContainText(url);
  await dialog.getByRole('button', { name: 'Delete endpoint' }).click();
  await expect(dialog).toBeHidden();
  await expect(card).toHaveCount(0);
  await expect(page.getByTestId('webhooks-empty')).toBeVisible();
});

import { test, expect } from '@playwright/test';
import { hydrated, signIn } from './helpers';

// Rotate a token with a 1-hour grace: both work, the new one is used, the
// old one stops. Then the audit page shows the events in order, filters by
// action and downloads a CSV that contains them.

test('rotate with grace, then read the audit log', async ({ page, request }) => {
  await signIn(page);
  await page.getByRole('navigation').getByRole('link', { name: 'API Keys' }).click();
  await hydrated(page);
  // 03-projects left one active token, so there is room under the cap.
  await page.getByRole('button', { name: '+ New Token' }).click();
  await page.getByLabel('Name').fill('ci-deploy');
  await page.getByRole('button', { name: 'Create token' }).click();
  const oldToken = (await page.getByTestId('new-token').textContent())!.trim();
  await page.getByRole('button', { name: 'I have copied it' }).click();

  const row = page.locator('tr[data-token-name="ci-deploy"]').first();
  await row.getByRole('button', { name: 'Rotate' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Rotate “ci-deploy”');
  await dialog.getByLabel('Old token keeps working for').selectOption('1h');
  await dialog.getByRole('button', { name: 'Rotate token' }).click();
  const newToken = (await page.getByTestId('new-token').textContent())!.trim();
  expect(newToken).not.toBe(oldToken);
  await expect(page.getByTestId('rotation-note')).toContainText('works until');

  const whoami = (t: string) => request.get('/api/auth/whoami', { headers: { Authorization: `Bearer ${t}` } });
  // Old still works in its grace period (checked before the new one is used).
  expect((await whoami(oldToken)).status()).toBe(200);
  // First use of the new token ends the old one's grace at once.
  expect((await whoami(newToken)).status()).toBe(200);
  const stopped = await whoami(oldToken);
  expect(stopped.status()).toBe(401);
  expect((await stopped.json()).error.message).toContain('revoked');

  // The audit log, newest first.
  await page.getByRole('navigation').getByRole('link', { name: 'Audit Logs' }).click();
  await hydrated(page);
  // API events are written off the request path, a moment later.
  await expect(async () => {
    await page.reload();
    await hydrated(page);
    await expect(page.locator('tbody tr[data-action="token_reuse_detected"]').first()).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  const actions = await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
  // The old token used after its successor took over is a reuse, not a mere failure.
  const order = ['token_reuse_detected', 'token_used', 'token_rotated', 'token_created'].map((a) => actions.indexOf(a));
  expect(order.every((i) => i >= 0)).toBe(true);
  expect(order).toEqual([...order].sort((a, b) => a - b));
  await expect(page.locator('tr[data-action="token_reuse_detected"][data-security="true"]').first()).toBeVisible();

  // Details are labelled values, not a JSON string.
  const used = page.locator('tbody tr[data-action="token_used"]').first();
  await expect(used.getByTestId('audit-details')).toContainText('Method');
  await expect(used.getByTestId('audit-details')).toContainText('GET');
  await expect(used.getByTestId('audit-details')).toContainText('/api/auth/whoami');
  expect(await used.getByTestId('audit-details').textContent()).not.toContain('{"');

  // A token prefix is a link that filters the log to that token.
  const prefix = newToken.slice(0, 12);
  await used.locator(`[data-token-link="${prefix}"]`).first().click();
  await expect(page.getByLabel('Token prefix')).toHaveValue(prefix);
  await expect(async () => {
    const prefixes = await page.locator('tbody tr [data-token-link]').evaluateAll((ls) => ls.map((l) => l.getAttribute('data-token-link')));
    expect(prefixes.length).toBeGreaterThan(0);
    expect(new Set(prefixes)).toEqual(new Set([prefix]));
  }).toPass({ timeout: 10_000 });
  await page.getByLabel('Token prefix').fill('');

  // Filter by action.
  await page.getByLabel('Action').selectOption('token_rotated');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.locator('tbody tr[data-action="token_used"]')).toHaveCount(0);
  await expect(page.locator('tbody tr[data-action="token_rotated"]').first()).toContainText('ci-deploy');
  await page.screenshot({ path: 'target/screenshots/audit.png', fullPage: true });

  // Download the filtered CSV.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export CSV' }).click(),
  ]);
  const path = await download.path();
  const csv = require('fs').readFileSync(path, 'utf8') as string;
  expect(csv.split('\n')[0]).toContain('seq,time,account');
  expect(csv).toContain('token_rotated');
  expect(csv).toContain(oldToken.slice(0, 12));
  expect(csv).not.toContain(oldToken.slice(12));
  expect(csv).not.toContain('token_used');
});

import { test, expect } from '@playwright/test';
import { hydrated, signIn } from './helpers';

// Token control in a real browser: the kill switch ends every working
// token, then a token limited to a network this machine is not in gets 403
// and stays valid. Runs after the others on the shared server but the
// notifications file (files run in name order).

test('the kill switch, then an IP allowlist that excludes this machine', async ({ page, request }) => {
  await signIn(page);
  await page.goto('/settings/api-keys');
  await expect(page.getByRole('heading', { name: 'API Keys' })).toBeVisible();
  await hydrated(page);

  // Earlier files left working tokens behind; one of them is shown to work.
  const before = await page.locator('[data-filter="active"]').textContent();
  expect(before).toMatch(/Active \([1-9]\d*\)/);

  // The kill switch names the count and asks for the word.
  await page.getByRole('button', { name: 'Revoke all tokens and apps…' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('kill-switch-count')).toContainText(/This revokes \d+ API keys?/);
  await dialog.getByLabel('Type revoke to confirm').fill('revoke');
  await dialog.getByRole('button', { name: 'Revoke everything' }).click();
  await expect(page.getByTestId('kill-switch-done')).toContainText(/Revoked \d+ API keys?/);
  await expect(page.locator('[data-filter="active"]')).toHaveText('Active (0)');

  // A token that works only from 10.0.0.0/8: a typo with host bits is refused by the field.
  await page.getByRole('button', { name: '+ New Token' }).click();
  await page.getByLabel('Name').fill('office-only');
  await page.getByLabel('Allowed IPs').fill('10.0.0.1/8');
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.locator('[data-error-for="allowed_ips"]')).toContainText('did you mean 10.0.0.0/8');
  await page.getByLabel('Allowed IPs').fill('10.0.0.0/8');
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByTestId('new-token-panel')).toBeVisible();
  const token = (await page.getByTestId('new-token').textContent())!.trim();
  const row = page.locator('tr[data-token-name="office-only"]');
  await expect(row.getByTestId('allowed-ips')).toContainText('10.0.0.0/8');

  // This machine (127.0.0.1) is outside: 403, and the token stays active.
  const refused = await request.get('/api/auth/whoami', { headers: { Authorization: `Bearer ${token}` } });
  expect(refused.status()).toBe(403);
  expect((await refused.json()).error.message).toBe('Token not allowed from this IP');
  await page.reload();
  await hydrated(page);
  await expect(row.locator('[data-status]')).toHaveText('Active');

  // The token's page: the refused call in its chart and the IP it came
  // from; clearing the allowlist there lets the next call through.
  await row.getByRole('link', { name: 'office-only' }).click();
  await expect(page.getByTestId('token-name')).toHaveText('office-only');
  await hydrated(page);
  await expect(page.getByLabel('Allowed IPs')).toHaveValue('10.0.0.0/8');
  await page.getByLabel('Allowed IPs').fill('');
  await page.getByRole('button', { name: 'Save allowed IPs' }).click();
  await expect(page.getByLabel('Allowed IPs')).toHaveValue('');
  for (let i = 0; i < 2; i++) {
    const ok = await request.get('/api/auth/whoami', { headers: { Authorization: `Bearer ${token}` } });
    expect(ok.status()).toBe(200);
  }
  // The audit writer commits in the background: the page shows the calls
  // once it has.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('usage-totals')).toContainText('3 calls in 30 days');
  }).toPass({ timeout: 15_000 });
  await expect(page.locator('[data-outcome="refused"]')).toContainText('Refused (401/403): 1');
  await expect(page.locator('[data-outcome="success"]')).toContainText('Success: 2');
  await expect(page.getByTestId('usage-chart').locator('svg rect').first()).toBeVisible();
  await expect(page.getByTestId('token-ips').locator('tr[data-ip="127.0.0.1"]')).toContainText('3');
  await expect(page.getByTestId('recent-calls').locator('tbody tr')).toHaveCount(3);
});

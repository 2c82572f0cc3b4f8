import { test, expect } from '@playwright/test';
import { hydrated, signIn } from './helpers';

// Token control in a real browser: the kill switch ends every working
// token, then a token limited to a network this machine is not in gets 403
// and stays valid. Runs last on the shared server (files run in name order).

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
});

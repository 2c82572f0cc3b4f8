import { test, expect } from '@playwright/test';
import { hydrated, signIn } from './helpers';

// Notifications in a real browser: a token expiring within 7 days shows in
// the bell once the sweep (every 2 s on the test server) has found it;
// opening the list marks it read; Settings > Notifications switches its
// email off, and says email is off on this server (no SMTP configured).

test('an expiring token in the bell, the list, and its email switched off', async ({ page }) => {
  await signIn(page);
  // Earlier files' sign-ins left notifications: opening the list reads them.
  await page.goto('/notifications');
  await hydrated(page);
  await expect(page.getByTestId('bell-count')).toHaveCount(0);
  await page.goto('/settings/api-keys');
  await hydrated(page);
  await page.getByRole('button', { name: '+ New Token' }).click();
  await page.getByLabel('Name').fill('expiring-soon');
  await page.getByLabel('Expiration', { exact: true }).selectOption('7');
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByTestId('new-token-panel')).toBeVisible();

  // The bell counts on navigation: go to the overview until the sweep ran.
  const bell = page.getByTestId('bell');
  await expect(async () => {
    await page.goto('/');
    await expect(page.getByTestId('bell-count')).toBeVisible({ timeout: 1000 });
    await expect(bell).toHaveAttribute('aria-label', 'Notifications, 1 unread', { timeout: 1000 });
  }).toPass({ timeout: 30_000 });

  // Opening the list shows it as new, and marks it read: the bell empties.
  await hydrated(page);
  await bell.click();
  await expect(page).toHaveURL(/\/notifications$/);
  const item = page.locator('li[data-kind="token_expiring"]').filter({ hasText: 'expiring-soon' });
  await expect(item).toContainText('expires in 7 days');
  await expect(item).toHaveAttribute('data-new', 'true');
  await expect(item.getByRole('link', { name: 'Open the token' })).toBeVisible();
  await expect(page.getByTestId('bell-count')).toHaveCount(0);
  await page.reload();
  await hydrated(page);
  await expect(item).toHaveAttribute('data-new', 'false');

  // Settings > Notifications: email is off here, and the expiry warning's
  // email switches off; security events stay on in the dashboard.
  await page.goto('/settings/notifications');
  await hydrated(page);
  await expect(page.getByTestId('email-status')).toContainText('Email is off on this server');
  const row = page.locator('tr[data-kind="token_expiring"]');
  const email = row.getByRole('switch', { name: /by email/ });
  await expect(email).toHaveAttribute('aria-checked', 'true');
  await email.click();
  await expect(row.getByRole('switch', { name: /by email/ })).toHaveAttribute('aria-checked', 'false');
  await page.reload();
  await expect(page.locator('tr[data-kind="token_expiring"]').getByRole('switch', { name: /by email/ })).toHaveAttribute('aria-checked', 'false');
  await expect(page.locator('tr[data-kind="token_new_ip"] [data-channel="in_app"]')).toHaveText('Always on');
});

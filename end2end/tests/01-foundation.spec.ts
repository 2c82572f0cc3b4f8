import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { EMAIL, PASSWORD, hydrated, setupCode } from './helpers';

// One browser walk through the foundation: first-run setup, dashboard,
// sign out, a wrong password, sign in, cookie attributes, sign out.
// The server starts on an empty data directory, so setup runs exactly once.


test('setup, sign out, wrong password, sign in, cookie, sign out', async ({ page, context }) => {
  // First run: every page leads to setup.
  await page.goto('/');
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole('heading', { name: 'Set up Preqstation' })).toBeVisible();
  await hydrated(page);
  expect((await new AxeBuilder({ page }).analyze()).violations.map((v) => v.id), 'axe-core on /setup').toEqual([]);

  // A wrong setup code is refused next to its field.
  await page.getByLabel('Setup code').fill('AAAAA-AAAAA-AAAAA-AAAAA');
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('[data-error-for="setup_code"]')).toContainText('not valid');

  // A common password is refused, with the message next to the field and
  // nothing typed lost.
  await page.getByLabel('Setup code').fill(setupCode());
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill('password123');
  await page.getByLabel('Confirm password').fill('password123');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('[data-error-for="password"]')).toContainText('most commonly used');
  await expect(page.getByLabel('Email')).toHaveValue(EMAIL);

  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();

  // The dashboard shell with the account and the navigation.
  await expect(page.getByTestId('account-email')).toHaveText(EMAIL);
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
  for (const item of ['API Keys', 'Sessions', 'Audit Logs', 'Projects']) {
    await expect(page.getByRole('navigation').getByRole('link', { name: item })).toBeVisible();
  }

  // Setup is gone now.
  await page.goto('/setup');
  await expect(page).not.toHaveURL(/\/setup$/);

  // Sign out.
  await page.goto('/');
  await hydrated(page);
  await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  expect((await context.cookies()).find((c) => c.name === '__Host-session')).toBeUndefined();

  // A dashboard page while signed out sends us to login, and back after.
  await page.goto('/settings/sessions');
  await expect(page).toHaveURL(/\/login\?next=\/settings\/sessions$/);
  await hydrated(page);

  // Wrong password: the message is next to the password field.
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill('not my password at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('[data-error-for="password"]')).toHaveText('Incorrect email or password.');
  await expect(page.getByLabel('Email')).toHaveValue(EMAIL);

  // Right password: back to the page we asked for.
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/settings\/sessions$/);
  await expect(page.getByRole('heading', { name: 'Sessions' })).toBeVisible();
  await expect(page.getByText('This browser')).toBeVisible();

  // The session cookie as the browser holds it.
  const cookie = (await context.cookies()).find((c) => c.name === '__Host-session');
  expect(cookie, 'session cookie present').toBeDefined();
  expect(cookie!.httpOnly).toBe(true);
  expect(cookie!.secure).toBe(true);
  expect(cookie!.sameSite).toBe('Strict');
  expect(cookie!.path).toBe('/');
  expect(cookie!.domain).toBe('127.0.0.1');
  const lifetime = cookie!.expires - Date.now() / 1000;
  expect(lifetime).toBeGreaterThan(86_400 - 120);
  expect(lifetime).toBeLessThanOrEqual(86_400 + 5);
  // HttpOnly: page scripts cannot read it.
  expect(await page.evaluate(() => document.cookie)).not.toContain('__Host-session');

  // Sign out again; the old cookie value no longer opens the dashboard.
  await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await context.addCookies([{ ...cookie!, sameSite: 'Strict' }]);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login/);
});

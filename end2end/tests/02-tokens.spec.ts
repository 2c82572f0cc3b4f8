import { test, expect } from '@playwright/test';
import { hydrated, signIn } from './helpers';

// Settings > API Keys in a real browser: create, copy, use, revoke, cap.
// Runs after 01-foundation on the same server (files run in name order).

test('create a token, use it, revoke it, hit the cap', async ({ page, context, request }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await signIn(page);
  await page.getByRole('navigation').getByRole('link', { name: 'API Keys' }).click();
  await expect(page.getByRole('heading', { name: 'API Keys' })).toBeVisible();
  await hydrated(page);
  await expect(page.getByText('No API tokens yet')).toBeVisible();

  // Create: a missing name is refused next to the field.
  await page.getByRole('button', { name: '+ New Token' }).click();
  await page.getByRole('button', { name: 'Create token' }).click();
  // The browser's own `required` check stops an empty submit; a blank name
  // reaches the server and comes back next to the field.
  await page.getByLabel('Name').fill('   ');
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.locator('[data-error-for="name"]')).toContainText('Give the token a name');

  await page.getByLabel('Name').fill('claude-code-prod');
  await page.getByLabel('Expiration', { exact: true }).selectOption('30');
  await page.getByRole('button', { name: 'Create token' }).click();

  // Shown once, with a copy button and the snippet.
  const panel = page.getByTestId('new-token-panel');
  await expect(panel).toBeVisible();
  await expect(panel).toContainText('You will not be able to see it again');
  await page.screenshot({ path: 'target/screenshots/new-token.png', fullPage: true });
  const token = (await page.getByTestId('new-token').textContent())!.trim();
  expect(token).toMatch(/^preq_[0-9A-Za-z]{38}$/);
  await expect(panel.getByTestId('snippet-env')).toContainText(`export PREQSTATION_TOKEN=${token}`);
  await expect(panel.getByTestId('snippet-env')).toContainText('export PREQSTATION_API_URL=http://127.0.0.1:');
  // Seed 000's MCP config shape, running this project's binary, and the remote variant.
  const stdio = JSON.parse((await panel.getByTestId('snippet-mcp-stdio').textContent())!);
  expect(stdio.mcpServers.preqstation).toMatchObject({ command: 'preqstation', args: ['mcp'] });
  expect(stdio.mcpServers.preqstation.env.PREQSTATION_TOKEN).toBe(token);
  const remote = JSON.parse((await panel.getByTestId('snippet-mcp-remote').textContent())!);
  expect(remote.mcpServers.preqstation.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  expect(remote.mcpServers.preqstation.headers.Authorization).toBe(`Bearer ${token}`);
  await panel.getByTestId('copy-token').click();
  await expect(panel.getByTestId('copy-token')).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);

  // The list row: prefix, scopes, status.
  const row = page.locator('tr[data-token-name="claude-code-prod"]');
  await expect(row).toContainText(token.slice(0, 12));
  await expect(row).toContainText('tasks:write');
  await expect(row.locator('[data-status]')).toHaveText('Active');
  await expect(row).toContainText('Never'); // not used yet

  // The agent uses it.
  const ok = await request.get('/api/auth/whoami', { headers: { Authorization: `Bearer ${token}` } });
  expect(ok.status()).toBe(200);
  expect((await ok.json()).token.name).toBe('claude-code-prod');

  // Reloading never shows the token again; last use now shows.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('new-token-panel')).toHaveCount(0);
  expect(await page.content()).not.toContain(token);
  await expect(row).toContainText('127.0.0.1');

  // Revoke with a confirmation that names the token.
  await row.getByRole('button', { name: 'Revoke' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Revoke “claude-code-prod”?');
  await dialog.getByRole('button', { name: 'Revoke token' }).click();
  // The list shows active tokens: the revoked one moves behind its filter.
  await expect(row).toHaveCount(0);
  await expect(page.getByTestId('hidden-count')).toHaveText('1 revoked or expired token hidden.');
  await page.locator('[data-filter="revoked"]').click();
  await expect(page.locator('[data-filter="revoked"]')).toHaveText('Revoked (1)');
  await expect(row.locator('[data-status]')).toHaveText('Revoked');
  await expect(row).toContainText('by owner@example.com');
  await page.locator('[data-filter="active"]').click();

  const refused = await request.get('/api/auth/whoami', { headers: { Authorization: `Bearer ${token}` } });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error.message).toContain('revoked');
  expect(refused.headers()['www-authenticate']).toContain('error="invalid_token"');

  // Five active tokens is the cap; the sixth says how to free a slot.
  for (let i = 1; i <= 6; i++) {
    await page.getByRole('button', { name: '+ New Token' }).click();
    await page.getByLabel('Name').fill(`agent-${i}`);
    await page.getByRole('button', { name: 'Create token' }).click();
    if (i <= 5) {
      await expect(page.getByTestId('new-token-panel')).toContainText(`agent-${i}`);
    }
  }
  await expect(page.getByRole('alert')).toContainText('5 active tokens');
  await page.screenshot({ path: 'target/screenshots/api-keys.png', fullPage: true });
  await expect(page.getByRole('alert')).toContainText('Revoke a token you no longer use');
  await expect(page.locator('tr[data-token-name="agent-6"]')).toHaveCount(0);

  // Active tokens only, the revoked one counted; "All" shows it again.
  await expect(page.locator('[data-filter="active"]')).toHaveText('Active (5)');
  await expect(page.locator('tr[data-token-name="claude-code-prod"]')).toHaveCount(0);
  await expect(page.locator('tr[data-token-name="agent-1"]')).toBeVisible();
  await page.locator('[data-filter="all"]').click();
  await expect(page.locator('tr[data-token-name="claude-code-prod"]')).toBeVisible();
  await page.locator('[data-filter="active"]').click();
});

import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { hydrated, signIn } from './helpers';

// The dashboard at a desktop width and on a phone: the API Keys list fits
// (every row's Revoke button on screen and clickable), and every page passes
// an automated accessibility check (axe-core) with no violations.

async function noAxeViolations(page: Page, where: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(summary, `axe-core on ${where}`).toEqual([]);
}

for (const [width, height] of [[1280, 800], [390, 844]]) {
  test(`the API Keys list fits ${width} px`, async ({ page }) => {
    await page.setViewportSize({ width, height });
    await signIn(page);
    await page.goto('/settings/api-keys');
    await hydrated(page);
    const rows = page.locator('tr[data-token-name]');
    await expect(rows.first()).toBeVisible();
    const count = await rows.count();
    expect(count).toBeGreaterThan(0);
    // Nothing is wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, 'no horizontal scrolling').toBeLessThanOrEqual(0);
    for (let i = 0; i < count; i++) {
      const revoke = rows.nth(i).getByRole('button', { name: 'Revoke', exact: true });
      await revoke.scrollIntoViewIfNeeded();
      const box = (await revoke.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, `row ${i}'s Revoke is on screen`).toBeLessThanOrEqual(width);
      await revoke.click();
      await expect(page.getByRole('dialog')).toBeVisible();
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
      await expect(page.getByRole('dialog')).toHaveCount(0);
    }
    // Names stay on one line at desktop width.
    if (width >= 1280) {
      const name = rows.first().locator('td').first().locator('span').first();
      const lineHeight = await name.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight));
      expect((await name.boundingBox())!.height).toBeLessThan(lineHeight * 1.5);
    }
    await page.screenshot({ path: `target/screenshots/api-keys-${width}.png`, fullPage: true });
  });
}

test('every page passes axe-core', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await noAxeViolations(page, '/login');
  await signIn(page);
  for (const path of [
    '/',
    '/projects',
    '/settings/api-keys',
    '/settings/sessions',
    '/settings/audit-logs',
    '/settings/account',
    '/settings/security',
    '/admin/accounts',
    '/settings/policies',
    '/settings/notifications',
    '/settings/webhooks',
    '/settings/federation',
    '/notifications',
  ]) {
    await page.goto(path);
    await hydrated(page);
    await noAxeViolations(page, path);
  }
  // The new-token form and the revoke dialog.
  await page.goto('/settings/api-keys');
  await hydrated(page);
  await page.getByRole('button', { name: '+ New Token' }).click();
  await noAxeViolations(page, 'the new-token form');
  await page.goto('/docs/api');
  await noAxeViolations(page, '/docs/api');
});

import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { hydrated, signIn } from './helpers';

// Settings > Federation in a real browser: a GitHub Actions rule without its
// repository id is refused by the field; pinned to repository_owner_id 1001
// and repository_id 2002 (and ref=refs/heads/main) it is added and shows its
// rule-specific audience; the fork-event warning; axe-core with the form
// open; disable and enable (sudo: fresh after sign-in); change it (the form
// filled in, the audience kept); no exchanges yet;
// delete after the confirmation.

test('create a GitHub Actions rule pinned to a repository id, disable, enable, change, delete', async ({ page, baseURL }) => {
  await signIn(page);
  await page.getByRole('navigation').getByRole('link', { name: 'Federation' }).click();
  await expect(page.getByRole('heading', { name: 'Federation', level: 1 })).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('rules-empty')).toBeVisible();

  // Without the repository id: the answer names what a GitHub rule must pin.
  await page.getByRole('button', { name: '+ New rule' }).click();
  await page.getByLabel('Name').fill('deploy from main');
  await expect(page.getByLabel('Issuer', { exact: true })).toHaveValue('github_actions');
  await page.getByLabel('Repository owner ID (repository_owner_id)').fill('1001');
  await page.getByRole('button', { name: 'Add rule', exact: true }).click();
  await expect(page.locator('[data-error-for="conditions"]')).toContainText('must pin repository_owner_id and repository_id');

  // The fork-event box shows its warning.
  const warning = page.getByTestId('fork-warning');
  await expect(warning).toContainText("a fork can influence");
  await page.getByLabel('Allow pull_request_target and workflow_run events').check();
  await expect(warning).toHaveClass(/amber/);
  await page.getByLabel('Allow pull_request_target and workflow_run events').uncheck();

  // axe-core with the form open.
  const axe = await new AxeBuilder({ page }).analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), 'axe-core on /settings/federation').toEqual([]);

  // Pinned to the repository id, with a branch condition.
  await page.getByLabel('Repository ID (repository_id)').fill('2002');
  await page.getByLabel(/^Further conditions/).fill('ref=refs/heads/main');
  await page.getByLabel('Lifetime (minutes)').fill('10');
  await page.getByRole('button', { name: 'Add rule', exact: true }).click();
  const added = page.getByTestId('rule-added');
  await expect(added).toBeVisible();
  const audience = (await added.getByTestId('rule-audience').textContent())!.trim();
  expect(audience).toMatch(new RegExp(`^${(baseURL ?? '').replace(/\/$/, '')}/federation/[0-9a-f-]{36}$`));

  const card = page.locator('[data-testid="federation-rule"][data-name="deploy from main"]');
  await expect(card).toContainText('GitHub Actions');
  await expect(card.getByTestId('rule-audience')).toHaveText(audience);
  await expect(card.getByTestId('rule-condition')).toHaveText([
    'ref = refs/heads/main',
    'repository_id = 2002',
    'repository_owner_id = 1001',
  ]);
  await expect(card).toContainText('10 min');
  await expect(card.getByTestId('rule-status')).toHaveText('Enabled');
  await page.getByRole('button', { name: 'Done' }).click();

  // Disable (no sudo needed), enable again (sudo: fresh after sign-in).
  await card.getByRole('button', { name: 'Disable' }).click();
  await expect(card.getByTestId('rule-status')).toHaveText('Disabled');
  await expect(card).toHaveAttribute('data-enabled', 'false');
  await card.getByRole('button', { name: 'Enable' }).click();
  await expect(card.getByTestId('rule-status')).toHaveText('Enabled');

  // Change it (sudo: fresh after sign-in): the form comes filled in.
  await card.getByRole('button', { name: 'Change', exact: true }).click();
  const form = card.locator('form').filter({ has: page.getByRole('button', { name: 'Save changes' }) });
  await expect(form.getByLabel('Repository ID (repository_id)')).toHaveValue('2002');
  await expect(form.getByLabel(/^Further conditions/)).toHaveValue('ref=refs/heads/main');
  await form.getByLabel('Lifetime (minutes)').fill('20');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(card).toContainText('20 min');
  await expect(card.getByTestId('rule-audience')).toHaveText(audience);

  // No exchanges yet.
  await card.getByRole('button', { name: 'Recent exchanges' }).click();
  await expect(card.getByTestId('exchanges-empty')).toBeVisible();

  // Delete, after the confirmation.
  await card.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this trust rule?' });
  await expect(dialog).toContainText('deploy from main');
  await dialog.getByRole('button', { name: 'Delete rule' }).click();
  await expect(dialog).toBeHidden();
  await expect(card).toHaveCount(0);
  await expect(page.getByTestId('rules-empty')).toBeVisible();
});

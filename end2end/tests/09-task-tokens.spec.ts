import { test, expect } from '@playwright/test';
import { hydrated, signIn } from './helpers';

// Task-scoped tokens in a real browser (issue 28): a token created with
// tokens:delegate and a usage limit; an agent exchanges it for a task token
// (RFC 8693); the subject token's page shows the live task token, which the
// owner revokes there, and its next call is 401. Runs last on the shared
// server (files run in name order; earlier files made the projects).

test('the subject token page lists a live task token and revokes it', async ({ page, request }) => {
  await signIn(page);
  await page.goto('/settings/api-keys');
  await hydrated(page);
  await page.getByRole('button', { name: '+ New Token' }).click();
  await page.getByLabel('Name').fill('orchestrator');
  await page.locator('input[name="scope_tokens_delegate"]').check();
  await page.locator('#token-usage-limit').fill('1000');
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByTestId('new-token-panel')).toBeVisible();
  const subject = (await page.getByTestId('new-token').textContent())!.trim();
  const auth = { Authorization: `Bearer ${subject}` };

  // The agent's side: a task of one of the owner's projects, exchanged for.
  const projects = await (await request.get('/api/projects', { headers: auth })).json();
  const created = await request.post('/api/tasks', {
    headers: auth,
    data: { project_id: projects.data[0].id, title: 'for a sub-agent' },
  });
  expect(created.status()).toBe(201);
  const task = (await created.json()).id;
  const exchanged = await request.post('/oauth/token', {
    form: {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subject,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      authorization_details: JSON.stringify([{ type: 'preqstation_task', task_id: task }]),
    },
  });
  expect(exchanged.status()).toBe(200);
  const child = (await exchanged.json()).access_token as string;
  expect(child).toMatch(/^preq_tt_[0-9A-Za-z]{38}$/);
  const used = await request.get(`/api/tasks/${task}`, { headers: { Authorization: `Bearer ${child}` } });
  expect(used.status()).toBe(200);
  expect(used.headers()['preqstation-usage-remaining']).toBeDefined();

  // The owner's side: the subject's page, its limit and its task token.
  const self = await (await request.get('/api/tokens/self', { headers: auth })).json();
  await page.goto(`/settings/api-keys/${self.id}`);
  await hydrated(page);
  await expect(page.getByTestId('usage-limit')).toContainText(/of 1000 calls left/);
  const row = page.locator(`tr[data-task-token="${child.slice(0, 12)}"]`);
  await expect(row).toBeVisible();
  await expect(row).toContainText('for a sub-agent');
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByTestId('no-task-tokens')).toBeVisible();
  const refused = await request.get(`/api/tasks/${task}`, { headers: { Authorization: `Bearer ${child}` } });
  expect(refused.status()).toBe(401);
});

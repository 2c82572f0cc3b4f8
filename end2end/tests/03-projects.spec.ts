import { test, expect } from '@playwright/test';
import { hydrated, signIn } from './helpers';

// The owner makes a project and a token; an agent (this test, over HTTP)
// works through the API; the owner sees the result in the dashboard.

test('an agent works on a project and the owner sees it', async ({ page, request }) => {
  await signIn(page);

  // The owner creates a project with settings.
  await page.getByRole('navigation').getByRole('link', { name: 'Projects' }).click();
  await hydrated(page);
  await page.getByLabel('Name').fill('website');
  await page.getByLabel('Settings').fill('repo = git@example.com:site.git\nbranch = main');
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page.getByRole('link', { name: /website/ })).toBeVisible();

  // 02-tokens left five active tokens (the cap): free a slot, then create a token.
  await page.getByRole('navigation').getByRole('link', { name: 'API Keys' }).click();
  await hydrated(page);
  for (const name of ['agent-1', 'agent-2', 'agent-3', 'agent-4', 'agent-5']) {
    const row = page.locator(`tr[data-token-name="${name}"]`);
    await row.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
    await expect(row).toHaveCount(0); // moved behind the Revoked filter
  }
  await page.getByRole('button', { name: '+ New Token' }).click();
  await page.getByLabel('Name').fill('codex-testing');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = (await page.getByTestId('new-token').textContent())!.trim();
  const auth = { Authorization: `Bearer ${token}` };

  // The agent: list projects, create a task and a work log, finish the task.
  const projects = await (await request.get('/api/projects', { headers: auth })).json();
  const project = projects.data.find((p: any) => p.name === 'website');
  expect(project.settings.branch).toBe('main');
  const created = await request.post('/api/tasks', {
    headers: { ...auth, 'Idempotency-Key': 'e2e-task-1' },
    data: { project_id: project.id, title: 'Add a contact page', description: 'Form posts to /contact' },
  });
  expect(created.status()).toBe(201);
  const task = await created.json();
  const log = await request.post(`/api/tasks/${task.id}/worklogs`, {
    headers: auth,
    data: { message: 'Built the form and its validation', minutes: 40 },
  });
  expect(log.status()).toBe(201);
  const done = await request.patch(`/api/tasks/${task.id}`, {
    headers: auth,
    data: { status: 'done', result: 'Merged in #12' },
  });
  expect((await done.json()).status).toBe('done');

  // The owner sees the task, its status and the work log.
  await page.goto(`/projects/${project.id}`);
  await hydrated(page);
  await expect(page.getByTestId('project-name')).toHaveText('website');
  const card = page.locator('li[data-task="Add a contact page"]');
  await expect(card.getByTestId('task-status')).toHaveText('Done');
  await expect(card).toContainText('Merged in #12');
  await expect(card.getByTestId('worklog')).toContainText('Built the form and its validation (40 min)');
  await expect(card).toContainText(`by token ${token.slice(0, 12)}`);

  // The owner moves it back to review from the dashboard.
  await card.getByLabel('New status').selectOption('review');
  await card.getByRole('button', { name: 'Set status' }).click();
  await expect(page.locator('li[data-task="Add a contact page"]').getByTestId('task-status')).toHaveText('In review');
  const after = await (await request.get(`/api/tasks/${task.id}`, { headers: auth })).json();
  expect(after.status).toBe('review');
  await page.screenshot({ path: 'target/screenshots/project.png', fullPage: true });
});

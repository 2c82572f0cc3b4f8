import { test, expect } from '@playwright/test';
import * as http from 'http';
import { AddressInfo } from 'net';
import { hydrated, signIn } from './helpers';

// The OAuth consent page in Chromium (issue 15): a client registers, its
// authorization request lands on the consent page after sign-in, Allow is
// clicked, and the redirect (a form POST answered with a redirect to
// another origin, which form-action governs) arrives at the client's
// loopback listener with the code, the state and the issuer. Then the app
// is in Connected apps and Revoke removes it.

test('consent: Allow sends the code to the client, Connected apps revokes it', async ({ page, request, baseURL }) => {
  // The client's loopback listener (RFC 8252), as a CLI MCP host runs one.
  const arrived: string[] = [];
  const server = http.createServer((req, res) => {
    arrived.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('You can close this tab.');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  const redirect = `http://127.0.0.1:${port}/callback`;
  try {
    const reg = await request.post('/oauth/register', {
      data: { client_name: 'Playwright host', redirect_uris: [redirect] },
    });
    expect(reg.status()).toBe(201);
    const clientId = (await reg.json()).client_id as string;

    await signIn(page);
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirect,
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      state: 'state-from-playwright',
      resource: `${baseURL}/mcp`,
      scope: 'projects:read tasks:read',
    });
    await page.goto(`/oauth/authorize?${params}`);
    await expect(page).toHaveURL(/\/oauth\/consent\?request=/);
    await hydrated(page);
    await expect(page.getByRole('heading', { level: 1 })).toContainText('Playwright host');
    await expect(page.getByText('registered dynamically, unverified')).toBeVisible();
    await expect(page.getByRole('note')).toContainText('only redirects to this computer');
    await expect(page.getByRole('checkbox', { name: /tasks:read/ })).toBeChecked();
    // Untick one scope: the grant gets the other only.
    await page.getByRole('checkbox', { name: /tasks:read/ }).uncheck();
    await page.getByRole('button', { name: 'Allow' }).click();
    await expect.poll(() => arrived.length).toBe(1);
    const q = new URL(arrived[0], redirect).searchParams;
    expect(q.get('state')).toBe('state-from-playwright');
    expect(q.get('iss')).toBe(baseURL);
    expect(q.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    await page.goto('/settings/connected-apps');
    await hydrated(page);
    const row = page.locator('tr', { hasText: 'Playwright host' });
    await expect(row).toContainText('projects:read');
    await expect(row).not.toContainText('tasks:read');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await expect(page.getByText('No connected apps.')).toBeVisible();
  } finally {
    server.close();
  }
});

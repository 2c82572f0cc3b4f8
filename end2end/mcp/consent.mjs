// The person's part of the OAuth flow, in Debian's Chromium through
// Playwright: open the authorization URL the MCP SDK produced, sign in when
// asked, click Allow on the consent page, and print the URL the browser was
// sent back to (the client's redirect URI with code, state and iss).
//
// Usage: node end2end/mcp/consent.mjs <authorization URL>   (EMAIL, PASSWORD)
// Bounded: 45 s in all. Exit 1 with one line on stderr when anything fails.
import { chromium } from '@playwright/test';

const [authorizationUrl] = process.argv.slice(2);
const redirect = new URL(new URL(authorizationUrl).searchParams.get('redirect_uri'));
const deadline = setTimeout(() => {
  console.error('consent: did not finish within 45 s');
  process.exit(1);
}, 45_000);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  let arrived = null;
  // The client's loopback listener: answer whatever reaches it.
  await page.route(`${redirect.origin}/**`, async (route) => {
    arrived = route.request().url();
    await route.fulfill({ status: 200, contentType: 'text/plain', body: 'You can close this tab.' });
  });
  await page.goto(authorizationUrl);
  if (new URL(page.url()).pathname === '/login') {
    await page.locator('html[data-hydrated="true"]').waitFor();
    await page.getByLabel('Email').fill(process.env.EMAIL);
    await page.getByLabel('Password').fill(process.env.PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await page.waitForURL(/\/oauth\/consent\?request=/);
  await page.getByRole('button', { name: 'Allow' }).click();
  for (let i = 0; i < 150 && !arrived; i++) await page.waitForTimeout(100);
  if (!arrived) throw new Error('the redirect to the client never arrived');
  console.log(arrived);
} catch (e) {
  console.error(`consent: ${e.message.split('\n')[0]}`);
  process.exitCode = 1;
} finally {
  clearTimeout(deadline);
  await browser.close();
}

import { expect, Page } from '@playwright/test';
import * as fs from 'fs';
import { DATA_DIR } from '../playwright.config';

export const EMAIL = 'owner@example.com';
export const PASSWORD = 'a long and unusual passphrase';

/** Waits until the wasm bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await page.locator('html[data-hydrated="true"]').waitFor();
}

/** The one-time setup code the server wrote to its data directory. */
export function setupCode(): string {
  return fs.readFileSync(`${DATA_DIR}/setup-code`, 'utf8').trim();
}

/** Signs in as the owner, creating the account first if the server is new. */
export async function signIn(page: Page) {
  await page.goto('/');
  await hydrated(page);
  if (page.url().endsWith('/setup')) {
    await page.getByLabel('Setup code').fill(setupCode());
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
  } else if (page.url().includes('/login')) {
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await expect(page.getByTestId('account-email')).toHaveText(EMAIL);
}

import { defineConfig, devices } from '@playwright/test';
import * as os from 'os';

// Runs against the real server binary (PREQ_BIN, built by `make test`) on a
// fresh data directory and its own port, in Debian's Chromium.
const PORT = Number(process.env.PREQ_E2E_PORT ?? 3939);
const BASE = `http://127.0.0.1:${PORT}`;
const BIN = process.env.PREQ_BIN ?? `${process.env.HOME}/.cache/preqstation-target/debug/preqstation`;
// A fixed path (the config is evaluated again in each worker), emptied when
// the server starts; tests read the one-time setup code from it.
export const DATA_DIR = `${os.tmpdir()}/preqstation-e2e-${PORT}`;

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  // A hung run fails in bounded time instead of holding CI.
  globalTimeout: 20 * 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: '../target/playwright-results',
  use: {
    baseURL: BASE,
    trace: 'off',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { ...devices['Desktop Chrome'] } }],
  webServer: {
    command: `bash -c 'rm -rf "${DATA_DIR}" && mkdir -p "${DATA_DIR}" && exec env PREQSTATION_DATA_DIR="${DATA_DIR}" PREQSTATION_LISTEN=127.0.0.1:${PORT} PREQSTATION_PUBLIC_URL=${BASE} PREQSTATION_SWEEP_INTERVAL=2 PREQSTATION_WEBHOOK_ALLOW_HOSTS=127.0.0.1,localhost "${BIN}" serve'`,
    url: `${BASE}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});

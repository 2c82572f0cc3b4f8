// The official MCP TypeScript SDK (npm @modelcontextprotocol/sdk, pinned in
// package.json) against the real binary, over streamable HTTP:
//
// 1. with an API key as bearer token: list the tools (which makes the SDK
//    validate every later structured result against the tool's output
//    schema), call one that succeeds, then one that fails (get_task with an
//    unknown id). The failure must reach the agent as a result with
//    isError and the error code in its text, not as a thrown McpError
//    -32602 (an error result whose structuredContent did not match the
//    output schema);
// 2. with the SDK's own OAuth client provider, registering dynamically (the
//    SDK's clientMetadataUrl takes https URLs only) and sending no `state`,
//    as the SDK's example client does: the person's part (sign in, Allow)
//    is end2end/mcp/consent.mjs in Chromium; then list the tools with the
//    access token.
//
// Needs BASE (the server's public URL), TOKEN (an API key with the default
// agent scopes), PROJECT (a project of the key's owner), EMAIL and PASSWORD
// (to sign in in Chromium). Prints one line per check and ends with
// "TS SDK client: N passed, M failed"; exits 1 on any failure. Bounded:
// 120 s in all.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const { BASE, TOKEN, PROJECT } = process.env;
const MCP_URL = new URL(`${BASE}/mcp`);
// Answered by Chromium's route in consent.mjs, never contacted.
const REDIRECT = 'http://127.0.0.1:43118/callback';

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) {
    passed += 1;
    console.log(`  ok    ${name}`);
  } else {
    failed += 1;
    console.log(`  FAIL  ${name} ${detail}`);
  }
}

const textOf = (result) =>
  (result?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

async function apiKey() {
  const client = new Client({ name: 'preqstation-ts-e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(MCP_URL, {
    requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
  });
  await client.connect(transport);
  try {
    check('api key: initialized', client.getServerVersion()?.name !== undefined, JSON.stringify(client.getServerVersion()));
    const tools = (await client.listTools()).tools.map((t) => t.name);
    check('api key: tools/list', tools.includes('list_projects') && tools.includes('get_task'), tools.join(','));
    const ok = await client.callTool({ name: 'list_projects', arguments: {} });
    check('api key: list_projects succeeds', !ok.isError && textOf(ok).includes(PROJECT) , textOf(ok).slice(0, 200));
    let bad;
    try {
      bad = await client.callTool({ name: 'get_task', arguments: { id: 'not-a-task' } });
    } catch (e) {
      check('api key: a tool error comes back as a result, not a thrown error', false, `${e.name}: ${e.message}`);
      return;
    }
    check('api key: a tool error comes back as a result with isError', bad.isError === true, JSON.stringify(bad));
    check('api key: its text carries the error code', textOf(bad).includes('NOT_FOUND'), textOf(bad));
  } finally {
    await client.close();
  }
}

/** An in-memory OAuthClientProvider without `state()`: the SDK then sends no state. */
class MemoryProvider {
  constructor() {
    this.info = undefined;
    this.saved = undefined;
    this.verifier = undefined;
    this.authorizationUrl = undefined;
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: 'MCP TS SDK e2e (registered, no state)',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

async function oauth() {
  const provider = new MemoryProvider();
  const first = new Client({ name: 'preqstation-ts-e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(MCP_URL, { authProvider: provider });
  let unauthorized = false;
  try {
    await first.connect(transport);
  } catch (e) {
    unauthorized = e instanceof UnauthorizedError;
    if (!unauthorized) throw e;
  }
  check('oauth: the 401 sent the SDK to authorize', unauthorized && provider.authorizationUrl !== undefined);
  const clientId = provider.info?.client_id ?? '';
  check('oauth: the SDK registered dynamically', clientId.startsWith('dyn_'), clientId);
  const url = provider.authorizationUrl;
  check('oauth: the authorization request carries no state', !url.searchParams.has('state'), url.href);

  let redirected;
  try {
    const { stdout } = await promisify(execFile)('node', ['end2end/mcp/consent.mjs', url.href], {
      timeout: 60_000,
      env: process.env,
    });
    redirected = new URL(stdout.trim());
  } catch (e) {
    const why = (e.stderr || e.message || '').toString().trim().split('\n')[0];
    check('oauth: Chromium signed in and clicked Allow; the code came back', false, why);
    return;
  }
  const code = redirected.searchParams.get('code');
  check('oauth: Chromium signed in and clicked Allow; the code came back', Boolean(code), redirected.href);
  check('oauth: the redirect carries no state either', !redirected.searchParams.has('state'), redirected.href);
  await transport.finishAuth(code);
  const access = provider.saved?.access_token ?? '';
  check('oauth: an access token with the OAuth prefix', access.startsWith('preq_oat_'), access.slice(0, 12));
  check('oauth: a refresh token', Boolean(provider.saved?.refresh_token));

  const client = new Client({ name: 'preqstation-ts-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(MCP_URL, { authProvider: provider }));
  try {
    const tools = (await client.listTools()).tools.map((t) => t.name);
    check('oauth: tools/list with the OAuth access token', tools.includes('list_projects'), tools.join(','));
  } finally {
    await client.close();
  }
}

const deadline = setTimeout(() => {
  console.log('  FAIL  TS SDK client run: did not finish within 120 s');
  console.log(`TS SDK client: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, 120_000);

for (const [label, part] of [['api key', apiKey], ['oauth', oauth]]) {
  try {
    await part();
  } catch (e) {
    check(`${label}: run`, false, `${e?.name}: ${e?.message}`);
  }
}
clearTimeout(deadline);
console.log(`TS SDK client: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;

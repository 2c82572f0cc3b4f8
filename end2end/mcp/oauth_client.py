"""The official MCP Python SDK's OAuth client against the real binary
(issue 15), twice: once identified by a Client ID Metadata Document (served
here on 127.0.0.1, which the server is configured to allow), once through
dynamic registration. Each time it starts from the 401 of /mcp and
discovers everything itself (protected-resource metadata,
authorization-server metadata), runs the authorization-code flow with PKCE,
and calls `tools/list` with the access token it got. The person's part (sign in,
Allow on the consent page) is done in Chromium by end2end/mcp/consent.mjs
(Playwright). Then the access token calls GET /api/auth/whoami, the app is
revoked from Connected apps, and the next call is refused.

Needs BASE (public URL), COOKIE (a session of the account, for Connected
apps), EMAIL and PASSWORD (to sign in in Chromium). Bounded in time.
"""

import asyncio
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

BASE = os.environ["BASE"]
COOKIE = os.environ["COOKIE"]
REDIRECT = "http://127.0.0.1:43117/callback"  # answered by Chromium's route in consent.mjs, never contacted

passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok    {name}")
    else:
        failed += 1
        print(f"  FAIL  {name} {detail}")


class MemoryStorage:
    def __init__(self):
        self.tokens = None
        self.client_info = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, info: OAuthClientInformationFull) -> None:
        self.client_info = info


class ChromiumBrowser:
    """The person's part, in Chromium (end2end/mcp/consent.mjs): sign in,
    click Allow on the consent page; the code is read off the redirect."""

    def __init__(self):
        self.result = None
        self.ok = False

    async def redirect(self, authorization_url: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            "node", "end2end/mcp/consent.mjs", authorization_url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        if proc.returncode != 0:
            raise RuntimeError(err.decode().strip() or "consent.mjs failed")
        q = parse_qs(urlparse(out.decode().strip()).query)
        self.ok = "code" in q
        self.result = AuthorizationCodeResult(
            code=q["code"][0], state=q.get("state", [None])[0], iss=q.get("iss", [None])[0]
        )

    async def callback(self) -> AuthorizationCodeResult:
        return self.result


def serve_metadata_document(name):
    """The client's metadata document on 127.0.0.1; returns its URL."""
    holder = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({
                "client_id": holder["url"],
                "client_name": name,
                "redirect_uris": [REDIRECT],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            }).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "max-age=300")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["url"] = f"http://127.0.0.1:{server.server_address[1]}/oauth/client.json"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return holder["url"], server


async def flow(label, name, metadata_url=None):
    storage, browser = MemoryStorage(), ChromiumBrowser()
    provider = OAuthClientProvider(
        server_url=f"{BASE}/mcp",
        client_metadata=OAuthClientMetadata(client_name=name, redirect_uris=[REDIRECT]),
        storage=storage,
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
    )
    if metadata_url:
        # The SDK accepts only https metadata URLs in its constructor; the
        # document is served over http on 127.0.0.1 here, so it is set after
        # (the server allows that host by configuration, as an admin would).
        provider.context.client_metadata_url = metadata_url
    async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
        async with Client(
            streamable_http_client(f"{BASE}/mcp", http_client=http), mode="legacy", cache=None
        ) as c:
            tools = [t.name for t in (await c.list_tools()).tools]
    client_id = storage.client_info.client_id if storage.client_info else ""
    if metadata_url:
        check(f"{label}: the client is its metadata document's URL", client_id == metadata_url, client_id)
    else:
        check(f"{label}: the SDK registered dynamically", client_id.startswith("dyn_"), client_id)
    check(f"{label}: Chromium signed in and clicked Allow; the code came back", browser.ok)
    check(f"{label}: tools/list with the OAuth access token", "list_projects" in tools, str(tools))
    access = storage.tokens.access_token if storage.tokens else ""
    check(f"{label}: an access token with the OAuth prefix", access.startswith("preq_oat_"), access[:12])
    check(f"{label}: a refresh token", bool(storage.tokens and storage.tokens.refresh_token))

    async with httpx2.AsyncClient(timeout=30) as h:
        bearer = {"Authorization": f"Bearer {access}"}
        me = await h.get(f"{BASE}/api/auth/whoami", headers=bearer)
        check(f"{label}: GET /api/auth/whoami with the access token", me.status_code == 200, me.text)
        rpc = {"Cookie": COOKIE, "Origin": BASE, "Accept": "application/json"}
        apps = (await h.post(f"{BASE}/rpc/oauth/connected-apps", headers=rpc)).json()
        mine = [a for a in apps if a["client_name"] == name]
        check(f"{label}: Connected apps lists it", len(mine) == 1, str(apps))
        if mine:
            r = await h.post(f"{BASE}/rpc/oauth/revoke-app", content=urlencode({"id": mine[0]["id"]}),
                             headers={**rpc, "Content-Type": "application/x-www-form-urlencoded"})
            check(f"{label}: revoke from Connected apps", r.status_code == 200, r.text)
        me = await h.get(f"{BASE}/api/auth/whoami", headers=bearer)
        check(f"{label}: the next call after revoking is 401", me.status_code == 401, str(me.status_code))
        mcp = await h.post(
            f"{BASE}/mcp",
            headers={**bearer, "Accept": "application/json, text/event-stream",
                     "Content-Type": "application/json", "MCP-Protocol-Version": "2025-11-25"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        )
        check(f"{label}: and /mcp refuses it too", mcp.status_code == 401, str(mcp.status_code))


async def main():
    url, server = serve_metadata_document("MCP SDK e2e (metadata document)")
    try:
        await flow("metadata document", "MCP SDK e2e (metadata document)", url)
    finally:
        server.shutdown()
    await flow("dynamic registration", "MCP SDK e2e (registered)")
    print(f"OAuth client: {passed} passed, {failed} failed")
    return failed


if __name__ == "__main__":
    try:
        sys.exit(1 if asyncio.run(asyncio.wait_for(main(), 120)) else 0)
    except Exception as e:  # any exception is a failed run, said in one line
        # A TaskGroup's error says only how many it holds: name the first.
        while isinstance(e, BaseExceptionGroup) and e.exceptions:
            e = e.exceptions[0]
        print(f"  FAIL  OAuth client run: {type(e).__name__}: {e}")
        print("OAuth client: 0 passed, 1 failed")
        sys.exit(1)

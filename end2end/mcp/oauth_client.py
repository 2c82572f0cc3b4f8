"""The official MCP Python SDK's OAuth client against the real binary
(issue 15): it starts from the 401 of /mcp and discovers everything itself
(protected-resource metadata, authorization-server metadata), registers
dynamically, runs the authorization-code flow with PKCE, and calls
`tools/list` with the access token it got. The person's part (sign in,
Allow on the consent page) is done here over HTTP with a signed-in session
cookie, as the browser would; end2end/tests/06-oauth.spec.ts clicks Allow in
Chromium. Then the access token calls GET /api/auth/whoami, the app is
revoked from Connected apps, and the next call is refused.

Needs BASE (public URL), COOKIE (a session of the account). Bounded in time.
"""

import asyncio
import os
import sys
from urllib.parse import parse_qs, urlparse

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
REDIRECT = "http://127.0.0.1:1/callback"  # never contacted: the code is read off the redirect

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


class SignedInBrowser:
    """Follows the authorization URL with the owner's session, allows every
    scope asked for on the consent page, and reads the code off the redirect."""

    def __init__(self):
        self.result = None
        self.consent_seen = False

    async def redirect(self, authorization_url: str) -> None:
        headers = {"Cookie": COOKIE}
        async with httpx2.AsyncClient(timeout=30) as b:
            r = await b.get(authorization_url, headers=headers)
            location = r.headers.get("location", "")
            self.consent_seen = r.status_code == 303 and location.startswith("/oauth/consent?request=")
            request = parse_qs(urlparse(location).query)["request"][0]
            page = await b.get(f"{BASE}{location}", headers=headers)
            scopes = parse_qs(urlparse(authorization_url).query).get("scope", [""])[0].split()
            self.page_ok = page.status_code == 200
            form = [("request", request), ("decision", "allow")] + [("scope", s) for s in scopes]
            r = await b.post(
                f"{BASE}/oauth/decision",
                data=form,
                headers={**headers, "Origin": BASE},
            )
        q = parse_qs(urlparse(r.headers["location"]).query)
        self.result = AuthorizationCodeResult(
            code=q["code"][0], state=q.get("state", [None])[0], iss=q.get("iss", [None])[0]
        )

    async def callback(self) -> AuthorizationCodeResult:
        return self.result


async def main():
    storage, browser = MemoryStorage(), SignedInBrowser()
    provider = OAuthClientProvider(
        server_url=f"{BASE}/mcp",
        client_metadata=OAuthClientMetadata(client_name="MCP SDK e2e", redirect_uris=[REDIRECT]),
        storage=storage,
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
    )
    async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
        async with Client(
            streamable_http_client(f"{BASE}/mcp", http_client=http), mode="legacy", cache=None
        ) as c:
            tools = [t.name for t in (await c.list_tools()).tools]
    check("the SDK registered dynamically", storage.client_info is not None
          and storage.client_info.client_id.startswith("dyn_"))
    check("the consent page came up for the signed-in owner", browser.consent_seen and browser.page_ok)
    check("tools/list with the OAuth access token", "list_projects" in tools, str(tools))
    access = storage.tokens.access_token if storage.tokens else ""
    check("an access token with the OAuth prefix", access.startswith("preq_oat_"), access[:12])
    check("a refresh token", bool(storage.tokens and storage.tokens.refresh_token))

    async with httpx2.AsyncClient(timeout=30) as h:
        bearer = {"Authorization": f"Bearer {access}"}
        me = await h.get(f"{BASE}/api/auth/whoami", headers=bearer)
        check("GET /api/auth/whoami with the access token", me.status_code == 200, me.text)
        rpc = {"Cookie": COOKIE, "Origin": BASE, "Accept": "application/json"}
        apps = (await h.post(f"{BASE}/rpc/oauth/connected-apps", headers=rpc)).json()
        mine = [a for a in apps if a["client_name"] == "MCP SDK e2e"]
        check("Connected apps lists it", len(mine) == 1, str(apps))
        if mine:
            r = await h.post(f"{BASE}/rpc/oauth/revoke-app", headers=rpc, data={"id": mine[0]["id"]})
            check("revoke from Connected apps", r.status_code == 200, r.text)
        me = await h.get(f"{BASE}/api/auth/whoami", headers=bearer)
        check("the next call after revoking is 401", me.status_code == 401, str(me.status_code))
        mcp = await h.post(
            f"{BASE}/mcp",
            headers={**bearer, "Accept": "application/json, text/event-stream",
                     "Content-Type": "application/json", "MCP-Protocol-Version": "2025-11-25"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        )
        check("and /mcp refuses it too", mcp.status_code == 401, str(mcp.status_code))

    print(f"OAuth client: {passed} passed, {failed} failed")
    return failed


if __name__ == "__main__":
    try:
        sys.exit(1 if asyncio.run(asyncio.wait_for(main(), 120)) else 0)
    except Exception as e:  # any exception is a failed run, said in one line
        print(f"  FAIL  OAuth client run: {type(e).__name__}: {e}")
        print("OAuth client: 0 passed, 1 failed")
        sys.exit(1)

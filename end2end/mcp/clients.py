"""Real MCP clients against the real binary: the official MCP Python SDK
(PyPI `mcp`, pinned in requirements.txt), not code of ours.

1. Streamable HTTP, once per protocol generation (2025-11-25 with its
   `initialize` handshake, 2026-07-28 stateless), through a round-robin TCP
   proxy in front of two server instances on one database, so consecutive
   requests land on different instances: list the tools, call create_task,
   and find the task through `GET /api/tasks`.
2. `preqstation mcp` launched by the SDK as a stdio server with the two
   variables of seed 000's config: the same.
3. `preqstation mcp` with missing or bad variables, an unreachable URL or a
   revoked token: a non-zero exit within seconds, one line on stderr, and the
   token nowhere in its output.

Every step is bounded in time. Prints one line per check and a summary.
"""

import asyncio
import itertools
import os
import subprocess
import sys
import time

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

BASE = os.environ["BASE"]  # the proxy's URL = the servers' public URL
BACKENDS = [int(p) for p in os.environ["BACKEND_PORTS"].split(",")]
PROXY_PORT = int(os.environ["PROXY_PORT"])
TOKEN = os.environ["TOKEN"]
REVOKED = os.environ["REVOKED_TOKEN"]
READER = os.environ["READER_TOKEN"]
PROJECT = os.environ["PROJECT"]
BIN = os.environ["BIN"]

passed, failed = 0, 0
backend_hits = {p: 0 for p in BACKENDS}


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok    {name}")
    else:
        failed += 1
        print(f"  FAIL  {name} {detail}")


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def start_proxy():
    """Each new connection goes to the next instance."""
    ports = itertools.cycle(BACKENDS)

    async def handle(client_reader, client_writer):
        port = next(ports)
        backend_hits[port] += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))
        except (ConnectionError, asyncio.CancelledError):
            client_writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", PROXY_PORT)


async def task_titles(http):
    res = await http.get(f"{BASE}/api/tasks", params={"project_id": PROJECT, "limit": 100})
    res.raise_for_status()
    return [t["title"] for t in res.json()["data"]]


async def exercise(client, label, http):
    names = sorted(t.name for t in (await client.list_tools(cache_mode="bypass")).tools)
    check(f"{label}: tools/list shows the token's tools", "create_task" in names and "whoami" in names, names)
    check(f"{label}: self-rotation is not a tool", not any("rotate" in n for n in names), names)
    title = f"from the Python SDK ({label})"
    res = await client.call_tool("create_task", {"project_id": PROJECT, "title": title})
    check(f"{label}: create_task succeeds", not res.is_error, res.content)
    check(f"{label}: structured result is the task", (res.structured_content or {}).get("title") == title,
          res.structured_content)
    check(f"{label}: the task is visible through GET /api/tasks", title in await task_titles(http))
    bad = await client.call_tool("get_task", {"id": "not-a-task"})
    check(f"{label}: a bad id is a tool error with the API's code", bad.is_error
          and "NOT_FOUND" in str(bad.content), bad.content)
    check(f"{label}: a tool error has no structuredContent (it would not match the output schema)",
          bad.structured_content is None, bad.structured_content)


async def http_clients():
    # No keep-alive: every request opens a connection, so the proxy
    # alternates instances between consecutive requests of one client.
    limits = httpx2.Limits(max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx2.AsyncClient(headers=headers, limits=limits, timeout=30.0) as http:
        for mode, label in [("legacy", "2025-11-25"), ("2026-07-28", "2026-07-28")]:
            transport = streamable_http_client(f"{BASE}/mcp", http_client=http)
            async with Client(transport, mode=mode, cache=None) as client:
                check(f"{label}: negotiated {client.protocol_version}", client.protocol_version == label,
                      client.protocol_version)
                await exercise(client, label, http)
    check("requests reached both instances", all(n > 0 for n in backend_hits.values()), backend_hits)

    # The scope filter, seen by the SDK.
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {READER}"}, timeout=30.0) as http:
        transport = streamable_http_client(f"{BASE}/mcp", http_client=http)
        async with Client(transport, mode="2026-07-28", cache=None) as client:
            names = sorted(t.name for t in (await client.list_tools()).tools)
            check("projects:read token lists no task tools", not any("task" in n for n in names), names)


async def stdio_client():
    env = {"PREQSTATION_API_URL": BASE, "PREQSTATION_TOKEN": TOKEN, "RUST_LOG": "warn"}
    params = StdioServerParameters(command=BIN, args=["mcp"], env=env)
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30.0) as http:
        async with Client(params) as client:
            await exercise(client, "stdio", http)


def stdio_refusals():
    cases = [
        ("missing variables", {}),
        ("missing token", {"PREQSTATION_API_URL": BASE}),
        ("malformed URL", {"PREQSTATION_API_URL": "ftp://x", "PREQSTATION_TOKEN": TOKEN}),
        ("malformed token", {"PREQSTATION_API_URL": BASE,
                             "PREQSTATION_TOKEN": TOKEN[:-1] + ("y" if TOKEN.endswith("x") else "x")}),
        ("unreachable URL", {"PREQSTATION_API_URL": "http://127.0.0.1:9", "PREQSTATION_TOKEN": TOKEN}),
        ("revoked token", {"PREQSTATION_API_URL": BASE, "PREQSTATION_TOKEN": REVOKED}),
    ]
    for name, env in cases:
        start = time.monotonic()
        try:
            out = subprocess.run([BIN, "mcp"], env={"PATH": os.environ["PATH"], **env}, stdin=subprocess.PIPE,
                                 capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            check(f"stdio {name}: exits", False, "still running after 20 s")
            continue
        took = time.monotonic() - start
        err = out.stderr.decode(errors="replace").strip()
        text = err + out.stdout.decode(errors="replace")
        check(f"stdio {name}: exit {out.returncode} in {took:.1f} s, one stderr line",
              out.returncode != 0 and took < 15 and len(err.splitlines()) == 1 and not out.stdout, err)
        check(f"stdio {name}: no token in the output", TOKEN not in text and REVOKED not in text)


async def main():
    proxy = await start_proxy()
    try:
        await asyncio.wait_for(http_clients(), 120)
        await asyncio.wait_for(stdio_client(), 120)
    finally:
        proxy.close()
    stdio_refusals()
    print(f"MCP clients: {passed} passed, {failed} failed")
    return 1 if failed else 0


sys.exit(asyncio.run(main()))

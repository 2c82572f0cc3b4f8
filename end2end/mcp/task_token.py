"""A task-scoped token (issue 28) with real clients: `preqstation tokens
exchange` (the binary's own CLI) trades an orchestrator's token for a task
token; the official MCP Python SDK, connected with it over streamable HTTP,
lists only the task token's tools, reads and completes its task; its next
call is refused (401); and `preqstation mcp` over stdio with a fresh task
token lists the same tools. Prints one line per check and a summary.
"""

import asyncio
import os
import subprocess
import sys

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

BASE = os.environ["BASE"]
DELEGATE = os.environ["DELEGATE_TOKEN"]
TASK = os.environ["TASK"]
SECOND_TASK = os.environ["SECOND_TASK"]
BIN = os.environ["BIN"]
TASK_TOOLS = sorted(["add_work_log", "get_project", "get_task", "get_token_info", "list_work_logs",
                     "revoke_own_token", "update_task", "whoami"])

passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok    {name}")
    else:
        failed += 1
        print(f"  FAIL  {name} {detail}")


def exchange(task):
    """`eval "$(preqstation tokens exchange --task T --ttl 10m)"`, read as a dict."""
    out = subprocess.run([BIN, "tokens", "exchange", "--task", task, "--ttl", "10m"],
                         env={"PATH": os.environ["PATH"], "PREQSTATION_API_URL": BASE,
                              "PREQSTATION_TOKEN": DELEGATE},
                         capture_output=True, timeout=30)
    lines = out.stdout.decode().splitlines()
    exports = dict(line[len("export "):].split("=", 1) for line in lines if line.startswith("export "))
    check("tokens exchange prints the export lines", out.returncode == 0
          and exports.get("PREQSTATION_TOKEN", "").startswith("preq_tt_")
          and exports.get("PREQSTATION_TASK_ID") == task, out.stderr.decode())
    check("tokens exchange does not print the subject token", DELEGATE not in out.stdout.decode())
    return exports.get("PREQSTATION_TOKEN", "")


async def over_http(token):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30.0) as http:
        transport = streamable_http_client(f"{BASE}/mcp", http_client=http)
        async with Client(transport, mode="2026-07-28", cache=None) as client:
            names = sorted(t.name for t in (await client.list_tools(cache_mode="bypass")).tools)
            check("http: tools/list shows only the task token's tools", names == TASK_TOOLS, names)
            res = await client.call_tool("get_task", {"id": TASK})
            check("http: get_task reads its task", not res.is_error
                  and (res.structured_content or {}).get("id") == TASK, res.content)
            res = await client.call_tool("get_task", {"id": SECOND_TASK})
            check("http: another task is FORBIDDEN", res.is_error and "FORBIDDEN" in str(res.content), res.content)
            res = await client.call_tool("add_work_log", {"id": TASK, "message": "done by a sub-agent"})
            check("http: add_work_log on its task", not res.is_error, res.content)
            res = await client.call_tool("update_task", {"id": TASK, "status": "done", "result": "fixed"})
            check("http: update_task completes its task", not res.is_error
                  and (res.structured_content or {}).get("status") == "done", res.content)
            try:
                await client.list_tools(cache_mode="bypass")
                check("http: after completion the next call is refused", False, "it was answered")
            except Exception as e:  # the SDK raises on the HTTP 401
                check("http: after completion the next call is refused", True)
    res = httpx2.get(f"{BASE}/api/auth/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    check("http: and the REST API answers 401", res.status_code == 401, res.status_code)


async def over_stdio(token):
    env = {"PREQSTATION_API_URL": BASE, "PREQSTATION_TOKEN": token, "RUST_LOG": "warn"}
    async with Client(StdioServerParameters(command=BIN, args=["mcp"], env=env)) as client:
        names = sorted(t.name for t in (await client.list_tools()).tools)
        check("stdio: tools/list shows only the task token's tools", names == TASK_TOOLS, names)
        res = await client.call_tool("list_tasks", {})
        check("stdio: list_tasks is a FORBIDDEN tool error", res.is_error and "FORBIDDEN" in str(res.content),
              res.content)


async def main():
    await asyncio.wait_for(over_http(exchange(TASK)), 60)
    await asyncio.wait_for(over_stdio(exchange(SECOND_TASK)), 60)
    print(f"Task token: {passed} passed, {failed} failed")
    return 1 if failed else 0


sys.exit(asyncio.run(main()))

"""The host configurations /docs/mcp offers, checked by the hosts' own CLIs.

Reads the setup page the real binary serves, takes each host's block as a
person would copy it, and hands it to the host: Claude Code (npm) adds the
one-line form and reads the `.mcp.json` and stdio forms, then connects to the
server with the token from PREQSTATION_TOKEN (`claude mcp get` says
"Connected"); Codex (npm) parses the TOML and reports the URL and the
variable it takes the bearer token from. VS Code does not install from a
registry here: its JSON is checked for the shape its documentation gives.

Environment: BASE (the server, whose public URL it is), TOKEN (an API key),
BIN (the preqstation binary, for the stdio form), HOSTS (the directory whose
node_modules/.bin holds claude and codex).
"""

import html
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

BASE = os.environ["BASE"].rstrip("/")
TOKEN = os.environ["TOKEN"]
BIN = os.environ["BIN"]
HOSTS_BIN = os.path.join(os.environ["HOSTS"], "node_modules", ".bin")
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def blocks():
    page = urllib.request.urlopen(f"{BASE}/docs/mcp", timeout=10).read().decode()
    found = re.findall(r'<pre data-host="([a-z-]+)"[^>]*>(.*?)</pre>', page, re.S)
    return {host: html.unescape(text) for host, text in found}


# `preqstation` on the PATH, as the stdio form expects it.
BIN_DIR = tempfile.mkdtemp(prefix="preq-bin-")
os.symlink(os.path.abspath(BIN), os.path.join(BIN_DIR, "preqstation"))


def env_for(home):
    env = dict(os.environ)
    env.update(
        HOME=home,
        CODEX_HOME=os.path.join(home, ".codex"),
        PREQSTATION_TOKEN=TOKEN,
        PATH=f"{BIN_DIR}:{HOSTS_BIN}:{env.get('PATH', '')}",
        DISABLE_AUTOUPDATER="1",
        DISABLE_TELEMETRY="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
    )
    return env


def run(args, home, cwd, shell=False):
    out = subprocess.run(
        args, cwd=cwd, env=env_for(home), shell=shell, executable="/bin/bash" if shell else None,
        capture_output=True, text=True, timeout=120,
    )
    return out.returncode, out.stdout + out.stderr


def workspace():
    home = tempfile.mkdtemp(prefix="preq-host-")
    project = os.path.join(home, "project")
    os.makedirs(project)
    os.makedirs(os.path.join(home, ".codex"))
    return home, project


def connected(output):
    return "Connected" in output and "Failed" not in output


def main():
    b = blocks()
    check("the page offers every host", set(b) >= {"claude-code", "claude-code-json", "codex", "vscode", "stdio"}, sorted(b))
    for host, text in b.items():
        check(f"{host}: no secret on the page", "preq_" not in text.replace("PREQSTATION", ""), text)

    # Claude Code, the one line, run as pasted.
    home, project = workspace()
    code, out = run(b.get("claude-code", "false"), home, project, shell=True)
    check("claude mcp add takes the line", code == 0, out)
    code, out = run(["claude", "mcp", "get", "preqstation"], home, project)
    check("claude connects with the line's server", code == 0 and connected(out) and f"{BASE}/mcp" in out, out)

    # Claude Code, the project's .mcp.json (it expands ${PREQSTATION_TOKEN}),
    # approved as a person approves it on first use.
    home, project = workspace()
    with open(os.path.join(project, ".mcp.json"), "w") as f:
        f.write(b.get("claude-code-json", "{}"))
    # (Claude Code keeps that answer per project in ~/.claude.json.)
    with open(os.path.join(home, ".claude.json"), "w") as f:
        json.dump({"projects": {project: {
            "hasTrustDialogAccepted": True, "enabledMcpjsonServers": ["preqstation"],
        }}}, f)
    code, out = run(["claude", "mcp", "get", "preqstation"], home, project)
    check("claude reads .mcp.json and connects", code == 0 and connected(out), out)

    # The stdio form: Claude Code starts `preqstation mcp` with the env.
    home, project = workspace()
    server = json.loads(b.get("stdio", "{}")).get("mcpServers", {}).get("preqstation", {})
    server["env"]["PREQSTATION_TOKEN"] = TOKEN  # what ${PREQSTATION_TOKEN} stands for
    code, out = run(["claude", "mcp", "add-json", "preqstation", json.dumps(server)], home, project)
    check("claude mcp add-json takes the stdio form", code == 0, out)
    code, out = run(["claude", "mcp", "get", "preqstation"], home, project)
    check("claude starts preqstation mcp and connects", code == 0 and connected(out), out)

    # Codex parses the TOML: the URL and the variable the token comes from.
    home, project = workspace()
    with open(os.path.join(home, ".codex", "config.toml"), "w") as f:
        f.write(b.get("codex", ""))
    code, out = run(["codex", "mcp", "get", "preqstation", "--json"], home, project)
    try:
        transport = json.JSONDecoder().raw_decode(out[out.index("{"):])[0]["transport"]
    except (ValueError, KeyError) as e:
        transport = {"error": str(e)}
    check(
        "codex reads the TOML",
        code == 0 and transport.get("url") == f"{BASE}/mcp"
        and transport.get("bearer_token_env_var") == "PREQSTATION_TOKEN"
        and transport.get("type") == "streamable_http",
        out,
    )

    # VS Code: the documented shape (servers, type http, an input for the token).
    vscode = json.loads(b.get("vscode", "{}"))
    server = vscode.get("servers", {}).get("preqstation", {})
    check(
        "vscode mcp.json has the documented shape",
        server.get("type") == "http" and server.get("url") == f"{BASE}/mcp"
        and server.get("headers", {}).get("Authorization") == "Bearer ${input:preqstation-token}"
        and vscode.get("inputs", [{}])[0].get("password") is True,
        vscode,
    )

    print(f"Host configs: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""A local OIDC issuer for the CI federation tests (server/tests/federation.rs).

Keys are made per run with `cryptography`; tokens are signed with PyPI `pyjwt`.
It serves, on 127.0.0.1 and a free port (printed as one JSON line on stdout):

- /gh   a GitHub Actions-shaped issuer (RS256): discovery document and JWKS;
- /gl   a GitLab-shaped issuer (ES256);
- /liar an issuer whose discovery document names another issuer;
- POST /mint    {"issuer", "claims", "kid"?, "alg"?, "key"?}: an ID token
                (claims merge over the defaults, null removes one; kid
                overrides the header's; alg "none" and "HS256-public" build
                the classic forgeries; key "unpublished" signs with a key the
                JWKS does not list);
- POST /rotate  {"issuer"}: a new key replaces the old one in the JWKS;
- POST /cache   {"issuer", "max_age"}: the JWKS's Cache-Control max-age;
- GET  /stats   how often each discovery document and JWKS was fetched;
- GET  /actions-token?audience=A with "Authorization: bearer
  actions-runtime-token": a GitHub Actions runtime's ID-token answer.

It exits when its stdin closes, so it never outlives the test.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

RUNTIME_TOKEN = "actions-runtime-token"
LOCK = threading.Lock()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Key:
    def __init__(self, alg: str):
        self.alg = alg
        self.kid = uuid.uuid4().hex[:16]
        if alg == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())

    def jwk(self) -> dict:
        algo = RSAAlgorithm if self.alg == "RS256" else ECAlgorithm
        out = json.loads(algo.to_jwk(self.private.public_key()))
        out.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        return out

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


GITHUB = {
    "sub": "repo:octo-org/octo-repo:ref:refs/heads/main",
    "ref": "refs/heads/main",
    "sha": "d6b4f0c2b1a9e8f7d6c5b4a39281706f5e4d3c2b",
    "repository": "octo-org/octo-repo",
    "repository_owner": "octo-org",
    "repository_owner_id": "1001",
    "repository_id": "2002",
    "repository_visibility": "private",
    "run_id": "123456789",
    "run_number": "7",
    "run_attempt": "1",
    "actor": "octocat",
    "actor_id": "3003",
    "workflow": "CI",
    "workflow_ref": "octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main",
    "workflow_sha": "d6b4f0c2b1a9e8f7d6c5b4a39281706f5e4d3c2b",
    "job_workflow_ref": "octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main",
    "event_name": "push",
    "ref_type": "branch",
    "ref_protected": "true",
    "head_ref": "",
    "base_ref": "",
    "runner_environment": "github-hosted",
}

GITLAB = {
    "sub": "project_path:octo-group/octo-project:ref_type:branch:ref:main",
    "namespace_id": "4004",
    "namespace_path": "octo-group",
    "project_id": "5005",
    "project_path": "octo-group/octo-project",
    "user_id": "6006",
    "user_login": "octocat",
    "pipeline_id": "42",
    "pipeline_source": "push",
    "job_id": "99",
    "ref": "main",
    "ref_type": "branch",
    "ref_protected": "true",
}


class Issuer:
    def __init__(self, name: str, alg: str, defaults: dict, claimed: str | None = None):
        self.name = name
        self.alg = alg
        self.defaults = defaults
        self.claimed = claimed
        self.keys = [Key(alg)]
        self.unpublished = Key(alg)
        self.max_age = 300
        self.jwks_fetches = 0
        self.discovery_fetches = 0


ISSUERS = {
    "gh": Issuer("gh", "RS256", GITHUB),
    "gl": Issuer("gl", "ES256", GITLAB),
    "liar": Issuer("liar", "RS256", GITHUB, claimed="other"),
}
BASE = ""


def issuer_url(name: str) -> str:
    return f"{BASE}/{name}"


class BadRequest(Exception):
    pass


def mint(name: str, claims: dict, alg: str | None = None, key: str | None = None,
         kid: str | None = None) -> str:
    issuer = ISSUERS[name]
    now = int(time.time())
    body = {"iss": issuer_url(name), "iat": now, "nbf": now, "exp": now + 300,
            "jti": str(uuid.uuid4())}
    body.update(issuer.defaults)
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    if key not in (None, "current", "unpublished"):
        raise BadRequest(f"key {key!r}: current or unpublished")
    if alg not in (None, "none", "HS256-public", issuer.alg):
        raise BadRequest(f"alg {alg!r}: {issuer.alg}, none or HS256-public for {name}")
    signer = issuer.unpublished if key == "unpublished" else issuer.keys[-1]
    kid = kid or signer.kid
    if alg == "none":
        header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        return f"{header}.{b64(json.dumps(body).encode())}."
    if alg == "HS256-public":
        header = {"alg": "HS256", "typ": "JWT", "kid": kid}
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
        mac = hmac.new(signer.public_pem(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(mac)}"
    return jwt.encode(body, signer.private, algorithm=signer.alg, headers={"kid": kid})


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status: int, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        with LOCK:
            if url.path == "/stats":
                return self.answer(200, {
                    "jwks_fetches": {n: i.jwks_fetches for n, i in ISSUERS.items()},
                    "discovery_fetches": {n: i.discovery_fetches for n, i in ISSUERS.items()},
                })
            if url.path == "/actions-token":
                scheme, _, given = self.headers.get("Authorization", "").partition(" ")
                if scheme.lower() != "bearer" or given.strip() != RUNTIME_TOKEN:
                    return self.answer(401, {"message": "bad runtime token"})
                audience = parse_qs(url.query).get("audience", [None])[0]
                claims = {"aud": audience} if audience else {}
                return self.answer(200, {"value": mint("gh", claims), "count": 1})
            issuer = ISSUERS.get(parts[0]) if parts else None
            if issuer is None:
                return self.answer(404, {"error": "not found"})
            rest = "/".join(parts[1:])
            if rest == ".well-known/openid-configuration":
                issuer.discovery_fetches += 1
                return self.answer(200, {
                    "issuer": issuer_url(issuer.claimed or issuer.name),
                    "jwks_uri": f"{issuer_url(issuer.name)}/jwks",
                    "subject_types_supported": ["public", "pairwise"],
                    "response_types_supported": ["id_token"],
                    "claims_supported": sorted(set(issuer.defaults) | {"iss", "aud", "exp", "iat", "nbf", "jti"}),
                    "id_token_signing_alg_values_supported": [issuer.alg],
                    "scopes_supported": ["openid"],
                })
            if rest == "jwks":
                issuer.jwks_fetches += 1
                return self.answer(
                    200,
                    {"keys": [k.jwk() for k in issuer.keys]},
                    {"Cache-Control": f"max-age={issuer.max_age}"},
                )
        return self.answer(404, {"error": "not found"})

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise BadRequest("the body is a JSON object")
            return self.control(body)
        except (BadRequest, ValueError, KeyError, TypeError) as e:
            return self.answer(400, {"error": f"bad request: {e}"})

    def control(self, body: dict):
        with LOCK:
            issuer = ISSUERS.get(body.get("issuer", ""))
            if issuer is None:
                return self.answer(400, {"error": "unknown issuer"})
            if self.path == "/mint":
                token = mint(issuer.name, body.get("claims") or {}, body.get("alg"),
                             body.get("key"), body.get("kid"))
                return self.answer(200, {"token": token})
            if self.path == "/rotate":
                issuer.keys = [Key(issuer.alg)]
                return self.answer(200, {"kid": issuer.keys[0].kid})
            if self.path == "/cache":
                issuer.max_age = int(body["max_age"])
                return self.answer(200, {"max_age": issuer.max_age})
        return self.answer(404, {"error": "not found"})


def main():
    global BASE
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    BASE = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""Verifies recorded webhook deliveries with the Standard Webhooks library
(PyPI `standardwebhooks`), independently of the server's own signing.

Usage: verify.py SECRET RECORDS.jsonl
Each line of RECORDS is {"headers": {...}, "body": "..."}. Prints
"verified N" and exits 0 when every delivery verifies and a tampered copy
of each does not; exits 1 naming the first that fails.
"""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main() -> int:
    secret, path = sys.argv[1], sys.argv[2]
    wh = Webhook(secret)
    n = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            headers = rec["headers"]
            body = rec["body"]
            try:
                wh.verify(body, headers)
            except WebhookVerificationError as e:
                print(f"FAILED {headers.get('webhook-id')}: {e}")
                return 1
            try:
                wh.verify(body + " ", headers)
                print(f"TAMPERED BODY ACCEPTED {headers.get('webhook-id')}")
                return 1
            except WebhookVerificationError:
                pass
            n += 1
    print(f"verified {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

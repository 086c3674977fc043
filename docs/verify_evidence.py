#!/usr/bin/env python3
"""Re-check a Meekijk evidence pack without Meekijk: python3 verify_evidence.py pack.json

Each entry's hash must equal SHA-256(prevHash || canonical JSON of the entry),
where the canonical JSON is the object {actor, at, event, ip, payload, seq}
with keys sorted, no white space, and non-ASCII characters as they are.
"""
import hashlib
import json
import sys


def canonical(value):
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # The one escape beyond JSON's minimum: line and paragraph separators.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode("utf-8")


def main(path):
    with open(path, encoding="utf-8") as f:
        pack = json.load(f)
    entries = pack["entries"]
    for e in entries:
        body = {k: e[k] for k in ("actor", "at", "event", "ip", "payload", "seq")}
        digest = hashlib.sha256(bytes.fromhex(e["prevHash"]) + canonical(body)).hexdigest()
        if digest != e["hash"]:
            print(f"entry {e['seq']} ({e['event']}) does NOT check: its content or predecessor was changed")
            return 1
    print(f"all {len(entries)} entries check; chain head at export: seq {pack['headSeq']} hash {pack['headHash']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

#!/usr/bin/env python3
"""Re-check a Meekijk evidence pack without Meekijk:

    python3 verify_evidence.py pack.json [--recording session.mkv]

Each entry's hash must equal SHA-256(prevHash || canonical JSON of the entry),
where the canonical JSON is the object {actor, at, event, ip, payload, seq}
with keys sorted, no white space, and non-ASCII characters as they are.

With --recording, a downloaded recording is checked against the hashes the
pack's entries hold: every chunk (session.recording_chunk: offset, bytes,
sha256) and, once sealed, the whole file (session.recording_sealed).
"""
import hashlib
import json
import sys


def canonical(value):
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # The one escape beyond JSON's minimum: line and paragraph separators.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode("utf-8")


def check_recording(entries, path):
    """Returns a problem, or None when the file matches the pack."""
    with open(path, "rb") as f:
        data = f.read()
    chunks = [e["payload"]["detail"] for e in entries if e["event"] == "session.recording_chunk"]
    sealed = [e["payload"]["detail"] for e in entries if e["event"] == "session.recording_sealed"]
    if not chunks:
        return "the pack records no recording chunks"
    end = 0
    for c in chunks:
        start, size = int(c["offset"]), int(c["bytes"])
        if start + size > len(data):
            return f"chunk {c['seq']} is missing: the file ends at byte {len(data)}, the chunk at {start + size}"
        if hashlib.sha256(data[start:start + size]).hexdigest() != c["sha256"]:
            return f"chunk {c['seq']} (bytes {start}-{start + size - 1}) does NOT match its SHA-256: the file was changed"
        end = start + size
    if sealed:
        if len(data) != end:
            return f"the file holds {len(data)} bytes, the recorded chunks {end}"
        if hashlib.sha256(data).hexdigest() != sealed[-1]["sha256"]:
            return "the whole file does NOT match the sealed SHA-256"
    return None


def main(argv):
    args = argv[1:]
    recording = None
    if "--recording" in args:
        i = args.index("--recording")
        recording = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__)
        return 2
    with open(args[0], encoding="utf-8") as f:
        pack = json.load(f)
    entries = pack["entries"]
    for e in entries:
        body = {k: e[k] for k in ("actor", "at", "event", "ip", "payload", "seq")}
        digest = hashlib.sha256(bytes.fromhex(e["prevHash"]) + canonical(body)).hexdigest()
        if digest != e["hash"]:
            print(f"entry {e['seq']} ({e['event']}) does NOT check: its content or predecessor was changed")
            return 1
    print(f"all {len(entries)} entries check; chain head at export: seq {pack['headSeq']} hash {pack['headHash']}")
    if recording is not None:
        problem = check_recording(entries, recording)
        if problem:
            print(f"recording {recording}: {problem}")
            return 1
        print(f"recording {recording} matches the hashes of its chunks and of the sealed file")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

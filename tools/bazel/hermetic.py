"""Checks that every action in an aquery can run anywhere: no host path in
its command line or environment, and no tag that opts it out of the
sandbox, the remote cache or remote execution.

Usage: hermetic.py AQUERY_JSONPROTO PATH... (the checkout, the output base,
$HOME: paths an action must not name). Exits 1 if an action does.
"""
import json
import sys

OPT_OUT = {"local", "no-sandbox", "no-remote", "no-remote-exec", "no-cache"}


def main():
    data = json.load(open(sys.argv[1]))
    paths = [p for p in sys.argv[2:] if p and p != "/"]
    actions = data.get("actions", [])
    problems = []
    for a in actions:
        words = a.get("arguments", []) + [
            "%s=%s" % (e["key"], e.get("value", "")) for e in a.get("environmentVariables", [])
        ]
        for w in words:
            if any(p in w for p in paths):
                problems.append("%s: host path in %r" % (a["mnemonic"], w))
                break
        tags = {k["key"] for k in a.get("executionInfo", [])} & OPT_OUT
        if tags:
            problems.append("%s: tags %s" % (a["mnemonic"], sorted(tags)))
    print("%d actions, %d problems" % (len(actions), len(problems)))
    for p in problems[:20]:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""spawns.py EXEC_LOG...: one line per spawn of Bazel JSON execution logs.

Prints "mnemonic<TAB>cache hit (true/false)<TAB>first output<TAB>configuration
<TAB>runner" (linux-sandbox, worker, remote cache hit, ...), outputs without
their bazel-out/<configuration>/bin/ prefix. Used by
tools/bazel/ci.sh and examples/linux/bazel.sh to count cache hits and list
the actions that ran.
"""

import json
import re
import sys

dec = json.JSONDecoder()
for name in sys.argv[1:]:
    text = open(name).read()
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        obj, i = dec.raw_decode(text, i)
        listed = sorted(obj.get("listedOutputs", []))
        outs = [re.sub(r"^bazel-out/[^/]+/bin/", "", o) for o in listed]
        cfg = listed[0].split("/")[1] if listed and listed[0].startswith("bazel-out/") else "-"
        print("%s\t%s\t%s\t%s\t%s" % (obj.get("mnemonic", "?"), str(obj.get("cacheHit", False)).lower(),
                                      outs[0] if outs else "-", cfg, obj.get("runner", "?")))

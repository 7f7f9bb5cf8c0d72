#!/usr/bin/env python3
"""Helpers of examples/linux/e2e.sh that need more than shell.

  bootcheck.py load-order OBJTREE MODDIR
      Print the modules of OBJTREE/modules.order as installed under MODDIR
      (lib/modules/R), dependencies first (from each module's .modinfo): the
      path below MODDIR/kernel, with the compression suffix if any.
  bootcheck.py check VERIFY_JSON CASES SERIAL_LOG
      Compare what 'modhashes verify --json' predicted for each case with
      what the kernel did in the serial log; print a table, exit 1 on any
      mismatch.  CASES has one "NAME EXPECT PATH_IN_INITRAMFS HOST_PATH"
      line per insmod, in load order; EXPECT is ok, reject, or pkcs7 (the
      module must load by its PKCS#7 signature, which modhashes verify
      reports as such but cannot check); a guest path "modprobe:NAME" is
      loaded with modprobe.
  bootcheck.py loaded-diff A B
      Compare what two ELF files load: program headers and every allocated
      section (name, address, size, contents); print the sections whose
      contents differ, exit 1 if anything else does.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

# What modules_install may add to a module's name.
COMPRESSION_SUFFIXES = ("", ".gz", ".xz", ".zst")

# The kernel's reason in "Loading of %s is rejected" (kernel/module/signing.c)
# for each non-fatal outcome of 'modhashes verify'.
KERNEL_REASON = {
    "unsigned": "unsigned module",
    "-ENOPKG": "module with unsupported crypto",
    "-ENOKEY": "module with unavailable key",
}


def modinfo(path):
    with tempfile.NamedTemporaryFile() as tmp:
        subprocess.run([os.environ.get("OBJCOPY", "objcopy"), "-O", "binary", "--only-section=.modinfo",
                        path, tmp.name], check=True)
        data = open(tmp.name, "rb").read()
    info = {}
    for field in data.split(b"\0"):
        if b"=" in field:
            k, v = field.decode().split("=", 1)
            info.setdefault(k, v)
    return info


def load_order(objtree, moddir):
    with open(os.path.join(objtree, "modules.order")) as f:
        # kbuild 6.2+ lists objects (lib/x.o), 6.1 modules (lib/x.ko).
        paths = [re.sub(r"\.k?o$", ".ko", line.strip()) for line in f if line.strip()]
    names, deps = {}, {}
    for p in paths:
        info = modinfo(os.path.join(objtree, p))
        names[info["name"]] = p
        deps[p] = [d for d in info.get("depends", "").split(",") if d]
    done, out = set(), []

    def visit(p, stack):
        if p in done:
            return
        if p in stack:
            raise SystemExit(f"dependency cycle at {p}")
        for d in deps[p]:
            if d not in names:
                raise SystemExit(f"{p}: depends on {d}, which is not an in-tree module")
            visit(names[d], stack | {p})
        done.add(p)
        out.append(p)

    for p in paths:
        visit(p, frozenset())
    for p in out:
        installed = [p + c for c in COMPRESSION_SUFFIXES if os.path.isfile(os.path.join(moddir, "kernel", p + c))]
        if len(installed) != 1:
            raise SystemExit(f"{os.path.join(moddir, 'kernel', p)}: installed {len(installed)} times")
        print(installed[0])


def check(verify_json, cases_file, log_file):
    with open(verify_json) as f:
        verdicts = {os.path.realpath(m["file"]): m for m in json.load(f)["modules"]}
    cases = []
    with open(cases_file) as f:
        for line in f:
            if line.strip():
                name, expect, guest, host = line.split()
                cases.append((name, expect, guest, os.path.realpath(host)))
    log = open(log_file, errors="replace").read().splitlines()

    enforced = [l for l in log if l.startswith("E2E sig_enforce=")]
    problems = []
    if enforced != ["E2E sig_enforce=Y"]:
        problems.append(f"module.sig_enforce is not on: {enforced}")
    if not any(l.startswith("E2E-END") for l in log):
        problems.append("the init script did not finish")
    loaded = set()
    for i, l in enumerate(log):
        if l.startswith("E2E-PROC-MODULES"):
            loaded = {m.split()[0] for m in log[i + 1:] if re.match(r"^\w+ \d+ \d+ ", m)}

    rows = []
    for name, expect, guest, host in cases:
        v = verdicts.get(host)
        if v is None:
            problems.append(f"{name}: no prediction for {host}")
            continue
        outcome = v["outcome"]
        predicted = "load" if outcome == "OK" else "reject"
        if expect == "pkcs7":
            # The kernel's keyrings decide; modhashes verify only sees the type.
            if v.get("sig_type") != 2:
                problems.append(f"{name}: modhashes verify did not find a PKCS#7 signature: {v}")
            outcome, predicted = "PKCS#7", "load"
        begin = f"E2E-LOAD {name} "
        try:
            start = next(i for i, l in enumerate(log) if l.startswith(begin))
            end = next(i for i in range(start, len(log)) if log[i].startswith(f"E2E-RESULT {name} "))
        except StopIteration:
            problems.append(f"{name}: not found in the serial log")
            continue
        rc = int(log[end].split("rc=")[1])
        window = "\n".join(log[start + 1:end])
        rejected = re.findall(r"Loading of (.*) is rejected", window)
        kernel = "load" if rc == 0 else "reject"
        detail = f"rc={rc}"
        if rejected:
            detail += f", kernel: Loading of {rejected[0]} is rejected"
        ok = kernel == predicted and (expect in ("ok", "pkcs7")) == (kernel == "load")
        if kernel == "reject" and outcome in KERNEL_REASON:
            # busybox insmod retries init_module after finit_module fails:
            # the kernel may say it twice, but it must say the predicted thing.
            ok = ok and bool(rejected) and set(rejected) == {KERNEL_REASON[outcome]}
        if kernel == "load":
            modname = os.path.basename(guest.split(":", 1)[-1])  # "modprobe:NAME" or a path
            modname = re.sub(r"\.ko(\.gz|\.xz|\.zst)?$", "", modname).replace("-", "_")
            ok = ok and modname in loaded
        rows.append((name, outcome, predicted, kernel, detail, ok))
        if not ok:
            problems.append(f"{name}: modhashes verify said {outcome}, kernel: {detail}")

    w = max(len(r[0]) for r in rows) if rows else 4
    print(f"{'case':<{w}}  {'modhashes verify':<18} {'kernel':<7} {'agree':<5} detail")
    for name, outcome, predicted, kernel, detail, ok in rows:
        print(f"{name:<{w}}  {outcome + ' (' + predicted + ')':<18} {kernel:<7} {'yes' if ok else 'NO':<5} {detail}")
    for p in problems:
        print(f"FAIL: {p}")
    print(f"boot: {sum(r[5] for r in rows)} passed, {len(problems)} failed")
    return 1 if problems else 0


def elf_loaded(path):
    """Program headers and allocated sections {name: (addr, size, bytes)} of an ELF file."""
    import struct
    with open(path, "rb") as f:
        d = f.read()
    if d[:4] != b"\x7fELF" or d[4] != 2:
        raise SystemExit(f"{path}: not a 64-bit ELF file")
    e = "<" if d[5] == 1 else ">"
    phoff, shoff = struct.unpack_from(e + "QQ", d, 0x20)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", d, 0x36)
    phdrs = [d[phoff + i * phentsize:phoff + (i + 1) * phentsize] for i in range(phnum)]
    shdrs = [struct.unpack_from(e + "IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]
    strtab = shdrs[shstrndx]
    names = d[strtab[4]:strtab[4] + strtab[5]]
    sections = {}
    for name, typ, flags, addr, off, size, *_ in shdrs:
        if flags & 2:  # SHF_ALLOC
            n = names[name:names.index(b"\0", name)].decode()
            data = b"" if typ == 8 else d[off:off + size]  # SHT_NOBITS
            sections[n] = (addr, size, data)
    return phdrs, sections


def loaded_diff(a, b):
    pa, sa = elf_loaded(a)
    pb, sb = elf_loaded(b)
    problems = []
    if pa != pb:
        problems.append("program headers differ")
    if sorted(sa) != sorted(sb):
        problems.append(f"allocated sections differ: {sorted(set(sa) ^ set(sb))}")
    for n in sorted(set(sa) & set(sb)):
        if sa[n][:2] != sb[n][:2]:
            problems.append(f"{n}: address or size differs")
        elif sa[n][2] != sb[n][2]:
            print(n)
    for p in problems:
        print(f"loaded-diff: {p}", file=sys.stderr)
    return 1 if problems else 0


def main(argv):
    if len(argv) == 4 and argv[1] == "load-order":
        load_order(argv[2], argv[3])
        return 0
    if len(argv) == 4 and argv[1] == "loaded-diff":
        return loaded_diff(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "check":
        return check(argv[2], argv[3], argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

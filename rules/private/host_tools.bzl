"""kernel_host_tools: the identity of the host tools that the kbuild actions run.

The kbuild actions find their compiler, binutils, make, pahole, ... on
KBUILD_HOST_PATH, outside Bazel's inputs. This repository rule writes one
line per tool (resolved path, sha256, first line of `--version`) to
`tools.txt`, and every kbuild action takes that file as an input: a
different toolchain gives different cache keys, so a cache shared by
machines never serves one toolchain's outputs to another. The rule watches
each file it hashed, so an upgraded tool refetches it.
"""

# The directories of KBUILD_HOST_PATH (kbuild.bzl) and those the install
# action adds for depmod, and the tools the actions run there; cc1 is gcc's
# compiler proper.
_DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
_TOOLS = [
    "gcc",
    "as",
    "ld",
    "ar",
    "nm",
    "objcopy",
    "objdump",
    "readelf",
    "strip",
    "make",
    "flex",
    "bison",
    "bc",
    "perl",
    "pahole",
    "tar",
    "xz",
    "zstd",
    "cpio",
    "patch",
    "depmod",
    # LLVM=1 (kernel_config make_args): clang is its own compiler proper.
    "clang",
    "ld.lld",
    "llvm-ar",
    "llvm-nm",
    "llvm-objcopy",
    "llvm-objdump",
    "llvm-readelf",
    "llvm-strip",
]

# What CROSS_COMPILE=<prefix> runs, for every cross toolchain installed
# (kernel_config's cross_compile is not known to a repository rule).
_CROSS_TOOLS = ["gcc", "as", "ld", "ar", "nm", "objcopy", "strip"]

# Headers of the host libraries that kbuild's host programs use.
_HEADERS = [
    "/usr/include/libelf.h",
    "/usr/include/gelf.h",
    "/usr/include/openssl/opensslv.h",
]

def _find(rctx, tool):
    for d in _DIRS:
        p = rctx.path(d + "/" + tool)
        if p.exists:
            return p
    return None

def _describe(rctx, name, path, version_args):
    """Returns "name resolved-path sha256 version", watching the file."""
    res = rctx.execute(["readlink", "-f", str(path)])
    real = res.stdout.strip() if res.return_code == 0 else str(path)
    rctx.watch(real)
    res = rctx.execute(["sha256sum", real])
    if res.return_code != 0:
        fail("kernel_host_tools: cannot hash {}: {}".format(real, res.stderr))
    line = "{} {} {}".format(name, real, res.stdout.split(" ")[0])
    if version_args:
        res = rctx.execute([str(path)] + version_args)
        out = [s for s in (res.stdout + res.stderr).splitlines() if s.strip()]
        if out:
            line += " " + out[0].strip()
    return line

def _cross_prefixes(rctx):
    """The sorted prefixes `<triplet>-` of the cross toolchains in /usr/bin."""
    res = rctx.execute(["find", "/usr/bin", "-maxdepth", "1", "(", "-name", "*-linux-gnu*-gcc", "-o", "-name", "*-linux-gnu*-ld", ")"])
    if res.return_code != 0:
        fail("kernel_host_tools: cannot list /usr/bin: " + res.stderr)
    prefixes = {}
    for path in res.stdout.splitlines():
        name = path.rsplit("/", 1)[-1]
        prefixes[name[:name.rindex("-") + 1]] = True
    return sorted(prefixes)

def _kernel_host_tools_impl(rctx):
    # A toolchain installed later (a tool "missing" now) refetches too.
    for d in _DIRS:
        rctx.watch(d)
    lines = []
    compilers = {}  # cc1 once, though gcc and <triplet>-gcc may share it
    tools = list(_TOOLS)
    for prefix in _cross_prefixes(rctx):
        tools += [prefix + t for t in _CROSS_TOOLS]
    for tool in tools:
        p = _find(rctx, tool)
        if not p:
            lines.append(tool + " missing")
            continue
        lines.append(_describe(rctx, tool, p, ["--version"]))
        if tool.endswith("gcc"):
            res = rctx.execute([str(p), "-print-prog-name=cc1"])
            cc1 = res.stdout.strip()
            if res.return_code == 0 and cc1.startswith("/") and cc1 not in compilers:
                compilers[cc1] = True
                lines.append(_describe(rctx, "cc1", rctx.path(cc1), []))
    for h in _HEADERS:
        p = rctx.path(h)
        lines.append(_describe(rctx, p.basename, p, []) if p.exists else h + " missing")
    rctx.file("tools.txt", "\n".join(lines) + "\n")
    rctx.file("BUILD.bazel", 'exports_files(["tools.txt"])\n')

kernel_host_tools = repository_rule(
    implementation = _kernel_host_tools_impl,
    doc = "Writes `tools.txt`: path, sha256 and version of each host tool the kbuild actions run.",
)

"""kernel_modules_install: modules with their proofs appended, installed."""

load(":kbuild.bzl", "KBUILD_HOST_PATH", "KBUILD_HOST_TOOLS")
load(":objtree.bzl", "modules_order_path")
load(":providers.bzl", "KernelBuildInfo", "ModuleHashesInfo")
load(":toolchain.bzl", "TOOLCHAIN_TYPE", "modhashes_tool")

COMPRESSIONS = ["none", "gzip", "xz", "zstd"]

def _kernel_modules_install_impl(ctx):
    hashes = ctx.attr.hashes[ModuleHashesInfo]
    mods = hashes.modules
    tool = modhashes_tool(ctx)
    out = ctx.actions.declare_directory(ctx.label.name)

    args = ctx.actions.args()
    args.add("install")
    args.add("--objtree", mods.objtree)
    args.add("--order", modules_order_path(mods))
    args.add("--suffix", mods.suffix)
    args.add("--proof-dir", hashes.proof_dir)
    args.add("--dest", out.path)
    args.add("--compress", ctx.attr.compression)

    # The host's gzip/xz/zstd are not declared inputs: the pure-Go encoders
    # keep the output a function of the declared inputs alone.
    args.add("--builtin-encoder")
    inputs = hashes.proofs + mods.modules
    count = "modules.order" if mods.directory else "%d modules" % len(mods.modules)
    progress = "INSTALL %s (%s, %s)" % (out.short_path, count, ctx.attr.compression)

    # As kbuild's modules_install: the modules, then depmod (kmod) with the
    # kernel's System.map, so that modprobe resolves dependencies.
    kernel = ctx.attr.kernel[KernelBuildInfo] if ctx.attr.kernel else None
    if kernel:
        release = kernel.kernel_release.path
        system_map = kernel.system_map.path
        inputs += [kernel.kernel_release, kernel.system_map, ctx.file._host_tools]
        progress += ", depmod"
    elif ctx.attr.kernel_release:
        release = ctx.actions.declare_file(ctx.label.name + ".release")
        ctx.actions.write(release, ctx.attr.kernel_release)
        inputs.append(release)
        release = release.path
        system_map = ""
    else:
        fail("kernel_modules_install: set kernel or kernel_release")
    ctx.actions.run_shell(
        command = """set -eu
mh=$1 rel=$(cat "$2") map=$3 dest=$4
shift 4
"$mh" "$@" --kernel-release "$rel"
[ -z "$map" ] || depmod -ae -F "$map" -b "$dest" "$rel"
""",
        arguments = [tool.tool.path, release, system_map, out.path, args],
        inputs = depset(inputs, transitive = [mods.objtree_files]),
        tools = [tool.files_to_run],
        toolchain = TOOLCHAIN_TYPE,
        outputs = [out],
        env = {"LC_ALL": "C", "PATH": KBUILD_HOST_PATH + ":/usr/sbin:/sbin"},
        mnemonic = "ModHashesInstall",
        progress_message = progress,
    )
    return [DefaultInfo(
        files = depset([out]),
        runfiles = ctx.runfiles(files = [out]),
    )]

kernel_modules_install = rule(
    implementation = _kernel_modules_install_impl,
    doc = """Installs the modules with their Merkle proofs appended (`modhashes install`).

The output is a directory laid out like `INSTALL_MOD_PATH`:
`lib/modules/<kernel_release>/kernel/<module path>` with `.gz`, `.xz` or
`.zst` added when compressed. Compression happens after the proof is
appended, as the kernel expects, with modhashes' built-in encoders: the
host's gzip, xz and zstd that `make modules_install` runs are not inputs of
the action.""",
    attrs = {
        "compression": attr.string(
            default = "none",
            values = COMPRESSIONS,
            doc = "Module compression: `none`, `gzip`, `xz` or `zstd`.",
        ),
        "hashes": attr.label(
            mandatory = True,
            providers = [ModuleHashesInfo],
            doc = "The tree whose proofs are appended: a `module_hashes` target.",
        ),
        "kernel": attr.label(
            providers = [KernelBuildInfo],
            doc = "The `kernel_build` (or `kernel_modules_set`) the modules are for: gives the release and runs depmod with its `System.map`, as `make modules_install` does.",
        ),
        "kernel_release": attr.string(
            default = "",
            doc = "The kernel release, the directory name below `lib/modules`, when `kernel` is not set (no depmod then).",
        ),
        "_host_tools": attr.label(
            default = KBUILD_HOST_TOOLS,
            allow_single_file = True,
        ),
    },
    toolchains = [TOOLCHAIN_TYPE],
)

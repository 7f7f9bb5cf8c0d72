"""kernel_modules_install: modules with their proofs appended, installed."""

load(":providers.bzl", "ModuleHashesInfo")

COMPRESSIONS = ["none", "gzip", "xz", "zstd"]

def _kernel_modules_install_impl(ctx):
    hashes = ctx.attr.hashes[ModuleHashesInfo]
    mods = hashes.modules
    out = ctx.actions.declare_directory(ctx.label.name)

    args = ctx.actions.args()
    args.add("install")
    args.add("--objtree", mods.objtree)
    args.add("--order", mods.order)
    args.add("--suffix", mods.suffix)
    args.add("--proof-dir", hashes.proof_dir)
    args.add("--dest", out.path)
    args.add("--kernel-release", ctx.attr.kernel_release)
    args.add("--compress", ctx.attr.compression)

    # The host's gzip/xz/zstd are not declared inputs: the pure-Go encoders
    # keep the output a function of the declared inputs alone.
    args.add("--builtin-encoder")
    ctx.actions.run(
        executable = ctx.executable.modhashes,
        arguments = [args],
        inputs = depset(hashes.proofs + mods.modules, transitive = [mods.objtree_files]),
        outputs = [out],
        mnemonic = "ModHashesInstall",
        progress_message = "INSTALL %s (%d modules, %s)" % (out.short_path, len(mods.modules), ctx.attr.compression),
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
        "kernel_release": attr.string(
            mandatory = True,
            doc = "The kernel release, the directory name below `lib/modules`.",
        ),
        "modhashes": attr.label(
            default = Label("//tools/modhashes"),
            executable = True,
            cfg = "exec",
            doc = "The `modhashes` tool.",
        ),
    },
)

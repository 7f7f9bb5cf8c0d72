"""module_hashes: the Merkle tree over the in-tree modules."""

load(":objtree.bzl", "modules_order_path")
load(":providers.bzl", "KernelModulesInfo", "ModuleHashesInfo")
load(":toolchain.bzl", "TOOLCHAIN_TYPE", "modhashes_tool")

def _module_hashes_impl(ctx):
    mods = ctx.attr.modules[KernelModulesInfo]
    endian = ctx.attr.endian
    vmlinux = ctx.file.vmlinux_unstripped
    if (endian == "") == (vmlinux == None):
        fail("module_hashes: set exactly one of vmlinux_unstripped and endian")

    root = ctx.actions.declare_file(ctx.label.name + ".module_hashes.bin")
    root_c = ctx.actions.declare_file(ctx.label.name + ".module_hashes.c")
    proof_root = ctx.label.name + ".proofs"
    if mods.directory:
        # The modules are known only when built: so are their proofs.
        proofs = [ctx.actions.declare_directory(proof_root)]
        proof_dir = proofs[0].path
        count = "modules.order"
    else:
        proofs = [
            ctx.actions.declare_file(proof_root + "/" + p[:-len(mods.suffix)] + ".merkle")
            for p in mods.paths
        ]

        # The proof directory's exec path, known even when there are no
        # proofs: beside the root, so that a target in another module's
        # repository (external/...) gets its own.
        proof_dir = root.dirname + "/" + proof_root
        count = "%d modules" % len(proofs)

    args = ctx.actions.args()
    args.add("tree")
    args.add("--objtree", mods.objtree)
    args.add("--order", modules_order_path(mods))
    args.add("--suffix", mods.suffix)
    args.add("--root-bin", root)
    args.add("--root-c", root_c)
    if vmlinux:
        args.add("--target", vmlinux)
    else:
        args.add("--endian", endian)
    args.add("--proof-dir", proof_dir)
    inputs = [mods.objtree_files, depset(mods.modules)]
    ctx.actions.run(
        executable = modhashes_tool(ctx).files_to_run,
        toolchain = TOOLCHAIN_TYPE,
        arguments = [args],
        inputs = depset([vmlinux] if vmlinux else [], transitive = inputs),
        outputs = [root, root_c] + proofs,
        mnemonic = "ModHashesTree",
        progress_message = "TREE %s (%s)" % (ctx.label, count),
    )

    return [
        ModuleHashesInfo(
            modules = mods,
            root = root,
            root_c = root_c,
            proofs = proofs,
            proof_dir = proof_dir,
        ),
        DefaultInfo(
            files = depset([root, root_c] + proofs),
            runfiles = ctx.runfiles(files = [root, root_c] + proofs),
        ),
        OutputGroupInfo(
            root = depset([root]),
            root_c = depset([root_c]),
            proofs = depset(proofs),
        ),
    ]

module_hashes = rule(
    implementation = _module_hashes_impl,
    doc = """Hashes the modules into a Merkle tree (`modhashes tree`).

Outputs the root as the 36 raw bytes of `.module_hashes` (levels in the byte
order of `vmlinux_unstripped`, or of `endian`), the same root as C source,
and one `.merkle` proof per module. One action; it re-runs only when a module,
the module list or the byte order changes.

The proofs are files, one per module, when `modules` lists its modules; when
it gives them as a directory (a `kernel_build` without `modules`, the
default, or a `kernel_modules_set` of one), they are one directory
(`<name>.proofs`) with the same layout.""",
    attrs = {
        "endian": attr.string(
            default = "",
            values = ["", "little", "big"],
            doc = "Byte order of the root's `levels` field when no `vmlinux_unstripped` is given.",
        ),
        "modules": attr.label(
            mandatory = True,
            providers = [KernelModulesInfo],
            doc = "The modules to hash: a `kernel_build`, `kernel_modules_set` or `kernel_modules` target.",
        ),
        "vmlinux_unstripped": attr.label(
            allow_single_file = True,
            doc = "The vmlinux.unstripped the root is for; only its ELF byte order is read.",
        ),
    },
    provides = [ModuleHashesInfo],
    toolchains = [TOOLCHAIN_TYPE],
)

"""kernel_vmlinux: vmlinux.unstripped plus the root gives the final vmlinux."""

load(":providers.bzl", "KernelImageInfo", "ModuleHashesInfo")
load(":toolchain.bzl", "TOOLCHAIN_TYPE", "modhashes_tool")

def _kernel_vmlinux_impl(ctx):
    hashes = ctx.attr.hashes[ModuleHashesInfo]
    unstripped = ctx.file.unstripped
    out = ctx.actions.declare_file(ctx.attr.out or ctx.label.name)

    args = ctx.actions.args()
    if ctx.attr.root_only:
        # Before 6.15 the placeholder is kbuild's vmlinux, already post-linked:
        # the root alone goes in, as objcopy --update-section would write it.
        ignored = [a for a in ["keep_modinfo", "keep_relocs", "strip_symbols"] if getattr(ctx.attr, a)]
        if ignored:
            fail("root_only writes the root alone: {} would be ignored".format(", ".join(ignored)))
        args.add_all(["section", "update", ".module_hashes", hashes.root])
    else:
        args.add("finalize")
        args.add("--root-bin", hashes.root)
        if ctx.attr.keep_modinfo:
            args.add("--keep-modinfo")
        if ctx.attr.keep_relocs:
            args.add("--keep-relocs")
        args.add_all(ctx.attr.strip_symbols, before_each = "--strip-symbol")
    args.add(unstripped)
    args.add(out)
    ctx.actions.run(
        executable = modhashes_tool(ctx).files_to_run,
        toolchain = TOOLCHAIN_TYPE,
        arguments = [args],
        inputs = [unstripped, hashes.root],
        outputs = [out],
        mnemonic = "ModHashesFinalize",
        progress_message = "FINALIZE %s" % out.short_path,
    )
    return [
        KernelImageInfo(vmlinux = out, unstripped = unstripped, hashes = hashes),
        DefaultInfo(
            files = depset([out]),
            runfiles = ctx.runfiles(files = [out]),
        ),
    ]

kernel_vmlinux = rule(
    implementation = _kernel_vmlinux_impl,
    doc = """Makes the final vmlinux (`modhashes finalize`).

Removes `.modinfo` and the `.rel*` sections (not `.rel*.dyn`), strips unneeded
`__mod_device_table__*` symbols and writes the root of `hashes` into the
`.module_hashes` placeholder, in one pass, as kbuild's objcopy steps do.

Kernels before 6.15 (`kernel_build(placeholder = "vmlinux")`) need
`root_only`: their placeholder is kbuild's vmlinux, already post-linked, and
only the root is written (`modhashes section update`).""",
    attrs = {
        "hashes": attr.label(
            mandatory = True,
            providers = [ModuleHashesInfo],
            doc = "The tree whose root goes into `.module_hashes`: a `module_hashes` target.",
        ),
        "keep_modinfo": attr.bool(
            default = False,
            doc = "Keep the `.modinfo` section.",
        ),
        "keep_relocs": attr.bool(
            default = False,
            doc = "Keep the `.rel*`/`.rela*` sections.",
        ),
        "out": attr.string(
            default = "",
            doc = "Output file name. Default: the target's name.",
        ),
        "root_only": attr.bool(
            default = False,
            doc = "Write the root alone (`modhashes section update`), for `kernel_build(placeholder = \"vmlinux\")`: kernels before 6.15. Exclusive with `keep_modinfo`, `keep_relocs` and `strip_symbols`.",
        ),
        "strip_symbols": attr.string_list(
            default = [],
            doc = "More symbol globs to strip when unneeded (`--strip-symbol`), besides `__mod_device_table__*`.",
        ),
        "unstripped": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "The linked vmlinux.unstripped, with a zero 36-byte `.module_hashes` section.",
        ),
    },
    provides = [KernelImageInfo],
    toolchains = [TOOLCHAIN_TYPE],
)

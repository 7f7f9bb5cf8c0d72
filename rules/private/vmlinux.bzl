"""kernel_vmlinux: vmlinux.unstripped plus the root gives the final vmlinux."""

load(":providers.bzl", "KernelImageInfo", "ModuleHashesInfo")
load(":toolchain.bzl", "TOOLCHAIN_TYPE", "modhashes_tool")

def _kernel_vmlinux_impl(ctx):
    hashes = ctx.attr.hashes[ModuleHashesInfo]
    unstripped = ctx.file.unstripped
    out = ctx.actions.declare_file(ctx.attr.out or ctx.label.name)

    args = ctx.actions.args()
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
`.module_hashes` placeholder, in one pass, as kbuild's objcopy steps do.""",
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

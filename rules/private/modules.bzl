"""kernel_modules: names the in-tree modules and their positions."""

load(":objtree.bzl", "module_objtree")
load(":providers.bzl", "KernelModulesInfo")

def _module_path(ctx, f):
    """Returns f's path below the object tree: its path below this package."""
    prefix = ctx.attr.strip_prefix
    if prefix == "":
        prefix = ctx.label.package
    short = f.short_path
    if short.startswith("../"):
        # A file of another module's repository: ../<repo>/<path>.
        short = short.split("/", 2)[2]
    if prefix == "":
        return short
    if not short.startswith(prefix + "/"):
        fail("module {} is not below {}: set strip_prefix".format(short, prefix))
    return short[len(prefix) + 1:]

def _kernel_modules_impl(ctx):
    suffix = ctx.attr.suffix
    modules = ctx.files.modules
    if len(modules) == 0 and not ctx.attr.allow_empty:
        fail("kernel_modules: no modules (set allow_empty to build an empty tree)")

    entries = []
    for f in modules:
        path = _module_path(ctx, f)
        if not path.endswith(suffix):
            fail("module {} does not end in suffix {}".format(path, suffix))

        # modules.order names each module by its object file, as kbuild does.
        entries.append((f, path, path[:-len(suffix)] + ".o"))
    info = module_objtree(ctx, ctx.label.name + ".objtree", entries, suffix = suffix)
    return [
        info,
        DefaultInfo(
            files = depset([info.order] + modules),
            runfiles = ctx.runfiles(files = [info.order] + modules),
        ),
    ]

kernel_modules = rule(
    implementation = _kernel_modules_impl,
    doc = """Names the in-tree modules of a kernel build and fixes their order.

The position of a module in the Merkle tree is its index in `modules` (files
of one target in the order the target lists them). The rule writes a
matching `modules.order` and an object tree of symlinks that the other rules
hand to `modhashes`; it runs no process.""",
    attrs = {
        "allow_empty": attr.bool(
            default = False,
            doc = "Allow a kernel without modules (the tree then has 0 levels and an all-zero root).",
        ),
        "modules": attr.label_list(
            allow_files = True,
            doc = "The module files (e.g. `.ko`), in modules.order order. Each file is one module.",
        ),
        "strip_prefix": attr.string(
            default = "",
            doc = "Path prefix (below the workspace root) removed from each module's path to give its path in the object tree. Default: this target's package.",
        ),
        "suffix": attr.string(
            default = ".ko",
            doc = "Module file suffix that replaces `.o` in modules.order: `.ko`, or `.ko.stripped` when modules are stripped at build time.",
        ),
    },
    provides = [KernelModulesInfo],
)

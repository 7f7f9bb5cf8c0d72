"""The object tree that modhashes reads: modules at their paths, and modules.order."""

load(":providers.bzl", "KernelModulesInfo")

def module_objtree(ctx, root, entries, suffix = ".ko", extra = {}):
    """Lays out a module set as a tree of symlinks with its modules.order.

    Args:
      ctx: the rule context; the tree is declared below its package.
      root: the tree's directory, relative to the package.
      entries: list of (File, path below the tree, modules.order line), in
        Merkle-tree order.
      suffix: the module file suffix that replaces `.o` in modules.order.
      extra: dict from path below the tree to File: other files that
        `modhashes install` reads from an object tree.

    Returns:
      The set's KernelModulesInfo.
    """
    links = []
    seen = {}
    for f, path, _ in entries:
        if path in seen:
            fail("module {} comes twice".format(path))
        seen[path] = True
        link = ctx.actions.declare_file(root + "/" + path)
        ctx.actions.symlink(output = link, target_file = f)
        links.append(link)
    for path, f in extra.items():
        link = ctx.actions.declare_file(root + "/" + path)
        ctx.actions.symlink(output = link, target_file = f)
        links.append(link)
    order = ctx.actions.declare_file(root + "/modules.order")
    ctx.actions.write(order, "".join([line + "\n" for _, _, line in entries]))
    return KernelModulesInfo(
        directory = None,
        modules = [e[0] for e in entries],
        paths = [e[1] for e in entries],
        suffix = suffix,
        order = order,
        objtree = order.dirname,
        objtree_files = depset(links + [order]),
    )

def directory_objtree(directory, suffix = ".ko"):
    """The KernelModulesInfo of an object tree that is one tree artifact.

    Args:
      directory: the tree artifact: modules at their paths, modules.order at
        its top.
      suffix: the module file suffix that replaces `.o` in modules.order.

    Returns:
      The set's KernelModulesInfo, in the directory form.
    """
    return KernelModulesInfo(
        directory = directory,
        modules = [],
        paths = [],
        suffix = suffix,
        order = None,
        objtree = directory.path,
        objtree_files = depset([directory]),
    )

def modules_order_path(info):
    """The exec path of the modules.order of a KernelModulesInfo, in either form."""
    if info.directory:
        return info.directory.path + "/modules.order"
    return info.order.path

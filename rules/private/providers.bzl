"""Providers that carry a kernel and its module hashes through the build graph: all of them, in one place."""

KernelModulesInfo = provider(
    doc = """A set of modules in modules.order order, in one of two forms.

File form (`directory` None): one File per module; a module's position in
the Merkle tree is its index in `modules`, which is also its line in
`order`. Directory form (`directory` set): the modules are only known once
kbuild has built them, so they come as one tree artifact, an object tree
holding each module at its path and kbuild's `modules.order`, which gives
the positions; `modules` and `paths` are then empty. Rules use these
fields, never file-name conventions, to find modules and proofs; the
modules.order path of either form is `modules_order_path(info)`
(objtree.bzl).""",
    fields = {
        "directory": "File or None: in the directory form, the tree artifact that is the object tree (`objtree` is its path, `modules.order` at its top); None in the file form.",
        "modules": "list of File: the module files as built (no signature appended); index = position. Empty in the directory form.",
        "paths": "list of string: each module's path below the object tree, with `suffix` (e.g. `drivers/net/dummy.ko`); same order as `modules`. Empty in the directory form.",
        "suffix": "string: the module file suffix that replaces each modules.order line's `.o` (`.ko`, or `.ko.stripped`).",
        "order": "File or None: the modules.order written for these modules (one `<path>.o` a line); None in the directory form, whose modules.order is inside `directory`.",
        "objtree": "string: the exec path of a directory that holds modules.order and every module at its path (symlinks in the file form; `directory` itself in the directory form).",
        "objtree_files": "depset of File: everything under `objtree` that an action reading it needs as inputs (in the directory form, `directory`).",
    },
)

ModuleHashesInfo = provider(
    doc = "The Merkle tree over a KernelModulesInfo: its root and one proof per module.",
    fields = {
        "modules": "KernelModulesInfo: the modules the tree was built over.",
        "root": "File: the 36-byte `.module_hashes` contents (u32 levels in the target's byte order, then the 32-byte root hash).",
        "root_c": "File: the same root as C source, as kbuild's reference generator writes it.",
        "proofs": "list of File: the `<module path without suffix>.merkle` proof of each module, same order as `modules.modules`; for modules in the directory form, one tree artifact (the proof directory) holding them.",
        "proof_dir": "string: the exec path of the directory holding `proofs` (the `--proof-dir` of `modhashes install`).",
    },
)

KernelImageInfo = provider(
    doc = "A final kernel image that carries a module-hashes root.",
    fields = {
        "vmlinux": "File: the final vmlinux (`.modinfo` and relocations removed, root in `.module_hashes`).",
        "unstripped": "File: the vmlinux.unstripped it was made from.",
        "hashes": "ModuleHashesInfo: the tree whose root the image carries.",
    },
)

KernelSourceInfo = provider(
    doc = "A kernel source tree pinned by content, patched, ready for kbuild.",
    fields = {
        "tree": "File: what every kbuild action sets its tree up from: the patched tree as a reproducible `.tar.zst` (archive form), or a manifest (`.srcs`) of the files, their links and the patches, which each action copies and applies (files form).",
        "inputs": "depset of File: everything an action needs for `tree`: the `.tar.zst`, or the manifest, the files, the links and the patches.",
        "files": "bool: the files form. Its actions name the files they did not read (Bazel's `unused_inputs_list`), so an edit re-runs only the actions that read the file.",
    },
)

KernelConfigInfo = provider(
    doc = "A kernel configuration and how kbuild is invoked for it.",
    fields = {
        "source": "KernelSourceInfo: the tree it configures.",
        "config": "File: the `.config`.",
        "make_args": "list of string: `ARCH=`/`CROSS_COMPILE=`/`LLVM=` arguments every kbuild action passes.",
    },
)

KernelBuildInfo = provider(
    doc = "The vmlinux build of a kernel: what the modules, external modules and boot image build against.",
    fields = {
        "config": "KernelConfigInfo: the configuration it was built with.",
        "vmlinux_unstripped": "File: the linked `vmlinux.unstripped`, `.module_hashes` all zero.",
        "system_map": "File: `System.map` (depmod's `-F`).",
        "kernel_release": "File: `include/config/kernel.release`.",
        "modules_builtin": "list of File: `modules.builtin` and `modules.builtin.modinfo`.",
        "state": "File: every file the vmlinux build added to the tree, as `.tar.zst`: generated headers, host tools, objects.",
        "module_symvers": "File: `Module.symvers` of vmlinux and the in-tree modules (what `make M=` checks symbols against).",
        "strip_modules": "bool: whether modules built against it are stripped (`--strip-debug`) before they are hashed.",
    },
)

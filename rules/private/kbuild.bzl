"""kbuild's stages as actions: source, configuration, vmlinux.unstripped, modules, boot image."""

load(":objtree.bzl", "directory_objtree", "module_objtree")
load(
    ":providers.bzl",
    "KernelBuildInfo",
    "KernelConfigInfo",
    "KernelImageInfo",
    "KernelModulesInfo",
    "KernelSourceInfo",
)

# The host tools every kbuild action runs, in one place: this PATH, nothing
# else. The actions find gcc, binutils, make, flex, bison, bc, perl, pahole
# (dwarves), libelf and OpenSSL headers, xz, zstd, cpio and patch there;
# tools/bazel/setup.sh installs them (rules/README.md, "Kernel toolchain").
# Their identity (host_tools.bzl) is an input of every kbuild action.
KBUILD_HOST_PATH = "/usr/bin:/bin"

KBUILD_HOST_TOOLS = Label("@kernel_host_tools//:tools.txt")

# Everything that could make two builds of one tree differ, fixed.
_REPRODUCIBLE_ENV = {
    "KBUILD_BUILD_HOST": "modhashes",
    "KBUILD_BUILD_TIMESTAMP": "Thu Jan  1 00:00:00 UTC 2026",
    "KBUILD_BUILD_USER": "modhashes",
    "KBUILD_BUILD_VERSION": "1",
    "LC_ALL": "C",
    "PATH": KBUILD_HOST_PATH,
    "TZ": "UTC",
}

def _env(make_args = [], extra = {}):
    env = dict(_REPRODUCIBLE_ENV)
    env["KBUILD_MAKE_ARGS"] = " ".join(make_args)
    env.update(extra)
    return env

def _run_kbuild(ctx, mnemonic, progress, command, outputs, inputs, args, make_args = [], env = {}, source = None, unused = None, worker = False):
    """One kbuild.sh action.

    With `source` (a KernelSourceInfo) its tree's inputs are inputs too; with
    `unused` as well (an output path, used for a source in the files form)
    the action names the files it did not read, and an edit to one of those
    does not re-run it. With `worker`, kbuild-worker runs it: as a persistent
    worker it keeps the action's tree between builds (tools/kbuildworker),
    elsewhere (sandboxed, remote) it runs kbuild.sh as any action would.
    """
    transitive = []
    unused_list = None
    if source:
        transitive.append(source.inputs)
        if unused and source.files:
            unused_list = ctx.actions.declare_file(unused)
            outputs = outputs + [unused_list]
            env = dict(env, KBUILD_UNUSED_OUT = unused_list.path)
    executable = ctx.executable._kbuild
    arguments = [command] + args
    tools = []
    requirements = {}
    if worker:
        argv = ctx.actions.args()
        argv.add(command)
        argv.add_all(args)
        argv.use_param_file("@%s", use_always = True)
        argv.set_param_file_format("multiline")
        executable = ctx.executable._kbuild_worker
        arguments = [ctx.executable._kbuild.path, argv]
        tools = [ctx.executable._kbuild]
        requirements = {"supports-workers": "1"}
    ctx.actions.run(
        executable = executable,
        tools = tools,
        arguments = arguments,
        inputs = depset(inputs + [ctx.file._host_tools], transitive = transitive),
        outputs = outputs,
        env = _env(make_args, env),
        mnemonic = mnemonic,
        progress_message = progress,
        unused_inputs_list = unused_list,
        execution_requirements = requirements,
    )

_KBUILD_ATTR = {
    "_host_tools": attr.label(
        default = KBUILD_HOST_TOOLS,
        allow_single_file = True,
    ),
    "_kbuild": attr.label(
        default = Label(":kbuild.sh"),
        executable = True,
        allow_single_file = True,
        cfg = "exec",
    ),
    "_kbuild_worker": attr.label(
        default = Label("//tools/kbuild-worker"),
        executable = True,
        cfg = "exec",
    ),
}

def _files_prefix(ctx, files):
    """The exec-path prefix that `strip_prefix` removes from every file of `srcs`."""
    f = files[0]
    strip = ctx.attr.strip_prefix.strip("/")
    if not strip:
        # A glob's files, or a local_kernel_tree's: their package is the tree.
        strip = f.owner.package
        for g in files:
            if g.owner.package != strip or g.owner.workspace_root != f.owner.workspace_root:
                fail("srcs are in more than one package ({}, {}): set strip_prefix".format(f.owner, g.owner))
    prefix = "/".join([p for p in [f.root.path, f.owner.workspace_root, strip] if p])
    prefix = prefix + "/" if prefix else ""
    for g in files:
        if not g.path.startswith(prefix):
            fail("{} is not below strip_prefix '{}' of its repository".format(g.owner, strip))
    return prefix

def _kernel_source_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".tar.zst")
    archive = ctx.file.archive
    srcs = ctx.files.srcs
    if (archive == None) == (not srcs):
        fail("kernel_source takes either archive (with sha256) or srcs")
    if archive and not ctx.attr.sha256:
        fail("archive needs its sha256: the pin")
    if srcs and ctx.attr.sha256:
        fail("sha256 pins an archive; srcs are pinned by their content")
    if archive and ctx.file.symlinks:
        fail("symlinks are for srcs: an archive holds its own")
    patches = ctx.files.patches
    if archive:
        _run_kbuild(
            ctx,
            "KernelSource",
            "SOURCE %s" % ctx.label,
            "source",
            [out],
            [archive] + patches,
            [out.path, archive.path, ctx.attr.sha256, ctx.attr.strip_prefix] + [p.path for p in patches],
        )
        info = KernelSourceInfo(tree = out, inputs = depset([out]), files = False)
    else:
        # The files themselves are what kbuild actions read: an action that
        # did not read a file does not re-run when it changes. A manifest
        # names them (~100,000: a list file, one exec path a line), their
        # prefix, the links and the patches.
        listed = ctx.actions.args()
        listed.set_param_file_format("multiline")
        listed.add_all(srcs)
        files = ctx.actions.declare_file(ctx.label.name + ".files")
        ctx.actions.write(files, listed)
        links = ctx.file.symlinks
        lines = ["prefix\t" + _files_prefix(ctx, srcs), "list\t" + files.path]
        if links:
            lines.append("symlinks\t" + links.path)
        lines += ["patch\t" + p.path for p in patches]
        manifest = ctx.actions.declare_file(ctx.label.name + ".srcs")
        ctx.actions.write(manifest, "\n".join(lines) + "\n")
        inputs = depset([manifest, files] + ([links] if links else []) + patches, transitive = [depset(srcs)])
        info = KernelSourceInfo(tree = manifest, inputs = inputs, files = True)

        # The .tar.zst, only when asked for: the same bytes as the archive form's.
        _run_kbuild(ctx, "KernelSource", "SOURCE %s" % ctx.label, "source", [out], [], [out.path, "--files", manifest.path], source = info)
    return [
        info,
        DefaultInfo(files = depset([out])),
    ]

kernel_source = rule(
    implementation = _kernel_source_impl,
    doc = """A kernel source tree pinned by content, with patches applied.

The tree is either a tarball, `archive` (a file in the workspace, or one
that `local_kernel_archive` links in from outside it), which the action
checks against `sha256`; or files, `srcs` (a `glob` of a tree in the
workspace, or the `srcs` of a `local_kernel_tree`), pinned by their content
as Bazel pins every input. Nothing is downloaded. The output is the patched
tree as a reproducible `.tar.zst` (names sorted, mtimes fixed, owner 0,
modes 0644 or 0755): the same bytes whichever form the same tree came in.

An archive's kbuild actions unpack that `.tar.zst`, so any edit re-runs
them all. Files are inputs of the kbuild actions themselves (the
configuration and vmlinux actions copy and patch them; the later ones link
them and copy only what a patch changes), and the configuration, vmlinux and
external-module actions tell Bazel which C sources and headers their build
did not read (kbuild's dependency lists; `unused_inputs_list`): an edit to
an in-tree module's `.c` re-runs the modules, not vmlinux.

Bazel's files cannot be symbolic links (a `glob` lists a link as the file
or directory it points to), so a tree given as files names its links in
`symlinks`; files of `srcs` at or below a link's path are left out.""",
    attrs = dict(_KBUILD_ATTR, **{
        "archive": attr.label(
            allow_single_file = [".tar", ".tar.xz", ".txz", ".tar.gz", ".tgz", ".tar.zst"],
            doc = "The source tarball. Exclusive with `srcs`.",
        ),
        "patches": attr.label_list(
            allow_files = [".patch", ".diff"],
            doc = "Patches applied in this order with `patch -p1` and no fuzz.",
        ),
        "sha256": attr.string(
            doc = "sha256 of `archive`: the pin. Required with `archive`.",
        ),
        "srcs": attr.label_list(
            allow_files = True,
            doc = "The tree as files, each at its path below `strip_prefix`. Exclusive with `archive`.",
        ),
        "strip_prefix": attr.string(
            default = "",
            doc = """With `archive`: the directory in it that holds the tree (e.g. `linux-source-7.3`).
With `srcs`: the directory of the files' repository that holds the tree; by
default the package the files are in (all in one, as a `glob` gives).""",
        ),
        "symlinks": attr.label(
            allow_single_file = True,
            doc = """With `srcs`: the tree's symbolic links, one `PATH<tab>TARGET` a line
(`find . -type l -printf '%P\\t%l\\n'`); `local_kernel_tree` writes it.""",
        ),
    }),
    provides = [KernelSourceInfo],
)

def _kernel_config_impl(ctx):
    source = ctx.attr.source[KernelSourceInfo]
    out = ctx.actions.declare_file(ctx.label.name + "/.config")
    make_args = []
    if ctx.attr.arch:
        make_args.append("ARCH=" + ctx.attr.arch)
    if ctx.attr.cross_compile:
        make_args.append("CROSS_COMPILE=" + ctx.attr.cross_compile)
    if ctx.attr.llvm:
        make_args.append("LLVM=1")
    _run_kbuild(
        ctx,
        "KernelConfig",
        "CONFIG %s (%s + %d fragments)" % (ctx.label, ctx.attr.base, len(ctx.files.fragments)),
        "config",
        [out],
        ctx.files.fragments,
        [out.path, source.tree.path, ctx.attr.base] + [f.path for f in ctx.files.fragments],
        make_args,
        source = source,
        unused = ctx.label.name + "/config.unused",
    )
    return [
        KernelConfigInfo(source = source, config = out, make_args = make_args),
        DefaultInfo(files = depset([out])),
    ]

kernel_config = rule(
    implementation = _kernel_config_impl,
    doc = """A `.config`: kbuild's `base` target, the fragments merged by
`scripts/kconfig/merge_config.sh`, then `olddefconfig`, in one action. Fails
when a line of a fragment is not in the result (an option whose dependencies
are not met).""",
    attrs = dict(_KBUILD_ATTR, **{
        "arch": attr.string(
            default = "",
            doc = "kbuild's `ARCH` (e.g. `arm64`); empty for the host's.",
        ),
        "base": attr.string(
            default = "defconfig",
            doc = "The configuration target to start from: `tinyconfig`, `defconfig`, `allnoconfig`, a `*_defconfig`, ...",
        ),
        "cross_compile": attr.string(
            default = "",
            doc = "kbuild's `CROSS_COMPILE` prefix (e.g. `aarch64-linux-gnu-`).",
        ),
        "fragments": attr.label_list(
            allow_files = True,
            doc = "Configuration fragments (`CONFIG_X=y` lines), merged in this order.",
        ),
        "llvm": attr.bool(
            default = False,
            doc = "Build with clang and lld (`LLVM=1`), as Android's GKI kernels are; every kbuild action of this configuration does.",
        ),
        "source": attr.label(
            mandatory = True,
            providers = [KernelSourceInfo],
            doc = "A `kernel_source`.",
        ),
    }),
    provides = [KernelConfigInfo],
)

def _declare_modules(ctx, root, paths):
    return [ctx.actions.declare_file(root + "/" + p) for p in paths]

def _strip_outputs(ctx, strip, root, paths):
    """With stripping, the unstripped modules (debug info) and kbuild.sh's environment for them."""
    if not strip:
        return [], {}
    unstripped = _declare_modules(ctx, root + "_unstripped", paths)
    env = {
        "KBUILD_STRIP_MODULES": "1",
        # The directory the declared files are in, whatever module or package.
        "KBUILD_UNSTRIPPED_OUT": unstripped[0].path[:-len(paths[0]) - 1] if paths else "",
    }
    return unstripped, env

def _modules_info(modules, paths, order):
    return KernelModulesInfo(
        directory = None,
        modules = modules,
        paths = paths,
        suffix = ".ko",
        order = order,
        objtree = order.dirname,
        objtree_files = depset(modules + [order]),
    )

def _check_paths(paths):
    for p in paths:
        if not p.endswith(".ko") or p.startswith("/") or ".." in p.split("/"):
            fail("module {} is not a relative path ending in .ko".format(p))

def _kernel_build_impl(ctx):
    config = ctx.attr.config[KernelConfigInfo]
    tree = config.source.tree
    name = ctx.label.name
    vmlinux = ctx.actions.declare_file(name + "/vmlinux.unstripped")
    system_map = ctx.actions.declare_file(name + "/System.map")
    release = ctx.actions.declare_file(name + "/kernel.release")
    builtin = [
        ctx.actions.declare_file(name + "/modules.builtin"),
        ctx.actions.declare_file(name + "/modules.builtin.modinfo"),
    ]
    state = ctx.actions.declare_file(name + "/state.tar.zst")

    # The in-tree modules' objects, built on the state, which the modules
    # action rebuilds only where a source changed (kbuild.sh: refresh_sources).
    module_cache = ctx.actions.declare_file(name + "/modules.tar.zst")
    _run_kbuild(
        ctx,
        "KernelVmlinux",
        "VMLINUX %s" % ctx.label,
        "vmlinux",
        [vmlinux, system_map, release, state, module_cache] + builtin,
        [config.config],
        [vmlinux.dirname, tree.path, config.config.path],
        config.make_args,
        env = {"KBUILD_PLACEHOLDER": ctx.attr.placeholder},
        source = config.source,
        unused = name + "/vmlinux.unused",
    )

    root = name + "_modules"
    symvers = ctx.actions.declare_file(name + "/Module.symvers")
    if ctx.attr.modules:
        # The list form: one output per module, checked against kbuild's.
        _check_paths(ctx.attr.modules)
        modules = _declare_modules(ctx, root, ctx.attr.modules)
        unstripped, env = _strip_outputs(ctx, ctx.attr.strip_modules, root, ctx.attr.modules)
        order = ctx.actions.declare_file(root + "/modules.order")
        info = _modules_info(modules, ctx.attr.modules, order)
        made = modules + [order]
        count = str(len(modules))
    else:
        # The directory form: whatever kbuild's modules.order names.
        directory = ctx.actions.declare_directory(root)
        env = {"KBUILD_MODULES_FROM_ORDER": "1"}
        unstripped = []
        if ctx.attr.strip_modules:
            unstripped = [ctx.actions.declare_directory(root + "_unstripped")]
            env["KBUILD_STRIP_MODULES"] = "1"
            env["KBUILD_UNSTRIPPED_OUT"] = unstripped[0].path
        info = directory_objtree(directory)
        made = [directory]
        count = "modules.order"
    _run_kbuild(
        ctx,
        "KernelModules",
        "MODULES %s (%s)" % (ctx.label, count),
        "modules",
        made + unstripped + [symvers],
        [state, module_cache],
        [info.objtree, symvers.path, tree.path, state.path, module_cache.path] + ctx.attr.modules,
        config.make_args,
        env,
        source = config.source,
        worker = True,
    )
    return [
        KernelBuildInfo(
            config = config,
            vmlinux_unstripped = vmlinux,
            system_map = system_map,
            kernel_release = release,
            modules_builtin = builtin,
            state = state,
            module_symvers = symvers,
            strip_modules = ctx.attr.strip_modules,
        ),
        info,
        DefaultInfo(files = depset([vmlinux])),
        OutputGroupInfo(
            modules = depset(made + [symvers]),
            state = depset([state, system_map, release] + builtin),
            unstripped_modules = depset(unstripped),
        ),
    ]

kernel_build = rule(
    implementation = _kernel_build_impl,
    doc = """Builds a kernel's `vmlinux.unstripped` and its in-tree modules: two actions.

The first runs `make vmlinux modules_prepare` and kbuild's boot image target
(with kbuild's `vmlinux`), and keeps, besides `vmlinux.unstripped` (the
default output), everything the build added to the tree (the "state":
generated headers, host tools, objects). It then runs `make modules` on that
state and keeps the modules' objects too (the "module cache"), with the
sha256 of every source file they were built from; their sources count as
unread, so that an edit to one does not re-run this action.
The second unpacks the state and the module cache, gives every source file
whose content differs from the cache's a new mtime, and runs `make
modules`: kbuild rebuilds the modules that depend on a changed file (all of
them after vmlinux ran again), with their BTF against kbuild's own
`vmlinux`, whose `.BTF` is that of `vmlinux.unstripped`. The target provides
`KernelModulesInfo` for `module_hashes`.

Which modules there are is kbuild's business, and Bazel declares outputs
before it builds them. By default (no `modules`) the modules are therefore
one directory, `<name>_modules`: each module at its path below the tree and
kbuild's `modules.order`, which gives their positions in the Merkle tree;
`module_hashes`, `kernel_modules_set` and `kernel_modules_install` take it
as it is, and nobody writes a module list. With `modules` each module is a
file of its own (a target per module, e.g. to hand one to another rule);
the list must then be kbuild's `modules.order` (same paths, same order): the
action fails otherwise, printing the difference. `Module.symvers` is
`<name>/Module.symvers` in both forms.

With `strip_modules` the modules are stripped with kbuild's `$(STRIP)
--strip-debug` (what `INSTALL_MOD_STRIP=1` does) before they are hashed, so
the proofs cover what is installed; the unstripped modules, with the same
build IDs, are the output group `unstripped_modules`, for debug packages.
It must agree with the configuration's `CONFIG_MODULE_INSTALL_STRIP`, which
`make modules_install` follows: the action fails otherwise.

Kernels before 6.15 link no `vmlinux.unstripped`: build them with
`placeholder = "vmlinux"`.""",
    attrs = dict(_KBUILD_ATTR, **{
        "config": attr.label(
            mandatory = True,
            providers = [KernelConfigInfo],
            doc = "A `kernel_config`.",
        ),
        "modules": attr.string_list(
            doc = "Optional: the in-tree modules, as paths below the tree ending in `.ko`, in modules.order order, to get one output file per module. Empty (the default): the modules are those of kbuild's modules.order, as one directory.",
        ),
        "placeholder": attr.string(
            default = "vmlinux.unstripped",
            values = ["vmlinux.unstripped", "vmlinux"],
            doc = """Which of kbuild's files is the placeholder, the output `vmlinux.unstripped`:
`vmlinux.unstripped` (6.15 and later), or `vmlinux` for kernels before
6.15, which link none (kbuild's vmlinux, already post-linked: the root goes
in with `kernel_vmlinux(root_only = True)`). The action fails if the
kernel's kbuild does not match.""",
        ),
        "strip_modules": attr.bool(
            doc = "Strip the modules (`--strip-debug`) before hashing; external modules built against this kernel too.",
        ),
    }),
    provides = [KernelBuildInfo, KernelModulesInfo],
)

def _kernel_external_module_impl(ctx):
    build = ctx.attr.kernel[KernelBuildInfo]
    _check_paths(ctx.attr.modules)
    root = ctx.label.name
    modules = _declare_modules(ctx, root, ctx.attr.modules)
    unstripped, strip_env = _strip_outputs(ctx, build.strip_modules, root, ctx.attr.modules)
    order = ctx.actions.declare_file(root + "/modules.order")
    srcs = ctx.files.srcs
    moddir = srcs[0].dirname
    for f in srcs:
        if f.dirname != moddir:
            fail("{}: all srcs must be in one directory, {}".format(f.short_path, srcs[0].short_path))
    args = ctx.actions.args()
    args.add_all([order.dirname, build.config.source.tree, build.state, build.module_symvers, str(len(srcs))])
    args.add_all(srcs)
    args.add_all(ctx.attr.modules)
    _run_kbuild(
        ctx,
        "KernelExternalModule",
        "MODULE %s (%d)" % (ctx.label, len(modules)),
        "external",
        modules + unstripped + [order],
        srcs + [build.state, build.module_symvers],
        [args],
        build.config.make_args,
        strip_env,
        source = build.config.source,
        unused = root + ".unused",
    )
    return [
        _modules_info(modules, ctx.attr.modules, order),
        DefaultInfo(files = depset(modules)),
        OutputGroupInfo(unstripped_modules = depset(unstripped)),
    ]

kernel_external_module = rule(
    implementation = _kernel_external_module_impl,
    doc = """Builds out-of-tree modules (`make M=`) against a `kernel_build`: one action.

`srcs` (a `Kbuild` or `Makefile` and the sources, all in one directory) are
copied to a directory of their own, `M=`, and nothing else is; `modules`
lists what kbuild builds there, in its modules.order order. Provides
`KernelModulesInfo`, so that the modules join the kernel's Merkle tree (see
`kernel_modules_set`). They are stripped if the kernel's are
(`kernel_build.strip_modules`; output group `unstripped_modules`).""",
    attrs = dict(_KBUILD_ATTR, **{
        "kernel": attr.label(
            mandatory = True,
            providers = [KernelBuildInfo],
            doc = "The `kernel_build` to build against.",
        ),
        "modules": attr.string_list(
            mandatory = True,
            doc = "The modules, as paths below the directory of `srcs` ending in `.ko`, in modules.order order.",
        ),
        "srcs": attr.label_list(
            allow_files = True,
            mandatory = True,
            doc = "The module's sources and its Kbuild or Makefile, all in one directory.",
        ),
    }),
    provides = [KernelModulesInfo],
)

def _kernel_boot_image_impl(ctx):
    build = ctx.attr.kernel[KernelBuildInfo]
    image = ctx.attr.vmlinux[KernelImageInfo]
    out = ctx.actions.declare_file(ctx.attr.out or ctx.label.name)
    _run_kbuild(
        ctx,
        "KernelBootImage",
        "IMAGE %s" % out.short_path,
        "image",
        [out],
        [build.state, image.vmlinux],
        [out.path, build.config.source.tree.path, build.state.path, image.vmlinux.path],
        build.config.make_args,
        source = build.config.source,
        worker = True,
    )
    return [DefaultInfo(files = depset([out]))]

kernel_boot_image = rule(
    implementation = _kernel_boot_image_impl,
    doc = """The boot image (`bzImage` on x86, kbuild's `image_name`) of a final vmlinux: one action.

Unpacks the `kernel_build` state, puts the final vmlinux of `vmlinux` in
place of kbuild's and runs kbuild's image target with `-o vmlinux`, so that
vmlinux is not relinked; the action fails if kbuild touched it anyway.""",
    attrs = dict(_KBUILD_ATTR, **{
        "kernel": attr.label(
            mandatory = True,
            providers = [KernelBuildInfo],
            doc = "The `kernel_build` whose tree builds the image.",
        ),
        "out": attr.string(
            default = "",
            doc = "Output file name. Default: the target's name.",
        ),
        "vmlinux": attr.label(
            mandatory = True,
            providers = [KernelImageInfo],
            doc = "The final vmlinux: a `kernel_vmlinux` target.",
        ),
    }),
)

def _kernel_modules_set_impl(ctx):
    build = ctx.attr.kernel[KernelBuildInfo]
    intree = ctx.attr.kernel[KernelModulesInfo]
    install_dir = ctx.attr.install_dir.strip("/")
    entries = []  # (file, path below the object tree, modules.order line)

    # modules.order names in-tree modules by object, as kbuild does, and
    # out-of-tree ones by their installed path.
    for f, p in zip(intree.modules, intree.paths):
        entries.append((f, p, p[:-len(intree.suffix)] + ".o"))
    for ext in ctx.attr.external:
        info = ext[KernelModulesInfo]
        if info.directory:
            fail("{}: external modules must be listed (file form)".format(ext.label))
        for f, p in zip(info.modules, info.paths):
            path = install_dir + "/" + p[:-len(info.suffix)] + ".ko"
            entries.append((f, path, path))

    # What `modhashes install` reads from an object tree besides modules.
    extra = {"include/config/kernel.release": build.kernel_release}
    for f in build.modules_builtin:
        extra[f.basename] = f
    if intree.directory:
        info = _merged_objtree(ctx, intree, entries, extra)
        files = [info.directory]
    else:
        info = module_objtree(ctx, ctx.label.name + ".objtree", entries, extra = extra)
        files = info.modules + [info.order]
    return [
        info,
        build,
        DefaultInfo(files = depset(files)),
    ]

def _merged_objtree(ctx, intree, entries, extra):
    """The in-tree object tree (a tree artifact) plus `entries` and `extra`, copied into one tree artifact.

    Copies, not symlinks: a symlink in a tree artifact to a file outside it
    would name a path of this action's sandbox or execroot.
    """
    out = ctx.actions.declare_directory(ctx.label.name + ".objtree")
    lines = ctx.actions.declare_file(ctx.label.name + ".external.order")
    ctx.actions.write(lines, "".join([line + "\n" for _, _, line in entries]))
    args = ctx.actions.args()
    args.add_all([out.path, intree.directory.path, lines.path])
    for f, path, _ in entries:
        args.add_all([f.path, path])
    for path, f in extra.items():
        args.add_all([f.path, path])
    ctx.actions.run_shell(
        command = """set -eu
out=$1 intree=$2 lines=$3
shift 3
cp -RL "$intree/." "$out/"
chmod -R u+w "$out"
cat "$intree/modules.order" "$lines" >"$out/modules.order"
while [ $# -gt 0 ]; do
  if [ -e "$out/$2" ]; then echo "kernel_modules_set: $2 comes twice" >&2; exit 1; fi
  mkdir -p "$(dirname "$out/$2")"
  cp -L "$1" "$out/$2"
  shift 2
done
""",
        arguments = [args],
        inputs = [intree.directory, lines, ctx.file._host_tools] + [e[0] for e in entries] + extra.values(),
        outputs = [out],
        env = {"LC_ALL": "C", "PATH": KBUILD_HOST_PATH},
        mnemonic = "KernelModulesSet",
        progress_message = "MODULES SET %s (kbuild's modules.order + %d)" % (ctx.label, len(entries)),
    )
    return directory_objtree(out, intree.suffix)

kernel_modules_set = rule(
    implementation = _kernel_modules_set_impl,
    doc = """The in-tree modules of a `kernel_build` and out-of-tree modules, as one set for one Merkle tree.

Positions: the in-tree modules in kbuild's order, then each `external`
target's modules in its order. Out-of-tree modules are placed below
`install_dir` (kbuild's `INSTALL_MOD_DIR` for `M=` builds, `updates`), which
is where `kernel_modules_install` installs them. Forwards the kernel's
`KernelBuildInfo`, so that the install knows its release, `System.map` and
`modules.builtin`. With a list of in-tree modules (`kernel_build.modules`)
it runs no process and the object tree is symlinks; with the in-tree
modules as a directory (the default) one action copies them, kbuild's
modules.order and the external modules into one tree artifact.""",
    attrs = {
        "external": attr.label_list(
            providers = [KernelModulesInfo],
            doc = "`kernel_external_module` targets.",
        ),
        "install_dir": attr.string(
            default = "updates",
            doc = "Directory below `lib/modules/<release>` of the out-of-tree modules.",
        ),
        "kernel": attr.label(
            mandatory = True,
            providers = [KernelBuildInfo, KernelModulesInfo],
            doc = "The `kernel_build` of the in-tree modules.",
        ),
        "_host_tools": attr.label(
            default = KBUILD_HOST_TOOLS,
            allow_single_file = True,
        ),
    },
    provides = [KernelModulesInfo, KernelBuildInfo],
)

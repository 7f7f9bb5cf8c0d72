"""Analysis tests of the rules: providers, actions and refusals."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//rules:defs.bzl", "KernelBuildInfo", "KernelImageInfo", "KernelModulesInfo", "ModuleHashesInfo")

def _modules_test_impl(ctx):
    env = analysistest.begin(ctx)
    info = analysistest.target_under_test(env)[KernelModulesInfo]
    asserts.equals(env, ["mods/a/x.ko", "mods/b/y.ko"], info.paths)
    asserts.equals(env, [f.basename for f in info.modules], ["x.ko", "y.ko"])
    asserts.equals(env, ".ko", info.suffix)
    asserts.equals(env, "modules.order", info.order.basename)
    asserts.equals(env, info.order.dirname, info.objtree)
    asserts.true(env, info.objtree.endswith("/rules/tests/modules.objtree"), info.objtree)

    # One symlink per module at its path, plus modules.order.
    asserts.equals(
        env,
        sorted([info.objtree + "/" + p for p in info.paths] + [info.order.path]),
        sorted([f.path for f in info.objtree_files.to_list()]),
    )
    return analysistest.end(env)

modules_test = analysistest.make(_modules_test_impl)

def _hashes_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[ModuleHashesInfo]

    # Where the outputs must be: this package's output directory (the test
    # runs in the target's configuration), one proof per module at its path.
    out = ctx.bin_dir.path + "/rules/tests/"
    proof_dir = out + "hashes.proofs"
    asserts.equals(env, proof_dir, info.proof_dir)
    asserts.equals(env, [proof_dir + "/mods/a/x.merkle", proof_dir + "/mods/b/y.merkle"], [f.path for f in info.proofs])
    asserts.equals(env, out + "hashes.module_hashes.bin", info.root.path)
    actions = analysistest.target_actions(env)
    trees = [a for a in actions if a.mnemonic == "ModHashesTree"]
    asserts.equals(env, 1, len(trees))
    argv = trees[0].argv
    asserts.true(env, "tree" in argv, str(argv))
    for flag, value in [
        ("--objtree", out + "modules.objtree"),
        ("--order", out + "modules.objtree/modules.order"),
        ("--root-bin", out + "hashes.module_hashes.bin"),
        ("--proof-dir", proof_dir),
        ("--endian", "big"),
    ]:
        asserts.true(env, flag in argv, "%s missing from %s" % (flag, argv))
        asserts.equals(env, value, argv[argv.index(flag) + 1])
    asserts.equals(
        env,
        sorted([info.root.path, info.root_c.path] + [f.path for f in info.proofs]),
        sorted([f.path for f in trees[0].outputs.to_list()]),
    )
    return analysistest.end(env)

hashes_test = analysistest.make(_hashes_test_impl)

def _failure_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, ctx.attr.message)
    return analysistest.end(env)

failure_test = analysistest.make(
    _failure_test_impl,
    expect_failure = True,
    attrs = {"message": attr.string(doc = "Text the analysis error must contain.")},
)

# The toolchain the tests below register instead of modhashes' default.
PREBUILT_TOOLCHAIN = "//rules/tests:prebuilt_toolchain"

# File names of the default tool and of the test's prebuilt one.
_TOOLS = ["modhashes", "prebuilt_modhashes"]

def _prebuilt_tool_test_impl(ctx):
    """The target's action (or test script) runs the prebuilt tool, not modhashes' own."""
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    mnemonic = ctx.attr.mnemonic
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == mnemonic]
    asserts.equals(env, 1, len(actions), "%s actions" % mnemonic)
    if not actions:
        return analysistest.end(env)
    action = actions[0]
    if mnemonic == "FileWrite":
        # modules_verify_test: its script runs the tool from its runfiles.
        runfiles = target[DefaultInfo].default_runfiles.files.to_list()
        tools = [f for f in runfiles if f.basename in _TOOLS]
        asserts.equals(env, ["prebuilt_modhashes"], [f.basename for f in tools])
        asserts.true(env, tools and "'%s' verify" % tools[0].short_path in action.content, action.content)
    else:
        tools = [f for f in action.inputs.to_list() if f.basename in _TOOLS]
        asserts.equals(env, ["prebuilt_modhashes"], [f.basename for f in tools])
        asserts.true(env, tools and tools[0].path in action.argv, str(action.argv))
    return analysistest.end(env)

prebuilt_tool_test = analysistest.make(
    _prebuilt_tool_test_impl,
    attrs = {
        "mnemonic": attr.string(doc = "The action that runs modhashes."),
    },
    config_settings = {
        "//command_line_option:extra_toolchains": [PREBUILT_TOOLCHAIN],
    },
)

def _test_kernel_build_impl(ctx):
    """Stands in for a kernel_build without `modules`: its modules as one directory."""
    mods = ctx.attr.modules[KernelModulesInfo]
    out = ctx.actions.declare_directory(ctx.label.name + "_modules")
    ctx.actions.run_shell(
        command = 'cp -RL "$1/." "$2/" && chmod -R u+w "$2"',
        arguments = [mods.objtree, out.path],
        inputs = mods.objtree_files,
        outputs = [out],
        env = {"PATH": "/usr/bin:/bin"},
        mnemonic = "TestKernelModules",
    )

    def write(name, content):
        f = ctx.actions.declare_file(ctx.label.name + "/" + name)
        ctx.actions.write(f, content)
        return f

    return [
        KernelBuildInfo(
            config = None,
            vmlinux_unstripped = None,
            system_map = write("System.map", ""),
            kernel_release = write("kernel.release", ctx.attr.release + "\n"),
            modules_builtin = [write("modules.builtin", "kernel/lib/builtin.ko\n"), write("modules.builtin.modinfo", "")],
            state = None,
            module_symvers = None,
            strip_modules = False,
        ),
        KernelModulesInfo(
            directory = out,
            modules = [],
            paths = [],
            suffix = mods.suffix,
            order = None,
            objtree = out.path,
            objtree_files = depset([out]),
        ),
        DefaultInfo(files = depset([out])),
    ]

test_kernel_build = rule(
    implementation = _test_kernel_build_impl,
    doc = "A kernel_build in the directory form, whose modules are those of a kernel_modules target (copied); runs no kbuild.",
    attrs = {
        "modules": attr.label(providers = [KernelModulesInfo], mandatory = True),
        "release": attr.string(mandatory = True),
    },
    provides = [KernelBuildInfo, KernelModulesInfo],
)

def _hashes_dir_test_impl(ctx):
    env = analysistest.begin(ctx)
    info = analysistest.target_under_test(env)[ModuleHashesInfo]
    out = ctx.bin_dir.path + "/rules/tests/"

    # One tree artifact of proofs, which is the proof directory.
    asserts.equals(env, 1, len(info.proofs))
    asserts.true(env, info.proofs[0].is_directory, "proofs are not a directory")
    asserts.equals(env, out + "dir_hashes.proofs", info.proofs[0].path)
    asserts.equals(env, info.proofs[0].path, info.proof_dir)
    asserts.true(env, info.modules.directory != None, "modules are not in the directory form")
    asserts.equals(env, [], info.modules.modules)
    trees = [a for a in analysistest.target_actions(env) if a.mnemonic == "ModHashesTree"]
    asserts.equals(env, 1, len(trees))
    argv = trees[0].argv
    objtree = out + "dir_kernel_modules"
    for flag, value in [
        ("--objtree", objtree),
        ("--order", objtree + "/modules.order"),
        ("--proof-dir", info.proof_dir),
    ]:
        asserts.equals(env, value, argv[argv.index(flag) + 1])
    asserts.true(env, objtree in [f.path for f in trees[0].inputs.to_list()], "the module directory is no input")
    asserts.equals(
        env,
        sorted([info.root.path, info.root_c.path, info.proof_dir]),
        sorted([f.path for f in trees[0].outputs.to_list()]),
    )
    return analysistest.end(env)

hashes_dir_test = analysistest.make(_hashes_dir_test_impl)

def _install_dir_test_impl(ctx):
    env = analysistest.begin(ctx)
    out = ctx.bin_dir.path + "/rules/tests/"
    installs = [a for a in analysistest.target_actions(env) if a.mnemonic == "ModHashesInstall"]
    asserts.equals(env, 1, len(installs))
    argv = installs[0].argv
    objtree = out + "dir_kernel_modules"
    for flag, value in [
        ("--objtree", objtree),
        ("--order", objtree + "/modules.order"),
        ("--proof-dir", out + "dir_hashes.proofs"),
    ]:
        asserts.equals(env, value, argv[argv.index(flag) + 1])
    inputs = [f.path for f in installs[0].inputs.to_list()]
    for want in [objtree, out + "dir_hashes.proofs"]:
        asserts.true(env, want in inputs, "%s is no input" % want)
    return analysistest.end(env)

install_dir_test = analysistest.make(_install_dir_test_impl)

def _set_dir_test_impl(ctx):
    env = analysistest.begin(ctx)
    info = analysistest.target_under_test(env)[KernelModulesInfo]
    out = ctx.bin_dir.path + "/rules/tests/dir_set.objtree"
    asserts.true(env, info.directory != None and info.directory.is_directory, "the set is not one directory")
    asserts.equals(env, out, info.objtree)
    asserts.equals(env, [out], [f.path for f in info.objtree_files.to_list()])
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "KernelModulesSet"]
    asserts.equals(env, 1, len(actions))
    if not actions:
        return analysistest.end(env)
    action = actions[0]

    # Hermetic: the host tools' identity and every merged file declared, PATH fixed.
    inputs = [f.path for f in action.inputs.to_list()]
    for want in ["tools.txt", "dir_kernel_modules", "toyhash.ko", "kernel.release", "modules.builtin"]:
        asserts.true(env, [p for p in inputs if p.endswith("/" + want)], "no input %s in %s" % (want, inputs))
    asserts.equals(env, "/usr/bin:/bin", action.env.get("PATH"))
    asserts.true(env, "updates/toyhash.ko" in action.argv, str(action.argv))
    return analysistest.end(env)

set_dir_test = analysistest.make(_set_dir_test_impl)

def _action_env_test_impl(ctx):
    """Each action of `mnemonics` (one per mnemonic) has `env` in its environment."""
    env = analysistest.begin(ctx)
    actions = analysistest.target_actions(env)
    for mnemonic in ctx.attr.mnemonics:
        found = [a for a in actions if a.mnemonic == mnemonic]
        asserts.equals(env, 1, len(found), "%s actions" % mnemonic)
        for a in found:
            for key, want in ctx.attr.env.items():
                asserts.equals(env, want, a.env.get(key), "%s's %s" % (mnemonic, key))
    return analysistest.end(env)

action_env_test = analysistest.make(
    _action_env_test_impl,
    attrs = {
        "env": attr.string_dict(doc = "Variables and the values the actions must give them."),
        "mnemonics": attr.string_list(doc = "The actions to check, by mnemonic."),
    },
)

def _vmlinux_args_test_impl(ctx):
    """kernel_vmlinux's one action runs modhashes with `argv` exactly."""
    env = analysistest.begin(ctx)
    info = analysistest.target_under_test(env)[KernelImageInfo]
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "ModHashesFinalize"]
    asserts.equals(env, 1, len(actions))
    if not actions:
        return analysistest.end(env)
    paths = {"$IN": info.unstripped.path, "$OUT": info.vmlinux.path, "$ROOT": info.hashes.root.path}
    asserts.equals(env, [paths.get(a, a) for a in ctx.attr.argv], actions[0].argv[1:])
    asserts.equals(env, [info.vmlinux.path], [f.path for f in actions[0].outputs.to_list()])
    return analysistest.end(env)

vmlinux_args_test = analysistest.make(
    _vmlinux_args_test_impl,
    attrs = {
        "argv": attr.string_list(doc = "modhashes' arguments; $ROOT, $IN and $OUT stand for the root, the placeholder and the output."),
    },
)

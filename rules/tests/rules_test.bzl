"""Analysis tests of the rules: providers, actions and refusals."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//rules:defs.bzl", "KernelModulesInfo", "ModuleHashesInfo")

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

"""modhashes_toolchain: the `modhashes` tool that the rules run, by toolchain resolution."""

# The rules' toolchain type; a label, so that it resolves in modhashes'
# repository whichever module loads this file.
TOOLCHAIN_TYPE = Label("//rules/toolchain:toolchain_type")

def modhashes_tool(ctx):
    """Returns the resolved toolchain's ToolchainInfo (fields: see modhashes_toolchain)."""
    return ctx.toolchains[TOOLCHAIN_TYPE]

def _modhashes_toolchain_impl(ctx):
    target = ctx.attr.tool
    return [platform_common.ToolchainInfo(
        tool = ctx.executable.tool,
        files_to_run = target[DefaultInfo].files_to_run,
        runfiles = target[DefaultInfo].default_runfiles,
    )]

modhashes_toolchain = rule(
    implementation = _modhashes_toolchain_impl,
    doc = """A `modhashes` tool for the rules: the target of a `toolchain` of type
`@modhashes//rules/toolchain:toolchain_type`.

modhashes registers one built from source (`@modhashes//tools/modhashes`,
by rules_go). To bring a prebuilt or pinned binary, declare your own and
register it in your `MODULE.bazel` (a root module's toolchains come before
those of its dependencies):

```starlark
modhashes_toolchain(
    name = "prebuilt",
    tool = "@my_modhashes//:modhashes",
    # Seen by the rules of @modhashes (--incompatible_check_visibility_for_toolchains).
    visibility = ["//visibility:public"],
)

toolchain(
    name = "prebuilt_toolchain",
    toolchain = ":prebuilt",
    toolchain_type = "@modhashes//rules/toolchain:toolchain_type",
    exec_compatible_with = ["@platforms//os:linux", "@platforms//cpu:x86_64"],
)
```

Its `platform_common.ToolchainInfo` has `tool` (File: the executable),
`files_to_run` (FilesToRunProvider, for `ctx.actions.run`) and `runfiles`
(the tool's runfiles).""",
    attrs = {
        "tool": attr.label(
            mandatory = True,
            executable = True,
            allow_files = True,
            # Built for, or compatible with, the platform the actions run on.
            cfg = "exec",
            doc = "The `modhashes` executable: a binary target or a prebuilt file.",
        ),
    },
    provides = [platform_common.ToolchainInfo],
)

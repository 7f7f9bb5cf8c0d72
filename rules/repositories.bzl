"""Repository rules for MODULE.bazel: `use_repo_rule("@modhashes//rules:repositories.bzl", ...)`."""

def _local_kernel_archive_impl(rctx):
    path = rctx.attr.path
    if not path.startswith("/"):
        path = str(rctx.workspace_root) + "/" + path
    p = rctx.path(path)
    if not p.exists:
        fail("local_kernel_archive {}: {} does not exist".format(rctx.name, path))
    rctx.symlink(p, p.basename)
    rctx.file("BUILD.bazel", 'exports_files(["{}"])\n'.format(p.basename))

local_kernel_archive = repository_rule(
    implementation = _local_kernel_archive_impl,
    doc = """Makes a kernel source tarball outside the workspace a file of its own repository.

Nothing is downloaded and nothing is checked here: `kernel_source` pins the
tarball's content by its sha256. Use it as `@<name>//:<file name>`.""",
    attrs = {
        "path": attr.string(
            mandatory = True,
            doc = "The tarball: an absolute path, or one relative to the main workspace.",
        ),
    },
    local = True,
)

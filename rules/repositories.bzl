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

# The files local_kernel_tree writes next to the tree's top-level entries.
_TREE_FILES = ["BUILD.bazel", "REPO.bazel", "symlinks.txt"]

def _local_kernel_tree_impl(rctx):
    path = rctx.attr.path
    if rctx.attr.path_env:
        path = rctx.getenv(rctx.attr.path_env, path)
    if not path:
        fail("local_kernel_tree {}: no path (path, or ${})".format(rctx.name, rctx.attr.path_env))
    if not path.startswith("/"):
        path = str(rctx.workspace_root) + "/" + path

    # Watched, listed and linked at its real path: a link in the workspace
    # (bazel.sh's) may point anywhere.
    p = rctx.path(path).realpath
    if not p.exists or not p.is_dir or not p.get_child("Makefile").exists:
        fail("local_kernel_tree {}: {} is not a kernel tree (no Makefile)".format(rctx.name, path))

    # A change to the tree's listing re-runs the scan (a new link or BUILD
    # file): every directory's entries are watched, not the files' content,
    # which Bazel checks itself; watch_tree would re-run the scan, and load
    # the package again, for any edit.
    res = rctx.execute([
        "find",
        str(p),
        "-mindepth",
        "1",
        "(",
        "-type",
        "d",
        "-printf",
        "D\t%P\n",
        ")",
        "-o",
        "(",
        "-type",
        "l",
        "-printf",
        "L\t%P\t%l\n",
        ")",
        "-o",
        "(",
        "-name",
        "BUILD",
        "-o",
        "-name",
        "BUILD.bazel",
        ")",
        "-type",
        "f",
        "-printf",
        "B\t%P\n",
    ])
    if res.return_code != 0:
        fail("local_kernel_tree {}: find {}: {}".format(rctx.name, path, res.stderr))
    links, exclude = [], list(_TREE_FILES)
    p.readdir(watch = "yes")
    for line in sorted(res.stdout.splitlines()):
        kind, rest = line.split("\t", 1)
        if kind == "D":
            p.get_child(rest).readdir(watch = "yes")
            continue
        if kind == "B":
            # glob stops at a package: its files would be missing.
            fail("local_kernel_tree {}: {}/{} would make a Bazel package of its directory".format(rctx.name, path, rest))
        links.append(rest + "\n")
        name = rest.split("\t", 1)[0]

        # A link to a directory: glob would list the directory's files.
        exclude += [name, name + "/**"]
    for e in p.readdir():
        if e.basename in _TREE_FILES:
            fail("local_kernel_tree {}: the tree has a top-level {}".format(rctx.name, e.basename))
        rctx.symlink(e, e.basename)
    rctx.file("symlinks.txt", "".join(links))
    rctx.file("REPO.bazel", "")
    rctx.file("BUILD.bazel", """# local_kernel_tree of {path}: kernel_source(srcs = [":srcs"], symlinks = ":symlinks.txt").
filegroup(
    name = "srcs",
    srcs = glob(["**"], exclude = {exclude}),
    visibility = ["//visibility:public"],
)

exports_files(["symlinks.txt"])
""".format(path = path, exclude = json.encode(exclude)))

local_kernel_tree = repository_rule(
    implementation = _local_kernel_tree_impl,
    doc = """Makes a kernel source tree outside the workspace the files of a repository.

The repository links the tree's top-level entries and has two targets for
`kernel_source`: `:srcs`, every file of the tree (a `glob`; their content is
the pin), and `:symlinks.txt`, the tree's symbolic links, which the glob
leaves out (Bazel would list a link to a directory as that directory's
files). A BUILD file inside the tree is an error: it would hide its
directory from the glob.

    kernel_source(name = "source", srcs = ["@linux//:srcs"], symlinks = "@linux//:symlinks.txt")""",
    attrs = {
        "path": attr.string(
            doc = "The tree: an absolute path, or one relative to the main workspace.",
        ),
        "path_env": attr.string(
            doc = "An environment variable that, when set, gives the tree's path instead of `path`.",
        ),
    },
    local = True,
)

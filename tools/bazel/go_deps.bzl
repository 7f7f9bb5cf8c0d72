"""Go module dependencies of the workspace, kept by Gazelle.

Regenerate with `bazel run //:gazelle-update-repos` after go.mod changes;
tools/bazel/ci.sh fails when this file is stale.
"""

load("@bazel_gazelle//:deps.bzl", "go_repository")

def go_dependencies():
    """Declares a go_repository for every module in go.mod."""
    go_repository(
        name = "com_github_klauspost_compress",
        importpath = "github.com/klauspost/compress",
        sum = "h1:c/Cqfb0r+Yi+JtIEq73FWXVkRonBlf0CRNYc8Zttxdo=",
        version = "v1.18.0",
    )

    go_repository(
        name = "com_github_spf13_pflag",
        importpath = "github.com/spf13/pflag",
        sum = "h1:vN6T9TfwStFPFM5XzjsvmzZkLuaLX+HS+0SeFLRgU6M=",
        version = "v1.0.7",
    )
    go_repository(
        name = "com_github_ulikunitz_xz",
        importpath = "github.com/ulikunitz/xz",
        sum = "h1:flR0y/x1hgM8EGV1AW3Xll6T413G0glV8UfBwR617V4=",
        version = "v0.5.17",
    )

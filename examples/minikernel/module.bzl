"""minikernel_module: one mini-kernel module, built after vmlinux."""

def minikernel_module(name, src, vmlinux_unstripped, **kwargs):
    """Compiles src into the relocatable module <name>.ko with the host C toolchain.

    Like kbuild, the module is built after vmlinux: its "modpost" step checks
    every undefined symbol against vmlinux.unstripped.

    Args:
      name: module path below this package, without suffix (e.g. drivers/net/foo).
      src: the module's C source.
      vmlinux_unstripped: the kernel the module is built against.
      **kwargs: passed to the genrule.
    """
    native.genrule(
        name = name,
        srcs = [
            src,
            vmlinux_unstripped,
            "kernel/minikernel.h",
        ],
        outs = [name + ".ko"],
        cmd = " ".join([
            "$(location modpost.sh)",
            "$(CC)",
            "$(NM)",
            "$(location %s)" % vmlinux_unstripped,
            "$$(dirname $(location kernel/minikernel.h))",
            "$(location %s)" % src,
            "$@",
        ]),
        tools = [
            "modpost.sh",
            "@bazel_tools//tools/cpp:current_cc_toolchain",
        ],
        toolchains = ["@bazel_tools//tools/cpp:current_cc_toolchain"],
        message = "MODPOST %s.ko" % name,
        **kwargs
    )

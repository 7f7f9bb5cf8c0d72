"""kernel_module_hashes: the whole split pipeline from two targets."""

load(":hashes.bzl", "module_hashes")
load(":install.bzl", "kernel_modules_install")
load(":verify_test.bzl", "modules_verify_test")
load(":vmlinux.bzl", "kernel_vmlinux")

def kernel_module_hashes(
        name,
        vmlinux_unstripped,
        modules,
        kernel_release,
        compression = "none",
        vmlinux_out = None,
        **kwargs):
    """Wires vmlinux.unstripped -> modules -> Merkle tree -> final vmlinux -> install.

    Declares:
      - `<name>_hashes`: `module_hashes` over `modules`, byte order from
        `vmlinux_unstripped`;
      - `<name>_vmlinux`: `kernel_vmlinux`, the final image (file
        `vmlinux_out`, default `<name>_vmlinux`);
      - `<name>_install`: `kernel_modules_install`, a directory with
        `lib/modules/<kernel_release>/...`;
      - `<name>_verify_test`: `modules_verify_test` of the installed modules
        against the final image.

    Every step is its own action: nothing runs "make modules" from inside the
    vmlinux link, and a changed module re-runs only its own build, the tree,
    the final image and the install.

    Args:
      name: prefix of the declared targets.
      vmlinux_unstripped: label of the linked vmlinux.unstripped.
      modules: label of a `kernel_modules` target.
      kernel_release: directory name below lib/modules.
      compression: `none`, `gzip`, `xz` or `zstd`.
      vmlinux_out: file name of the final image.
      **kwargs: passed to every declared target (e.g. `visibility`, `tags`).
    """
    module_hashes(
        name = name + "_hashes",
        modules = modules,
        vmlinux_unstripped = vmlinux_unstripped,
        **kwargs
    )
    kernel_vmlinux(
        name = name + "_vmlinux",
        unstripped = vmlinux_unstripped,
        hashes = ":" + name + "_hashes",
        out = vmlinux_out,
        **kwargs
    )
    kernel_modules_install(
        name = name + "_install",
        hashes = ":" + name + "_hashes",
        kernel_release = kernel_release,
        compression = compression,
        **kwargs
    )
    modules_verify_test(
        name = name + "_verify_test",
        vmlinux = ":" + name + "_vmlinux",
        modules = [":" + name + "_install"],
        **kwargs
    )

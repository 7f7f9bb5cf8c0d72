"""Public API of the modhashes Bazel rules: load this file only.

    load("@modhashes//rules:defs.bzl", "kernel_module_hashes", "kernel_modules")

The pipeline rules (`kernel_modules`, `module_hashes`, `kernel_vmlinux`,
`kernel_modules_install`, `modules_verify_test`) take a kernel built
elsewhere; the kbuild rules (`kernel_source`, `kernel_config`,
`kernel_build`, `kernel_external_module`, `kernel_modules_set`,
`kernel_boot_image`) build one from source. The rules run the `modhashes`
tool of the toolchain `@modhashes//rules/toolchain:toolchain_type`
(`modhashes_toolchain`). See rules/README.md for how to use them and rules/REFERENCE.md, which Stardoc
renders from this file, for every rule, attribute and provider field.
"""

load("//rules/private:hashes.bzl", _module_hashes = "module_hashes")
load("//rules/private:install.bzl", _kernel_modules_install = "kernel_modules_install")
load(
    "//rules/private:kbuild.bzl",
    _kernel_boot_image = "kernel_boot_image",
    _kernel_build = "kernel_build",
    _kernel_config = "kernel_config",
    _kernel_external_module = "kernel_external_module",
    _kernel_modules_set = "kernel_modules_set",
    _kernel_source = "kernel_source",
)
load("//rules/private:modules.bzl", _kernel_modules = "kernel_modules")
load("//rules/private:pipeline.bzl", _kernel_module_hashes = "kernel_module_hashes")
load(
    "//rules/private:providers.bzl",
    _KernelBuildInfo = "KernelBuildInfo",
    _KernelConfigInfo = "KernelConfigInfo",
    _KernelImageInfo = "KernelImageInfo",
    _KernelModulesInfo = "KernelModulesInfo",
    _KernelSourceInfo = "KernelSourceInfo",
    _ModuleHashesInfo = "ModuleHashesInfo",
)
load("//rules/private:toolchain.bzl", _modhashes_toolchain = "modhashes_toolchain")
load("//rules/private:verify_test.bzl", _modules_verify_test = "modules_verify_test")
load("//rules/private:vmlinux.bzl", _kernel_vmlinux = "kernel_vmlinux")

KernelSourceInfo = _KernelSourceInfo
KernelConfigInfo = _KernelConfigInfo
KernelBuildInfo = _KernelBuildInfo
KernelImageInfo = _KernelImageInfo
KernelModulesInfo = _KernelModulesInfo
ModuleHashesInfo = _ModuleHashesInfo

kernel_source = _kernel_source
kernel_config = _kernel_config
kernel_build = _kernel_build
kernel_external_module = _kernel_external_module
kernel_boot_image = _kernel_boot_image
kernel_modules_set = _kernel_modules_set
kernel_modules = _kernel_modules
module_hashes = _module_hashes
kernel_vmlinux = _kernel_vmlinux
kernel_modules_install = _kernel_modules_install
modules_verify_test = _modules_verify_test
kernel_module_hashes = _kernel_module_hashes
modhashes_toolchain = _modhashes_toolchain

"""Public API of the modhashes Bazel rules: load this file only.

    load("@modhashes//rules:defs.bzl", "kernel_module_hashes", "kernel_modules")

See rules/README.md for how to use them and rules/REFERENCE.md, which Stardoc
renders from this file, for every rule, attribute and provider field.
"""

load("//rules/private:hashes.bzl", _module_hashes = "module_hashes")
load("//rules/private:install.bzl", _kernel_modules_install = "kernel_modules_install")
load("//rules/private:modules.bzl", _kernel_modules = "kernel_modules")
load("//rules/private:pipeline.bzl", _kernel_module_hashes = "kernel_module_hashes")
load(
    "//rules/private:providers.bzl",
    _KernelImageInfo = "KernelImageInfo",
    _KernelModulesInfo = "KernelModulesInfo",
    _ModuleHashesInfo = "ModuleHashesInfo",
)
load("//rules/private:verify_test.bzl", _modules_verify_test = "modules_verify_test")
load("//rules/private:vmlinux.bzl", _kernel_vmlinux = "kernel_vmlinux")

KernelImageInfo = _KernelImageInfo
KernelModulesInfo = _KernelModulesInfo
ModuleHashesInfo = _ModuleHashesInfo

kernel_modules = _kernel_modules
module_hashes = _module_hashes
kernel_vmlinux = _kernel_vmlinux
kernel_modules_install = _kernel_modules_install
modules_verify_test = _modules_verify_test
kernel_module_hashes = _kernel_module_hashes

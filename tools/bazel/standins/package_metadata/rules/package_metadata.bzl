"""package_metadata: records a package URL, as the real rule does."""

load("//providers:package_metadata_info.bzl", "PackageMetadataInfo")

def _package_metadata_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".package-metadata.json")
    ctx.actions.write(out, json.encode({"purl": ctx.attr.purl}))
    return [
        DefaultInfo(files = depset([out])),
        PackageMetadataInfo(metadata = out, purl = ctx.attr.purl),
    ]

_package_metadata = rule(
    implementation = _package_metadata_impl,
    doc = "Metadata of a package: its package URL.",
    attrs = {
        "attributes": attr.label_list(doc = "Ignored."),
        "purl": attr.string(mandatory = True, doc = "The package URL."),
    },
)

def package_metadata(name, **kwargs):
    # Metadata has no metadata of its own: without this, the package's default
    # metadata would be this very target, a cycle.
    _package_metadata(name = name, applicable_licenses = [], **kwargs)

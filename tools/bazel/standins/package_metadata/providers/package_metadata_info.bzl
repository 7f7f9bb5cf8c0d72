"""PackageMetadataInfo, as the real package_metadata module names it."""

PackageMetadataInfo = provider(
    doc = "Metadata of a package.",
    fields = {
        "metadata": "File: the package's metadata.",
        "purl": "string: the package URL.",
    },
)

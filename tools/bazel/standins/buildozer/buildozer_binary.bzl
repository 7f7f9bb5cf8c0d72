"""buildozer_binary: the extension's interface, defining no repository."""

buildozer_binary = module_extension(
    implementation = lambda ctx: None,
    doc = "Accepts the real extension's tags; nothing here runs buildozer.",
    tag_classes = {
        "buildozer": tag_class(attrs = {"sha256": attr.string_dict(), "version": attr.string()}),
    },
)

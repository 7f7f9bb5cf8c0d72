package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeCurrent fails when rules/README.md does not match the .bzl files.
func TestReadmeCurrent(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Render("..", readme)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, readme) {
		t.Errorf("rules/README.md is stale: run 'go run ./rules/docgen -w'")
	}
	// Every exported symbol of defs.bzl is in the page.
	api, err := Load("..")
	if err != nil {
		t.Fatal(err)
	}
	if len(api.Rules) < 5 || len(api.Macros) < 1 || len(api.Providers) < 3 {
		t.Errorf("found %d rules, %d macros, %d providers: defs.bzl not read", len(api.Rules), len(api.Macros), len(api.Providers))
	}
	for _, r := range api.Rules {
		if !bytes.Contains(readme, []byte("### `"+r.Name+"`")) {
			t.Errorf("README.md has no section for rule %s", r.Name)
		}
	}
}

// writeRules lays out a workspace with rules/defs.bzl and rules/private/x.bzl.
func writeRules(t *testing.T, private string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "rules", "private"), 0o755); err != nil {
		t.Fatal(err)
	}
	defs := `load("//rules/private:x.bzl", _r = "r", _m = "m", _P = "P")

r = _r
m = _m
P = _P
`
	for name, data := range map[string]string{"defs.bzl": defs, "private/x.bzl": private} {
		if err := os.WriteFile(filepath.Join(root, "rules", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(root, "rules")
}

const goodPrivate = `P = provider(
    doc = "A provider.",
    fields = {
        "f": "A field.",
    },
)

def m(name):
    """A macro.

    Args:
      name: the name.
    """
    pass

r = rule(
    implementation = _impl,
    doc = """A rule.""",
    attrs = {
        "a": attr.string(
            default = "x",
            doc = "An attribute.",
        ),
        "b": attr.label(
            mandatory = True,
            doc = "Another.",
        ),
    },
)
`

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		private string
		wantErr string // "" for none
	}{
		{"documented", goodPrivate, ""},
		{"attribute without doc", strings.Replace(goodPrivate, `            doc = "Another.",
`, "", 1), "attribute b has no doc"},
		{"rule without doc", strings.Replace(goodPrivate, `    doc = """A rule.""",
`, "", 1), "rule r has no doc"},
		{"field without doc", strings.Replace(goodPrivate, `"f": "A field."`, `"f": ""`, 1), "field f has no doc"},
		{"macro without docstring", strings.Replace(goodPrivate, `    """A macro.

    Args:
      name: the name.
    """
`, "", 1), "macro m has no docstring"},
		{"export of nothing", strings.Replace(goodPrivate, "def m(name):", "def other(name):", 1), "no rule, macro or provider named m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, err := Load(writeRules(t, tt.private))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				md := string(api.Markdown())
				for _, s := range []string{"### `r`", "| `a` | string | `\"x\"` | An attribute. |", "| `b` | label | mandatory | Another. |", "### `m`", "A macro.", "### `P`", "| `f` | A field. |"} {
					if !strings.Contains(md, s) {
						t.Errorf("markdown lacks %q:\n%s", s, md)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Load error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRenderNeedsMarker(t *testing.T) {
	dir := writeRules(t, goodPrivate)
	if _, err := Render(dir, []byte("# no marker\n")); err == nil {
		t.Fatal("Render accepted a README without the marker line")
	}
	out, err := Render(dir, []byte("# title\n\n"+Marker+"\nold text\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "old text") || !strings.HasPrefix(string(out), "# title\n\n"+Marker+"\n\n## Rules") {
		t.Errorf("Render output:\n%s", out)
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

// Every command-line flag README.md and docs/protocol.md name exists in the
// binary: `--x` in the help of `streamviz serve` (or of `streamviz
// embed-url` on a line about embed-url). A doc that promises a flag the
// binary lacks fails here.
func TestEveryFlagTheDocsNameExistsInTheHelp(t *testing.T) {
	helps := map[string]string{}
	for _, cmd := range []string{"serve", "embed-url"} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{cmd, "--help"}, &stdout, &stderr); err != nil {
			t.Fatalf("streamviz %s --help: %v", cmd, err)
		}
		helps[cmd] = stdout.String() + stderr.String()
	}
	flagRe := regexp.MustCompile(`(?:^|[^A-Za-z0-9-])--([a-z][a-z0-9-]*)`)
	checked := 0
	for _, doc := range []string{"../../README.md", "../../docs/protocol.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range flagRe.FindAllStringSubmatchIndex(line, -1) {
				name := line[m[2]:m[3]]
				before := line[:m[2]-2]
				if strings.HasSuffix(before, "nats ") || strings.Contains(before, "pathway spawn ") {
					continue // the nats and pathway CLIs' own flags
				}
				if strings.HasPrefix(name, "sv-") {
					continue // the page's CSS custom properties (--sv-accent), not flags
				}
				cmd := "serve"
				if strings.Contains(before, "embed-url") {
					cmd = "embed-url"
				}
				checked++
				if !regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `\b`).MatchString(helps[cmd]) {
					t.Errorf("%s:%d names --%s, which `streamviz %s --help` does not list", doc, i+1, name, cmd)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d flag mentions found: the docs' format changed and this test no longer reads them", checked)
	}
}

package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every command-line flag README.md, docs/protocol.md and docs/reliability.md name exists in the
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
	for _, doc := range []string{"../../README.md", "../../docs/protocol.md", "../../docs/reliability.md"} {
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
				if strings.Contains(before, "bench") {
					continue // the benchmark tools' flags (svbench, bench/go, bench/py)
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

// docs/reliability.md's "Limits" table lists every limit flag of `streamviz
// serve` (--max-* and --history) on a row of its own, with the flag's
// environment variable and, where both are numbers, the default the help
// prints (issue 10: "lists every limit with its default and its flag").
func TestReliabilityLimitsTableListsEveryLimitFlagWithItsDefaultAndEnv(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"serve", "--help"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	help := stdout.String() + stderr.String()
	b, err := os.ReadFile("../../docs/reliability.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "\n### Limits\n")
	if !ok {
		t.Fatal(`docs/reliability.md has no "### Limits" section`)
	}
	if end := strings.Index(table, "\n#"); end >= 0 {
		table = table[:end]
	}
	rows := map[string][]string{} // flag → cells of its row
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 || !strings.HasPrefix(strings.TrimSpace(line), "|") {
			continue
		}
		// | limit | default | flag | env | past it |
		for _, m := range regexp.MustCompile("`--([a-z-]+)`").FindAllStringSubmatch(cells[3], -1) {
			if _, dup := rows[m[1]]; !dup {
				rows[m[1]] = cells
			}
		}
	}
	flagRe := regexp.MustCompile(`(?m)^\s+-((?:max-[a-z-]+)|history)\b[^\n]*\n([^\n]*)`)
	found := flagRe.FindAllStringSubmatch(help, -1)
	if len(found) < 8 {
		t.Fatalf("only %d limit flags in the help: its format changed and this test no longer reads it", len(found))
	}
	for _, m := range found {
		name, usage := m[1], m[2]
		row, ok := rows[name]
		if !ok {
			t.Errorf("--%s is not on a row of docs/reliability.md's Limits table", name)
			continue
		}
		if env := "STREAMVIZ_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")); !strings.Contains(row[4], env) {
			t.Errorf("Limits table, --%s: env column %q should name %s", name, strings.TrimSpace(row[4]), env)
		}
		def := regexp.MustCompile(`\(default ([0-9]+)(KiB|MiB|GiB)?\b`).FindStringSubmatch(usage)
		doc := regexp.MustCompile(`^\s*` + "`?" + `([0-9][0-9,]*)\s*(KiB|MiB|GiB)?`).FindStringSubmatch(row[2])
		if def == nil || doc == nil {
			continue // a default that is not one number (twice --max-state-bytes plus 64MiB)
		}
		if got, want := sizeOf(t, doc[1], doc[2]), sizeOf(t, def[1], def[2]); got != want {
			t.Errorf("Limits table, --%s: default %q, the help says %s%s", name, strings.TrimSpace(row[2]), def[1], def[2])
		}
	}
}

func sizeOf(t *testing.T, num, unit string) int64 {
	t.Helper()
	var n int64
	for _, r := range strings.ReplaceAll(num, ",", "") {
		n = n*10 + int64(r-'0')
	}
	return n << map[string]uint{"": 0, "KiB": 10, "MiB": 20, "GiB": 30}[unit]
}

// docs/reliability.md names the test that pins each promise; every test it
// names exists: `path::Name` in that file, and a bare TestName in some Go
// test file (or begins one: a -run pattern). A renamed or deleted test
// makes the doc lie, and fails here.
func TestReliabilityDocNamesOnlyTestsThatExist(t *testing.T) {
	doc, err := os.ReadFile("../../docs/reliability.md")
	if err != nil {
		t.Fatal(err)
	}
	var goTests strings.Builder
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			goTests.Write(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, m := range regexp.MustCompile("`([\\w./-]+\\.(?:go|py|mjs))::(\\w+)").FindAllStringSubmatch(string(doc), -1) {
		checked++
		b, err := os.ReadFile("../../" + m[1])
		if err != nil {
			t.Errorf("docs/reliability.md names %s::%s: %v", m[1], m[2], err)
			continue
		}
		if !regexp.MustCompile(`(?m)^(func|def) ` + m[2] + `\(`).Match(b) {
			t.Errorf("docs/reliability.md names %s::%s, which that file does not define", m[1], m[2])
		}
	}
	for _, m := range regexp.MustCompile(`\b(Test[A-Z]\w+)`).FindAllStringSubmatch(string(doc), -1) {
		checked++
		// A prefix is a -run pattern in a command line.
		if !strings.Contains(goTests.String(), "func "+m[1]) {
			t.Errorf("docs/reliability.md names %s, which no Go test file defines (nor any test it begins)", m[1])
		}
	}
	if checked < 50 {
		t.Fatalf("only %d test names found in docs/reliability.md: its format changed and this test no longer reads it", checked)
	}
}

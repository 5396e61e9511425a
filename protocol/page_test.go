package protocol

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The page keeps its own copies of the close codes (web/connection.js): each
// must be the value here, and each code the server sends of its own (4xxx)
// must have one, so a renumbered code cannot leave the page reconnecting
// forever or giving up on a socket it should resume.
func TestPageCloseCodesAreTheProtocols(t *testing.T) {
	src := readWeb(t, "connection.js")
	want := map[string]int{"CLOSE_SLOW": CloseSlow, "CLOSE_EXPIRED": CloseExpired, "CLOSE_POLICY": ClosePolicy}
	got := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^(?:export )?const (CLOSE_[A-Z_]+) = (\d+);`).FindAllStringSubmatch(src, -1) {
		n, _ := strconv.Atoi(m[2])
		got[m[1]] = n
	}
	for name, code := range got {
		w, ok := want[name]
		if !ok {
			t.Errorf("web/connection.js defines %s = %d, which package protocol does not know: add it there (and to docs/protocol.md §2.3)", name, code)
			continue
		}
		if code != w {
			t.Errorf("web/connection.js: %s = %d; protocol says %d", name, code, w)
		}
	}
	for _, name := range []string{"CLOSE_SLOW", "CLOSE_EXPIRED"} {
		if _, ok := got[name]; !ok {
			t.Errorf("web/connection.js does not define %s (%d)", name, want[name])
		}
	}
}

// The page's state handles every event type the server sends.
func TestPageHandlesEveryEventType(t *testing.T) {
	src := readWeb(t, "state.js")
	for _, typ := range []string{EventSnapshot, EventResumed, EventConfig, EventData, EventTitle, EventRemove} {
		if !strings.Contains(src, "ev.type === '"+typ+"'") {
			t.Errorf("web/state.js has no branch for event type %q (ev.type === '%s')", typ, typ)
		}
	}
}

func readWeb(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../web/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docs/protocol.md §4 lists every reject reason's metric label.
func TestDocsListEveryRejectReason(t *testing.T) {
	b, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	// The list wraps lines: compare with whitespace collapsed.
	doc := strings.Join(strings.Fields(string(b)), " ")
	for _, e := range RejectReasons {
		if !strings.Contains(doc, "`"+e.Error()+"`") {
			t.Errorf("docs/protocol.md does not list the reject reason `%s`", e)
		}
	}
}

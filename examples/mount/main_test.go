package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The README's Go block must be this program's code, line for line, so the
// snippet users copy is the one the tests run.
func TestReadmeSnippetIsThisProgramsCode(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Embedding in a Go program.*?```go\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no Go block under \"Embedding in a Go program\"")
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	var code []string
	for _, l := range strings.Split(string(src), "\n") {
		code = append(code, strings.TrimSpace(l))
	}
	body := "\n" + strings.Join(code, "\n") + "\n"
	var snippet []string
	for _, l := range strings.Split(strings.TrimSpace(string(m[1])), "\n") {
		snippet = append(snippet, strings.TrimSpace(l))
	}
	if !strings.Contains(body, "\n"+strings.Join(snippet, "\n")+"\n") {
		t.Errorf("README's snippet is not a run of lines of main.go:\n%s", m[1])
	}
	if !strings.Contains(string(m[1]), `http.Handle("/dash/", http.StripPrefix("/dash", g.Handler()))`) {
		t.Errorf("the snippet no longer mounts under /dash/:\n%s", m[1])
	}
}

func TestMountedUnderDashServesThePageItsScriptsAndItsSocket(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-nats-addr", "127.0.0.1:0", "-data-dir", t.TempDir()}, pw)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("run did not return after cancel")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	var ready struct{ HTTP, NATS string }
	if err := json.Unmarshal([]byte(line), &ready); err != nil {
		t.Fatalf("ready line %q: %v", line, err)
	}
	base := "http://" + ready.HTTP + "/dash/"
	page := get(t, base)
	// Every asset the page names, resolved against the page as a browser would.
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("the page names %d assets:\n%s", len(refs), page)
	}
	for _, r := range refs {
		if strings.HasPrefix(r[1], "data:") {
			continue
		}
		if strings.HasPrefix(r[1], "/") {
			t.Errorf("%s is absolute: it would miss the /dash/ mount", r[1])
			continue
		}
		get(t, base+r[1])
	}
	conn, resp, err := websocket.DefaultDialer.Dial("ws://"+ready.HTTP+"/dash/ws", nil)
	if err != nil {
		t.Fatalf("the socket under /dash/: %v (%v)", err, resp)
	}
	defer conn.Close()
	var msg []map[string]any
	if err := conn.ReadJSON(&msg); err != nil || len(msg) == 0 || msg[0]["type"] != "snapshot" {
		t.Errorf("first socket message %v (%v), want a snapshot", msg, err)
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of the given size (e.g. "1m") at a new directory,
// with extra options such as "ro". It skips the test when not root; as root
// (CI) a failed mount fails it, so CI never skips these cases.
func mountTmpfs(t *testing.T, size string, opts ...string) string {
	t.Helper()
	dir := t.TempDir()
	o := strings.Join(append([]string{"size=" + size}, opts...), ",")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", o, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Geteuid() != 0 {
			t.Skipf("mounting a tmpfs needs root (CI runs as root): %v: %s", err, out)
		}
		t.Fatalf("mount a tmpfs as root: %v: %s", err, out)
	}
	t.Cleanup(func() {
		// Never left mounted: if something still holds it, it is detached
		// lazily (and goes once that lets go), and the test says so.
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			lazy, lerr := exec.Command("umount", "-l", dir).CombinedOutput()
			t.Errorf("umount %s: %v: %s (lazy umount: %v %s)", dir, err, out, lerr, lazy)
		}
	})
	return dir
}

// fill writes zeros into dir until its file system reports it full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 64<<10)
	for {
		if _, err := f.Write(block); err != nil {
			if !strings.Contains(err.Error(), "no space left") {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return
		}
	}
}

// Each way the server cannot start ends run with an error that names the
// problem, before the ready line, mapped to exit status 1, and with nothing
// left behind: both listen addresses can be bound again and no goroutine of
// the attempt is still running.
func TestServeStartFailuresNameTheProblemAndLeaveNothingRunning(t *testing.T) {
	tests := []struct {
		name    string
		dataDir func(t *testing.T) string // "" for none
		args    func(t *testing.T, httpAddr, natsAddr string) []string
		mention []string
	}{
		{
			name: "store directory not writable (read-only mount)",
			dataDir: func(t *testing.T) string {
				// Root ignores file modes; a read-only file system stops root too.
				return filepath.Join(mountTmpfs(t, "1m", "ro"), "store")
			},
			mention: []string{"--data-dir", "read-only file system"},
		},
		{
			name: "store path is a file",
			dataDir: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "file")
				if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			},
			mention: []string{"--data-dir", "not a directory"},
		},
		{
			name: "disk full",
			dataDir: func(t *testing.T) string {
				dir := mountTmpfs(t, "1m")
				if err := os.Mkdir(filepath.Join(dir, "store"), 0o755); err != nil {
					t.Fatal(err)
				}
				fill(t, dir)
				return filepath.Join(dir, "store")
			},
			mention: []string{"--data-dir", "no space left on device"},
		},
		{
			name: "disk smaller than the log's limit",
			dataDir: func(t *testing.T) string {
				return filepath.Join(mountTmpfs(t, "1m"), "store")
			},
			mention: []string{"free space", "1024 MiB", "insufficient storage"},
		},
		{
			name: "HTTP port in use",
			args: func(t *testing.T, httpAddr, natsAddr string) []string {
				hold(t, httpAddr)
				return nil
			},
			mention: []string{"--addr"},
		},
		{
			name: "NATS port in use",
			args: func(t *testing.T, httpAddr, natsAddr string) []string {
				hold(t, natsAddr)
				return nil
			},
			mention: []string{"--nats-addr", "address already in use"},
		},
		{
			name: "--nats-url unreachable",
			args: func(t *testing.T, httpAddr, natsAddr string) []string {
				return []string{"--nats-url", "nats://" + freeAddr(t)}
			},
			mention: []string{"NATS unreachable", "nats://127.0.0.1:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			httpAddr, natsAddr := freeAddr(t), freeAddr(t)
			args := []string{"serve", "--addr", httpAddr}
			var extra []string
			if tt.args != nil {
				extra = tt.args(t, httpAddr, natsAddr)
			}
			if !containsFlag(extra, "--nats-url") {
				args = append(args, "--nats-addr", natsAddr)
			}
			args = append(args, extra...)
			if tt.dataDir != nil {
				args = append(args, "--data-dir", tt.dataDir(t))
			}
			before := runtime.NumGoroutine()
			stdout, stderr := &syncBuffer{}, &syncBuffer{}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			err := run(ctx, args, stdout, stderr)
			if err == nil {
				t.Fatalf("run(%v) started; want a start error", args)
			}
			t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if code := exitCode(err); code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if strings.Contains(stdout.String(), `"ready"`) {
				t.Errorf("a failed start printed the ready line")
			}
			if tt.args == nil { // the test holds neither port itself
				for _, a := range []string{httpAddr, natsAddr} {
					ln, err := net.Listen("tcp", a)
					if err != nil {
						t.Errorf("%s still bound after the failed start: %v", a, err)
						continue
					}
					ln.Close()
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines after the failed start, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}

// hold listens on addr until the test ends.
func hold(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
}

func containsFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag {
			return true
		}
	}
	return false
}

func TestExitStatusIsTwoForUsageAndOneForEverythingElse(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errUsage, 2},
		{errors.Join(errors.New("x"), errUsage), 2},
		{errors.New("--addr 127.0.0.1:1: address already in use"), 1},
	} {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestSyncFlagTakesAlwaysOrAnInterval(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		env     string
		want    time.Duration
		wantErr string
	}{
		{args: nil, want: 0},
		{args: []string{"--sync", "always"}, want: 0},
		{args: []string{"--sync", "250ms"}, want: 250 * time.Millisecond},
		{env: "1s", want: time.Second},
		{args: []string{"--sync", "0s"}, wantErr: "-sync"},
		{args: []string{"--sync", "1ns"}, wantErr: "-sync"}, // nats-server panicked on it
		{args: []string{"--sync", "sometimes"}, wantErr: "-sync"},
		{env: "never", wantErr: "STREAMVIZ_SYNC"},
		{args: []string{"--sync", "1s", "--nats-url", "nats://127.0.0.1:1"}, wantErr: "--sync"},
	} {
		env := func(k string) string {
			if k == "STREAMVIZ_SYNC" {
				return tt.env
			}
			return ""
		}
		f, err := parseServeFlags("serve", tt.args, io.Discard, env)
		if tt.wantErr != "" {
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v env %q: %v, want a usage error naming %s", tt.args, tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v env %q: %v", tt.args, tt.env, err)
		} else if time.Duration(f.sync) != tt.want {
			t.Errorf("%v env %q: sync %v, want %v", tt.args, tt.env, time.Duration(f.sync), tt.want)
		}
	}
}

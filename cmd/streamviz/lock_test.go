package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamviz/streamviz/broker"
)

// helperArgsEnv makes this test binary act as the streamviz binary, so a
// test can run a second server in a process of its own.
const helperArgsEnv = "STREAMVIZ_TEST_HELPER_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(helperArgsEnv); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, strings.Split(args, "\n"), os.Stdout, os.Stderr)
		stop()
		if err != nil {
			os.Stderr.WriteString("streamviz: " + err.Error() + "\n")
		}
		os.Exit(exitCode(err))
	}
	os.Exit(m.Run())
}

// helperProcess starts this binary as "streamviz args..." in another process.
func helperProcess(t *testing.T, args ...string) (*exec.Cmd, io.ReadCloser, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperArgsEnv+"="+strings.Join(args, "\n"))
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, stdout, stderr
}

func serveArgs(dir string) []string {
	return []string{"serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--data-dir", dir}
}

// Finding 2 of issue 10: two servers on one --data-dir both ran, handing
// out the same sequences; one's acknowledged updates were lost.
func TestSecondServerOnADataDirExitsNamingTheHoldersPid(t *testing.T) {
	t.Run("both in one process", func(t *testing.T) {
		dir := t.TempDir()
		_, stop := startRun(t, serveArgs(dir)...)
		stderr := &syncBuffer{}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := run(ctx, serveArgs(dir), io.Discard, stderr)
		if !errors.Is(err, broker.ErrLocked) || exitCode(err) != 1 {
			t.Fatalf("second server: err %v (exit %d), want ErrLocked and exit status 1", err, exitCode(err))
		}
		if want := "process " + strconv.Itoa(os.Getpid()); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
			t.Fatalf("error %q should name the holder (%s) and the directory", err, want)
		}
		if err := stop(); err != nil {
			t.Fatalf("first server: %v", err)
		}
		// Released at shutdown: the directory is usable again.
		_, stop = startRun(t, serveArgs(dir)...)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another process holds it, then is killed", func(t *testing.T) {
		dir := t.TempDir()
		cmd, stdout, helperErr := helperProcess(t, serveArgs(dir)...)
		line, err := bufio.NewReader(stdout).ReadString('\n')
		var ready readyLine
		if err != nil || json.Unmarshal([]byte(line), &ready) != nil || ready.Event != "ready" {
			t.Fatalf("helper server: no ready line (%q, %v); stderr:\n%s", line, err, helperErr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = run(ctx, serveArgs(dir), io.Discard, io.Discard)
		if want := "process " + strconv.Itoa(cmd.Process.Pid); !errors.Is(err, broker.ErrLocked) || !strings.Contains(err.Error(), want) {
			t.Fatalf("second server: err %v, want ErrLocked naming %s", err, want)
		}
		// A holder killed with SIGKILL leaves its lock file behind; the kernel
		// has dropped the lock, so the next start goes ahead.
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		_, stop := startRun(t, serveArgs(dir)...)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a second process exits 1", func(t *testing.T) {
		dir := t.TempDir()
		_, stop := startRun(t, serveArgs(dir)...)
		defer stop()
		cmd, stdout, stderr := helperProcess(t, serveArgs(dir)...)
		out, _ := io.ReadAll(stdout)
		err := cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("second process: %v, want exit status 1; stdout %q, stderr:\n%s", err, out, stderr)
		}
		if want := "process " + strconv.Itoa(os.Getpid()); !strings.Contains(stderr.String(), want) || len(out) != 0 {
			t.Fatalf("second process: stderr %q should name %s, stdout %q should be empty", stderr, want, out)
		}
	})
}

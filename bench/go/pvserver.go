package main

// pathway-viz 0.3.1 as the server under test (workloads 3 and 4 with
// --system pathwayviz). Its Rust WebSocket server runs inside the Python
// process that publishes (that is pathway-viz's design: the pipeline calls
// pv.send_json in-process), so the process is bench/py/pv_server.py in
// pathway-viz's own venv, driven by JSON commands on its stdin.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// ErrPathwayViz is returned when the pathway-viz process fails or misbehaves.
var ErrPathwayViz = errors.New("pathway-viz")

// pvServer is a running bench/py/pv_server.py; the embedded server gives
// /proc readings, stop and the log tail.
type pvServer struct {
	*server
	replies chan map[string]any
	version string
}

// pvPaths resolves the Python of pathway-viz's venv and the driver script.
func pvPaths(python string) (py, script string, err error) {
	root, err := moduleRoot()
	if err != nil {
		return "", "", err
	}
	if python == "" {
		python = filepath.Join(root, "bench", ".venv-pv", "bin", "python")
	}
	if _, err := os.Stat(python); err != nil {
		return "", "", fmt.Errorf("%w: no Python with pathway-viz at %s (python bench/run.py creates bench/.venv-pv): %v", ErrPathwayViz, python, err)
	}
	return python, filepath.Join(root, "bench", "py", "pv_server.py"), nil
}

// startPathwayViz starts the process and returns once its server listens.
func startPathwayViz(python string) (*pvServer, error) {
	py, script, err := pvPaths(python)
	if err != nil {
		return nil, err
	}
	dir, err := benchTemp()
	if err != nil {
		return nil, err
	}
	logFile, err := os.CreateTemp(dir, "pathwayviz-*.log")
	if err != nil {
		return nil, err
	}
	s := &pvServer{server: &server{kind: "pathwayviz", log: logFile.Name(), exit: make(chan error, 1)},
		replies: make(chan map[string]any, 16)}
	s.cmd = exec.Command(py, script)
	s.cmd.Stderr = logFile
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: starting %s: %v", ErrPathwayViz, py, err)
	}
	logFile.Close()
	s.pid = s.cmd.Process.Pid
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				s.replies <- m
			}
		}
		close(s.replies)
	}()
	go func() { s.exit <- s.cmd.Wait() }()
	// Importing pathwayviz imports Pathway: a few seconds.
	r, err := s.await("ready", 60*time.Second)
	if err != nil {
		s.kill()
		return nil, err
	}
	s.HTTP, _ = r["http"].(string)
	s.version, _ = r["version"].(string)
	logf("pathway-viz %s pid %d: http %s", s.version, s.pid, s.HTTP)
	return s, nil
}

// do sends one command and waits for its reply.
func (s *pvServer) do(cmd map[string]any, timeout time.Duration) (map[string]any, error) {
	b, _ := json.Marshal(cmd)
	if _, err := s.stdin.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("%w: sending %s: %v\n%s", ErrPathwayViz, cmd["cmd"], err, s.logTail())
	}
	return s.await("", timeout)
}

// await returns the next reply, which must be the event want (any, if "").
func (s *pvServer) await(want string, timeout time.Duration) (map[string]any, error) {
	select {
	case r, ok := <-s.replies:
		if !ok {
			return nil, fmt.Errorf("%w: the process ended\n%s", ErrPathwayViz, s.logTail())
		}
		if ev, _ := r["event"].(string); ev == "error" || (want != "" && ev != want) {
			return nil, fmt.Errorf("%w: got %v, want event %q", ErrPathwayViz, r, want)
		}
		return r, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("%w: no reply after %v\n%s", ErrPathwayViz, timeout, s.logTail())
	}
}

// num reads a number from a reply.
func num(r map[string]any, k string) float64 {
	f, _ := r[k].(float64)
	return f
}

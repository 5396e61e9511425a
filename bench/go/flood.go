package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// flooder is a running flood of core publishes; stop ends it, flushes what
// it published to the server and says how many that was.
type flooder interface {
	stop() (int64, error)
}

// floodPayload is one update of the fairness phases' flood.
var floodPayload = []byte(`{"x":1,"y":2}`)

// flood publishes to subject on nc as fast as it goes until stop closes,
// counting in n (by thousands, as it goes).
func flood(nc *nats.Conn, subject string, n *atomic.Int64, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		for range 1000 {
			if nc.Publish(subject, floodPayload) != nil {
				return
			}
		}
		n.Add(1000)
	}
}

// floodHere floods from a goroutine of this process (the default).
type floodHere struct {
	nc   *nats.Conn
	n    atomic.Int64
	quit chan struct{}
	wg   sync.WaitGroup
}

func startFloodHere(url, subject string, auth []nats.Option) (*floodHere, error) {
	nc, err := nats.Connect(url, append([]nats.Option{nats.Name("svbench-flood")}, auth...)...)
	if err != nil {
		return nil, err
	}
	f := &floodHere{nc: nc, quit: make(chan struct{})}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		flood(nc, subject, &f.n, f.quit)
	}()
	return f, nil
}

func (f *floodHere) stop() (int64, error) {
	close(f.quit)
	f.wg.Wait()
	defer f.nc.Close()
	return f.n.Load(), f.nc.FlushTimeout(60 * time.Second)
}

// floodProcess floods from a child process (--fair-flood-child: this
// binary's ingest-flood) as a publisher elsewhere on the machine would: its
// goroutines compete with the steady publisher's for the cores, not inside
// one Go scheduler.
type floodProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// floodResult is the child's last line.
type floodResult struct {
	Published int64  `json:"published"`
	Error     string `json:"error"`
}

// startFloodProcess starts the child and returns once it is connected and
// publishing. sales says to connect as the fair-auth phase's flooding user.
func startFloodProcess(url, subject string, sales bool) (*floodProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"ingest-flood", "--nats", url, "--subject", subject}
	if sales {
		args = append(args, "--sales")
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := &floodProcess{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	if !f.out.Scan() || f.out.Text() != "flooding" {
		_ = stdin.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("flood process did not start: %q", f.out.Text())
	}
	return f, nil
}

func (f *floodProcess) stop() (int64, error) {
	_ = f.stdin.Close()
	var r floodResult
	var err error
	if !f.out.Scan() {
		err = errors.New("flood process ended without a count")
	} else if err = json.Unmarshal(f.out.Bytes(), &r); err == nil && r.Error != "" {
		err = errors.New("flood process: " + r.Error)
	}
	if werr := f.cmd.Wait(); err == nil {
		err = werr
	}
	return r.Published, err
}

// runFloodChild is the child of startFloodProcess: it floods subject until
// its standard input closes, flushes, and prints how many it published.
func runFloodChild(args []string) error {
	fs := flag.NewFlagSet("ingest-flood", flag.ContinueOnError)
	url := fs.String("nats", "", "server URL")
	subject := fs.String("subject", "", "subject to flood")
	sales := fs.Bool("sales", false, "connect as the fair-auth phase's user sales")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := []nats.Option{nats.Name("svbench-flood")}
	if *sales {
		opts = append(opts, nats.UserInfo("sales", benchSalesPassword))
	}
	nc, err := nats.Connect(*url, opts...)
	if err != nil {
		return err
	}
	defer nc.Close()
	var n atomic.Int64
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		flood(nc, *subject, &n, quit)
	}()
	fmt.Println("flooding")
	_, _ = io.Copy(io.Discard, os.Stdin)
	close(quit)
	<-done
	r := floodResult{Published: n.Load()}
	if err := nc.FlushTimeout(60 * time.Second); err != nil {
		r.Error = err.Error()
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	return nil
}

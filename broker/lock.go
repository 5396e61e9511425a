package broker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrLocked reports a --data-dir that another running server holds.
var ErrLocked = errors.New("broker: data dir in use")

// LockFile is the name of the lock file in a data dir.
const LockFile = "streamviz.lock"

// dirLock is an exclusive lock on a data dir, held for the process's life:
// two servers on one store would hand out the same sequences and lose one
// another's acknowledged updates. The kernel drops it when the process
// dies, however it dies, so a stale file never blocks a restart.
type dirLock struct{ f *os.File }

func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: --data-dir %q: lock file: %v", ErrConfig, dir, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: --data-dir %q: lock %s: %v", ErrConfig, dir, path, err)
	}
	if !held {
		b, _ := os.ReadFile(path)
		f.Close()
		holder := "another process"
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			holder = "process " + strconv.Itoa(pid)
		}
		return nil, fmt.Errorf("%w: --data-dir %s is used by another running server (%s holds %s); stop it or use another directory",
			ErrLocked, dir, holder, path)
	}
	// The pid is for the message above; the lock itself is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// release unlocks; closing the file drops the lock.
func (l *dirLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

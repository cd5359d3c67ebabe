package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// netns is a network namespace this benchmark created: it has only the loopback interface, so
// a server listening on the wildcard address there reaches 127.0.0.0/8 and nothing else, and
// iptables rules added there touch nothing outside it.
type netns struct {
	name string
}

func newNetns() (*netns, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the sweep benchmark needs root: it creates a network namespace (ip netns add)")
	}
	n := &netns{name: "smbsweep-bench-" + strconv.Itoa(os.Getpid())}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", n.name, err, out)
	}
	if err := n.ip("link", "set", "lo", "up"); err != nil {
		n.remove()
		return nil, err
	}
	return n, nil
}

// ip runs `ip netns exec NAME ARGS...` (not measured).
func (n *netns) exec(args ...string) error {
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.name}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (n *netns) ip(args ...string) error { return n.exec(append([]string{"ip"}, args...)...) }

// do runs f on an OS thread that has joined the namespace; the thread is discarded afterwards.
// Sockets f creates and processes it starts (fork happens on the calling thread) live in the
// namespace.
func (n *netns) do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		fd, err := syscall.Open("/run/netns/"+n.name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", n.name, err)
			return
		}
		defer syscall.Close(fd)
		nr, ok := setnsSyscall[runtime.GOARCH]
		if !ok {
			errc <- fmt.Errorf("setns: unknown system call number on %s", runtime.GOARCH)
			return
		}
		if _, _, e := syscall.RawSyscall(nr, uintptr(fd), syscall.CLONE_NEWNET, 0); e != 0 {
			errc <- fmt.Errorf("setns %s: %w", n.name, e)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// setnsSyscall is setns(2)'s number per architecture (package syscall lacks it on amd64).
var setnsSyscall = map[string]uintptr{"amd64": 308, "arm64": 268, "riscv64": 268, "386": 346, "arm": 375, "ppc64le": 350, "s390x": 339}

// start starts cmd inside the namespace.
func (n *netns) start(cmd *exec.Cmd) error { return n.do(cmd.Start) }

// waitListening waits until something accepts TCP connections on 127.0.0.1:port in the namespace.
func (n *netns) waitListening(ctx context.Context, port int, exited func() bool) error {
	for {
		err := n.do(func() error {
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return nil
		}
		if exited() {
			return errors.New("server exited before listening")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listens on port %d: %w", port, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// killAll sends SIGKILL to every process left in the namespace (all of them were started by
// this benchmark: the namespace is its own).
func (n *netns) killAll() {
	out, err := exec.Command("ip", "netns", "pids", n.name).Output()
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func (n *netns) remove() {
	n.killAll()
	_ = exec.Command("ip", "netns", "del", n.name).Run()
}

// rusageOf returns the child's resource usage.
func rusageOf(ps *os.ProcessState) *syscall.Rusage {
	if ps == nil {
		return nil
	}
	ru, _ := ps.SysUsage().(*syscall.Rusage)
	return ru
}

// raiseOpenFiles raises this process's open-file limits (children inherit them) so that
// -c 10000 is not capped by the limit.
func raiseOpenFiles(n uint64) {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil || rl.Cur >= n {
		return
	}
	want := syscall.Rlimit{Cur: n, Max: max(n, rl.Max)}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) != nil {
		want.Max = rl.Max
		want.Cur = min(n, rl.Max)
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want)
	}
}

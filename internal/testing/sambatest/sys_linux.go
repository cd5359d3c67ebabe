//go:build linux

package sambatest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

const supported = true

// childAttr puts a started daemon in its own process group (so Stop can
// signal it and every helper it forks at once) and asks the kernel to
// SIGKILL it if the test binary dies first. Samba's children watch their
// parent and exit when it does.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// procInfo is what /proc says about one process.
type procInfo struct {
	PID, PPID, PGID int
	State           byte   // 'R', 'S', 'Z', ...
	Start           uint64 // start time in clock ticks since boot
	Cmdline         string // arguments joined by spaces
}

// readProc reads /proc/PID/stat and /proc/PID/cmdline.
func readProc(pid int) (procInfo, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, err
	}
	// The command name is in parentheses and may contain anything, so
	// parse from the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+2:]))
	// f[0]=state f[1]=ppid f[2]=pgrp ... f[19]=starttime (field 22 overall).
	if len(f) < 20 || len(f[0]) != 1 {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	p := procInfo{PID: pid, State: f[0][0]}
	p.PPID, _ = strconv.Atoi(f[1])
	p.PGID, _ = strconv.Atoi(f[2])
	p.Start, _ = strconv.ParseUint(f[19], 10, 64)
	cmd, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err == nil {
		p.Cmdline = strings.TrimSpace(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
	}
	return p, nil
}

// listProcs returns every process visible in /proc.
func listProcs() ([]procInfo, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		p, err := readProc(pid)
		if err != nil {
			continue // exited meanwhile
		}
		out = append(out, p)
	}
	return out, nil
}

// processesReferencing returns the live (non-zombie) processes whose command
// line contains one of the given instance configuration paths. Every smbd,
// samba-dcerpcd and rpcd_* process of an instance carries its -s/--configfile
// path, and those paths are unique to one instance directory, so this finds
// exactly the processes of those instances.
func processesReferencing(confs []string) ([]procInfo, error) {
	if len(confs) == 0 {
		return nil, nil
	}
	procs, err := listProcs()
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var out []procInfo
	for _, p := range procs {
		if p.PID == self || p.State == 'Z' || p.State == 'X' {
			continue
		}
		for _, c := range confs {
			if c != "" && containsArg(p.Cmdline, c) {
				out = append(out, p)
				break
			}
		}
	}
	return out, nil
}

// processAlive reports whether pid exists with the given start time (0: any)
// and is not a zombie.
func processAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	p, err := readProc(pid)
	if err != nil || p.State == 'Z' || p.State == 'X' {
		return false
	}
	return start == 0 || p.Start == start
}

// selfStart is the start time of this process.
func selfStart() uint64 {
	p, err := readProc(os.Getpid())
	if err != nil {
		return 0
	}
	return p.Start
}

// loopbackIndex returns the interface index of the loopback device.
func loopbackIndex() (int, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0, err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return i.Index, nil
		}
	}
	return 0, errors.New("no loopback interface")
}

// addLoopbackAddr adds addr/32 to the loopback interface (like
// `ip addr add ADDR/32 dev lo`). Samba binds only addresses it finds on an
// interface, even though Linux routes all of 127/8 to lo.
func addLoopbackAddr(addr netip.Addr) error {
	return loopbackAddrOp(syscall.RTM_NEWADDR, syscall.NLM_F_CREATE|syscall.NLM_F_EXCL, addr)
}

// delLoopbackAddr removes addr/32 from the loopback interface.
func delLoopbackAddr(addr netip.Addr) error {
	return loopbackAddrOp(syscall.RTM_DELADDR, 0, addr)
}

func loopbackAddrOp(msgType uint16, extraFlags uint16, addr netip.Addr) error {
	if !addr.Is4() || !addr.IsLoopback() {
		return fmt.Errorf("sambatest: refusing to touch non-loopback address %s", addr)
	}
	idx, err := loopbackIndex()
	if err != nil {
		return err
	}
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink bind: %w", err)
	}
	const seq = 1
	b := addrMessage(msgType, extraFlags, seq, idx, addr.As4())
	if err := syscall.Sendto(fd, b, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	return netlinkAck(fd, seq)
}

// addrMessage is an RTM_NEWADDR/RTM_DELADDR request for a4/32, scope host, on interface idx:
// nlmsghdr + ifaddrmsg + two rtattrs (IFA_LOCAL, IFA_ADDRESS) of 4 bytes each.
func addrMessage(msgType, extraFlags uint16, seq uint32, idx int, a4 [4]byte) []byte {
	msgLen := syscall.SizeofNlMsghdr + syscall.SizeofIfAddrmsg + 2*(syscall.SizeofRtAttr+4)
	ne := binary.NativeEndian
	b := make([]byte, 0, msgLen)
	b = ne.AppendUint32(b, uint32(msgLen))
	b = ne.AppendUint16(b, msgType)
	b = ne.AppendUint16(b, syscall.NLM_F_REQUEST|syscall.NLM_F_ACK|extraFlags)
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, 0)
	b = append(b, syscall.AF_INET, 32, 0, syscall.RT_SCOPE_HOST)
	b = ne.AppendUint32(b, uint32(idx))
	for _, t := range []uint16{syscall.IFA_LOCAL, syscall.IFA_ADDRESS} {
		b = ne.AppendUint16(b, syscall.SizeofRtAttr+4)
		b = ne.AppendUint16(b, t)
		b = append(b, a4[:]...)
	}
	return b
}

// netlinkAck waits for the kernel's NLMSG_ERROR answer to request seq: nil for an
// acknowledgement (error 0), else the errno.
func netlinkAck(fd int, seq uint32) error {
	buf := make([]byte, 4096)
	for {
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("netlink parse: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq || m.Header.Type != syscall.NLMSG_ERROR {
				continue
			}
			if len(m.Data) < 4 {
				return errors.New("netlink: short error message")
			}
			if code := int32(binary.NativeEndian.Uint32(m.Data[:4])); code != 0 {
				return syscall.Errno(-code)
			}
			return nil
		}
	}
}

// loopbackAddrs returns the IPv4 addresses configured on any interface.
func configuredAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			out = append(out, p.Addr())
		}
	}
	return out, nil
}

// killGroup signals a whole process group.
func killGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return fmt.Errorf("sambatest: refusing to signal process group %d", pgid)
	}
	return syscall.Kill(-pgid, sig)
}

// killPID signals one process.
func killPID(pid int, sig syscall.Signal) error {
	if pid <= 1 {
		return fmt.Errorf("sambatest: refusing to signal pid %d", pid)
	}
	return syscall.Kill(pid, sig)
}

// lockFile takes an exclusive advisory lock on f (blocking).
func lockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }

// unlockFile releases the lock taken by lockFile.
func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

var subreaperOnce sync.Once

// becomeSubreaper makes this process the reaper of orphaned descendants
// (PR_SET_CHILD_SUBREAPER). When smbd or samba-dcerpcd exits before one of
// its helpers, the helper is re-parented to us instead of PID 1, so
// reapOrphans can collect it; on systems whose PID 1 does not reap (some
// containers), it would otherwise stay a zombie forever.
func becomeSubreaper() {
	subreaperOnce.Do(func() {
		const prSetChildSubreaper = 36
		syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	})
}

// reapOrphans waits for the adopted (non-leader) members of the given
// process groups: it reaps those that are zombies and returns how many are
// still running. It never touches a group leader, which os/exec waits for.
func reapOrphans(pgids map[int]bool) int {
	procs, err := listProcs()
	if err != nil {
		return 0
	}
	self := os.Getpid()
	running := 0
	for _, p := range procs {
		if p.PPID != self || !pgids[p.PGID] || p.PID == p.PGID {
			continue
		}
		if p.State != 'Z' {
			running++
			continue
		}
		var ws syscall.WaitStatus
		syscall.Wait4(p.PID, &ws, syscall.WNOHANG, nil)
	}
	return running
}

package sambatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// binaries are the Samba programs the harness runs.
type binaries struct {
	smbd, testparm, smbpasswd, useradd string
	// dcerpcd is samba-dcerpcd, started by the harness next to each smbd;
	// empty when not found, and then smbd starts it on demand.
	dcerpcd string
}

// ErrNoSamba reports that smbd is not installed.
var ErrNoSamba = errors.New("sambatest: smbd not found (install Samba: `make samba`, or apt-get install -y samba smbclient)")

func findTool(name string, dirs ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func findBinaries() (binaries, error) {
	sbin := []string{"/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/local/samba/sbin"}
	bin := []string{"/usr/bin", "/usr/local/bin", "/bin", "/usr/local/samba/bin"}
	b := binaries{
		smbd:      findTool("smbd", sbin...),
		testparm:  findTool("testparm", bin...),
		smbpasswd: findTool("smbpasswd", bin...),
		useradd:   findTool("useradd", sbin...),
		dcerpcd:   findTool("samba-dcerpcd", "/usr/libexec/samba", "/usr/lib/samba", "/usr/local/samba/libexec", "/usr/local/libexec/samba"),
	}
	if b.smbd == "" {
		return b, ErrNoSamba
	}
	for name, p := range map[string]string{"testparm": b.testparm, "smbpasswd": b.smbpasswd} {
		if p == "" {
			return b, fmt.Errorf("sambatest: %s not found next to smbd (package samba-common-bin)", name)
		}
	}
	return b, nil
}

// SambaAvailable reports whether smbd is installed; the error says what is
// missing.
func SambaAvailable() error {
	if !supported {
		return errUnsupported
	}
	_, err := findBinaries()
	return err
}

var userMu sync.Mutex

// ensureTestUser creates the unix account TestUser when it does not exist.
func ensureTestUser(ctx context.Context) error {
	userMu.Lock()
	defer userMu.Unlock()
	var lastErr error
	for attempt := range 10 {
		if _, err := user.Lookup(TestUser); err == nil {
			return nil
		}
		useradd := findTool("useradd", "/usr/sbin", "/sbin")
		if useradd == "" {
			return fmt.Errorf("sambatest: unix user %s missing and useradd not found", TestUser)
		}
		out, err := exec.CommandContext(ctx, useradd, "--system", "--no-create-home",
			"--shell", "/usr/sbin/nologin", "--comment", "smbsweep test user", TestUser).CombinedOutput()
		if err == nil {
			return nil
		}
		// Another test binary may be adding it (exit 9) or holding the
		// passwd lock (exit 10): look again after a pause.
		lastErr = fmt.Errorf("useradd %s: %v: %s", TestUser, err, bytes.TrimSpace(out))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
	}
	return fmt.Errorf("sambatest: %w", lastErr)
}

// daemon is one long-running process the harness started, leader of its own
// process group.
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when Wait returned
	err  error         // Wait's result, valid after done
}

func startDaemon(name, path string, args []string, outPath string, extra []*os.File) (*daemon, error) {
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(path, args...)
	cmd.Stdin = nil
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.ExtraFiles = extra
	cmd.Dir = filepath.Dir(outPath)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	return d, nil
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stopDaemons sends SIGTERM to each daemon's process group, waits up to
// grace, then SIGKILLs the groups and waits for the leaders to be reaped.
func stopDaemons(ds []*daemon, grace time.Duration) {
	for _, d := range ds {
		killGroup(d.cmd.Process.Pid, syscall.SIGTERM)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	for _, d := range ds {
		select {
		case <-d.done:
		case <-timer.C:
		}
	}
	for _, d := range ds {
		// Also reaches helpers left in the group after the leader exited.
		killGroup(d.cmd.Process.Pid, syscall.SIGKILL)
	}
	for _, d := range ds {
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
		}
	}
}

// startInstance prepares the instance directory of s, checks its smb.conf
// with testparm, adds TestUser to its passdb and starts samba-dcerpcd and
// smbd, returning when smbd answers an SMB2 NEGOTIATE.
func startInstance(ctx context.Context, bins binaries, s *Server, timeout time.Duration, log io.Writer) error {
	t0 := time.Now()
	step := func(what string) {
		fmt.Fprintf(log, "sambatest: %-8s %-14s done at %v\n", s.Name, what, time.Since(t0).Round(time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p := newInstancePaths(s.Dir)
	if err := makeInstanceDirs(s, p); err != nil {
		return err
	}
	conf := renderConf(s.Config, p, s.Addr.String(), s.Port, bins.dcerpcd == "")
	if err := os.WriteFile(s.ConfPath, []byte(conf), 0o644); err != nil {
		return err
	}
	if err := runTestparm(ctx, bins.testparm, s.ConfPath); err != nil {
		return err
	}
	step("testparm")
	if err := addPassdbUser(ctx, bins.smbpasswd, s.ConfPath); err != nil {
		return err
	}
	step("smbpasswd")
	if bins.dcerpcd != "" {
		d, err := startDCERPCD(ctx, bins.dcerpcd, s, p)
		if d != nil {
			s.procs = append(s.procs, d)
		}
		if err != nil {
			return err
		}
		s.RPCPID = d.cmd.Process.Pid
		step("samba-dcerpcd")
	}
	d, err := startDaemon("smbd", bins.smbd,
		[]string{"--foreground", "--no-process-group", "--configfile=" + s.ConfPath},
		filepath.Join(p.Log, "smbd.out"), nil)
	if err != nil {
		return err
	}
	s.procs = append(s.procs, d)
	s.PID = d.cmd.Process.Pid
	return waitSMB(ctx, s, d)
}

// makeInstanceDirs creates the instance's directories afresh (a directory reused from an
// earlier run must not leak its tdbs) with the modes Samba wants, and its shares.
func makeInstanceDirs(s *Server, p instancePaths) error {
	if err := os.RemoveAll(s.Dir); err != nil {
		return err
	}
	dirs := []struct {
		path string
		mode os.FileMode
	}{
		{p.Dir, 0o755}, {p.Private, 0o700}, {p.Lock, 0o755}, {p.State, 0o755}, {p.Cache, 0o755},
		{p.PID, 0o755}, {p.NcalRPC, 0o755}, {p.BindDNS, 0o700}, {p.Winbindd, 0o755}, {p.NTPSignd, 0o750},
		{p.Log, 0o755}, {p.Shares, 0o755},
		// Samba only reads usershares from a root-owned sticky directory.
		{p.UserShares, 0o770 | os.ModeSticky},
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d.path, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return err
		}
	}
	return makeShares(s, p)
}

// rpcServices picks the RPC servers samba-dcerpcd runs: rpcd_classic
// (srvsvc, wkssvc, ...; it needs rpcd_winreg to initialise, without it
// every srvsvc bind times out), rpcd_winreg, rpcd_lsad (lsarpc, samr) and
// rpcd_epmapper. Starting only these instead of every rpcd_* in libexec
// (what smbd's on-demand start does) saves several seconds of CPU per
// instance: samba-dcerpcd runs each one with --list-interfaces first.
func rpcServices(libexec string, extra []string) []string {
	var out []string
	for _, n := range append([]string{"rpcd_classic", "rpcd_winreg", "rpcd_lsad", "rpcd_epmapper"}, extra...) {
		p := filepath.Join(libexec, n)
		if _, err := os.Stat(p); err != nil {
			return []string{"--libexec-rpcds"}
		}
		out = append(out, p)
	}
	return out
}

// startDCERPCD starts samba-dcerpcd for the instance and waits until it
// closes its ready-signal pipe.
func startDCERPCD(ctx context.Context, path string, s *Server, p instancePaths) (*daemon, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	args := []string{"--foreground", "--no-process-group", "--ready-signal-fd=3", "--configfile=" + s.ConfPath}
	args = append(args, rpcServices(filepath.Dir(path), s.Config.RPCDaemons)...)
	d, err := startDaemon("samba-dcerpcd", path, args,
		filepath.Join(p.Log, "samba-dcerpcd.out"), []*os.File{w})
	w.Close()
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		r.SetReadDeadline(dl)
	}
	// Cancellation ends the wait at once.
	stop := context.AfterFunc(ctx, func() { r.SetReadDeadline(time.Now()) })
	defer stop()
	// samba-dcerpcd writes nothing; EOF means ready (or exited).
	_, err = io.Copy(io.Discard, r)
	if err != nil {
		return d, fmt.Errorf("samba-dcerpcd not ready: %w\n--- %s:\n%s", err, s.LogPath, tailFile(s.LogPath, 20))
	}
	time.Sleep(10 * time.Millisecond)
	if d.exited() {
		return d, fmt.Errorf("samba-dcerpcd exited: %v\n--- %s:\n%s\n--- output:\n%s", d.err, s.LogPath,
			tailFile(s.LogPath, 20), tailFile(filepath.Join(p.Log, "samba-dcerpcd.out"), 10))
	}
	return d, nil
}

func makeShares(s *Server, p instancePaths) error {
	s.shares = map[string]string{}
	for _, sh := range s.Config.Shares {
		root := filepath.Join(p.Shares, sh.Name)
		s.shares[sh.Name] = root
		uid, gid := -1, -1
		if sh.Owner != "" {
			u, err := user.Lookup(sh.Owner)
			if err != nil {
				return fmt.Errorf("share %s owner: %w", sh.Name, err)
			}
			uid, _ = strconv.Atoi(u.Uid)
			gid, _ = strconv.Atoi(u.Gid)
		}
		mode := sh.Mode
		if mode == 0 {
			mode = 0o755
		}
		if err := os.MkdirAll(root, 0o755); err != nil {
			return err
		}
		for _, rel := range sortedFiles(sh.Files) {
			fp := filepath.Join(root, filepath.FromSlash(rel))
			for d := filepath.Dir(fp); d != root; d = filepath.Dir(d) {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return err
				}
			}
			if err := os.WriteFile(fp, []byte(sh.Files[rel]), 0o644); err != nil {
				return err
			}
			if err := os.Chmod(fp, 0o644); err != nil {
				return err
			}
		}
		if uid >= 0 {
			err := filepath.WalkDir(root, func(path string, _ os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				return os.Lchown(path, uid, gid)
			})
			if err != nil {
				return err
			}
		}
		if err := os.Chmod(root, mode); err != nil {
			return err
		}
	}
	return nil
}

// runTestparm rejects a configuration testparm complains about.
func runTestparm(ctx context.Context, testparm, conf string) error {
	cmd := exec.CommandContext(ctx, testparm, "-s", conf)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	msg := stderr.String()
	bad := err != nil
	for _, l := range strings.Split(msg, "\n") {
		ll := strings.ToLower(l)
		if strings.Contains(ll, "unknown parameter") || strings.Contains(ll, "invalid") ||
			strings.Contains(ll, "error") || strings.Contains(ll, "ignoring") {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("testparm -s %s rejected the configuration (%v):\n%s", conf, err, strings.TrimSpace(msg))
	}
	return nil
}

// addPassdbUser adds TestUser with TestPassword to the instance's passdb.
func addPassdbUser(ctx context.Context, smbpasswd, conf string) error {
	cmd := exec.CommandContext(ctx, smbpasswd, "-c", conf, "-a", "-s", TestUser)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdin = strings.NewReader(TestPassword + "\n" + TestPassword + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("smbpasswd -a %s: %v: %s", TestUser, err, bytes.TrimSpace(out))
	}
	return nil
}

// waitSMB polls until smbd answers an SMB2 NEGOTIATE on its endpoint (an SMB1
// NEGOTIATE for an instance that speaks SMB1 only, Expect.NoSMB2).
func waitSMB(ctx context.Context, s *Server, d *daemon) error {
	var lastErr error
	for {
		if d.exited() {
			return fmt.Errorf("smbd exited during start: %v\n--- %s:\n%s\n--- output:\n%s", d.err, s.LogPath,
				tailFile(s.LogPath, 25), tailFile(filepath.Join(s.Dir, "log", "smbd.out"), 10))
		}
		if s.Config.Expect.NoSMB2 {
			lastErr = probeSMB1(ctx, s.AddrPort(), time.Second)
		} else {
			lastErr = probeSMB2(ctx, s.AddrPort(), time.Second)
		}
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("smbd on %s not ready: %v (last probe: %v)\n--- %s:\n%s", s.AddrPort(), ctx.Err(), lastErr,
				s.LogPath, tailFile(s.LogPath, 25))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// SMBClientNT1Args make smbclient speak SMB1 (NT1) only, as the SMB1-only
// instances (Expect.NoSMB2) need: smbclient's default minimum is SMB2.
var SMBClientNT1Args = []string{"-m", "NT1", "--option=client min protocol=NT1"}

// negotiateInfo is the part of an SMB2 NEGOTIATE response (MS-SMB2 2.2.4)
// the harness looks at.
type negotiateInfo struct {
	SecurityMode uint16
	Dialect      uint16
}

// probeSMB2 checks that ap answers an SMB2 NEGOTIATE.
func probeSMB2(ctx context.Context, ap netip.AddrPort, timeout time.Duration) error {
	_, err := negotiateSMB2(ctx, ap, timeout)
	return err
}

// negotiateSMB2 sends an SMB2 NEGOTIATE offering dialect 2.0.2 (MS-SMB2
// 2.2.3) and checks that an SMB2 NEGOTIATE response with STATUS_SUCCESS
// comes back. It is a readiness check only; the product's codecs live in
// wire/.
func negotiateSMB2(ctx context.Context, ap netip.AddrPort, timeout time.Duration) (negotiateInfo, error) {
	dl := net.Dialer{Timeout: timeout}
	c, err := dl.DialContext(ctx, "tcp", ap.String())
	if err != nil {
		return negotiateInfo{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(smb202Negotiate()); err != nil {
		return negotiateInfo{}, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return negotiateInfo{}, fmt.Errorf("read transport header: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:]) & 0xFFFFFF
	if n < 64 || n > 1<<16 {
		return negotiateInfo{}, fmt.Errorf("unexpected response length %d", n)
	}
	resp := make([]byte, n)
	if _, err := io.ReadFull(c, resp); err != nil {
		return negotiateInfo{}, fmt.Errorf("read response: %w", err)
	}
	le := binary.LittleEndian
	if !bytes.Equal(resp[:4], []byte{0xFE, 'S', 'M', 'B'}) {
		return negotiateInfo{}, fmt.Errorf("response is not SMB2 (% x)", resp[:4])
	}
	if st := le.Uint32(resp[8:12]); st != 0 {
		return negotiateInfo{}, fmt.Errorf("NEGOTIATE status 0x%08x", st)
	}
	if cmd := le.Uint16(resp[12:14]); cmd != 0 {
		return negotiateInfo{}, fmt.Errorf("response command %d, want NEGOTIATE", cmd)
	}
	if len(resp) < 64+8 {
		return negotiateInfo{}, fmt.Errorf("NEGOTIATE response of %d bytes", len(resp))
	}
	return negotiateInfo{SecurityMode: le.Uint16(resp[66:68]), Dialect: le.Uint16(resp[68:70])}, nil
}

// smb202Negotiate is a framed SMB2 NEGOTIATE offering 2.0.2 only, written out field by field
// so that the harness does not depend on the codec it tests.
func smb202Negotiate() []byte {
	le := binary.LittleEndian
	msg := make([]byte, 4, 4+64+38)
	// SMB2 header (MS-SMB2 2.2.1.2).
	msg = append(msg, 0xFE, 'S', 'M', 'B')
	msg = le.AppendUint16(msg, 64) // StructureSize
	msg = le.AppendUint16(msg, 0)  // CreditCharge
	msg = le.AppendUint32(msg, 0)  // Status
	msg = le.AppendUint16(msg, 0)  // Command: NEGOTIATE
	msg = le.AppendUint16(msg, 1)  // CreditRequest
	msg = le.AppendUint32(msg, 0)  // Flags
	msg = le.AppendUint32(msg, 0)  // NextCommand
	msg = le.AppendUint64(msg, 0)  // MessageId
	msg = le.AppendUint32(msg, 0)  // Reserved
	msg = le.AppendUint32(msg, 0)  // TreeId
	msg = le.AppendUint64(msg, 0)  // SessionId
	msg = append(msg, make([]byte, 16)...)
	// NEGOTIATE request body.
	msg = le.AppendUint16(msg, 36) // StructureSize
	msg = le.AppendUint16(msg, 1)  // DialectCount
	msg = le.AppendUint16(msg, 1)  // SecurityMode: signing enabled
	msg = le.AppendUint16(msg, 0)  // Reserved
	msg = le.AppendUint32(msg, 0)  // Capabilities
	var guid [16]byte
	rand.Read(guid[:])
	msg = append(msg, guid[:]...)
	msg = le.AppendUint64(msg, 0)     // ClientStartTime
	msg = le.AppendUint16(msg, 0x202) // Dialects[0]
	// Direct TCP transport header (MS-SMB2 2.1): zero byte + 24-bit length.
	binary.BigEndian.PutUint32(msg[:4], uint32(len(msg)-4))
	return msg
}

// probeSMB1 checks that ap accepts "NT LM 0.12" in an SMB1 NEGOTIATE
// (MS-CIFS 2.2.4.52): a readiness check of SMB1-only instances, which close
// the connection on an SMB2 NEGOTIATE.
func probeSMB1(ctx context.Context, ap netip.AddrPort, timeout time.Duration) error {
	dl := net.Dialer{Timeout: timeout}
	c, err := dl.DialContext(ctx, "tcp", ap.String())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	le := binary.LittleEndian
	msg := make([]byte, 4, 4+32+16)
	// SMB1 header (MS-CIFS 2.2.3.1).
	msg = append(msg, 0xFF, 'S', 'M', 'B', 0x72) // Protocol, Command: NEGOTIATE
	msg = le.AppendUint32(msg, 0)                // Status
	msg = append(msg, 0x18)                      // Flags: case insensitive, canonicalized paths
	msg = le.AppendUint16(msg, 0xc801)           // Flags2: Unicode, NT status, extended security, long names
	msg = append(msg, make([]byte, 12)...)       // PIDHigh, SecuritySignature, Reserved
	msg = le.AppendUint16(msg, 0)                // TID
	msg = le.AppendUint16(msg, 0xfeff)           // PIDLow
	msg = le.AppendUint16(msg, 0)                // UID
	msg = le.AppendUint16(msg, 1)                // MID
	dialect := append([]byte{0x02}, "NT LM 0.12\x00"...)
	msg = append(msg, 0) // WordCount
	msg = le.AppendUint16(msg, uint16(len(dialect)))
	msg = append(msg, dialect...)
	binary.BigEndian.PutUint32(msg[:4], uint32(len(msg)-4))
	if _, err := c.Write(msg); err != nil {
		return err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return fmt.Errorf("read transport header: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:]) & 0xFFFFFF
	if n < 35 || n > 1<<16 {
		return fmt.Errorf("unexpected SMB1 response length %d", n)
	}
	resp := make([]byte, n)
	if _, err := io.ReadFull(c, resp); err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	switch {
	case !bytes.Equal(resp[:5], []byte{0xFF, 'S', 'M', 'B', 0x72}):
		return fmt.Errorf("response is not an SMB1 NEGOTIATE response (% x)", resp[:5])
	case le.Uint32(resp[5:9]) != 0:
		return fmt.Errorf("SMB1 NEGOTIATE status 0x%08x", le.Uint32(resp[5:9]))
	case resp[32] != 17 || le.Uint16(resp[33:35]) != 0:
		return fmt.Errorf("SMB1 NEGOTIATE reply (WordCount %d) did not select NT LM 0.12", resp[32])
	}
	return nil
}

// warmUp lists the shares of every server as TestUser, which makes
// samba-dcerpcd start its srvsvc and winreg workers. It is best effort:
// without smbclient, or when a listing fails, the first SRVSVC call of a
// test simply takes longer.
func warmUp(ctx context.Context, servers []*Server, log io.Writer) {
	smbclient := findTool("smbclient", "/usr/bin", "/usr/local/bin", "/usr/local/samba/bin")
	if smbclient == "" {
		fmt.Fprintln(log, "sambatest: smbclient not installed; skipping the RPC warm-up")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Go(func() {
			t0 := time.Now()
			args := []string{"--configfile=/dev/null", "-p", strconv.Itoa(int(s.Port)), "-U", TestUser + "%" + TestPassword, "-L", "//" + s.Addr.String()}
			if s.Config.Expect.NoSMB2 {
				args = append(args, SMBClientNT1Args...)
			}
			cmd := exec.CommandContext(ctx, smbclient, args...)
			cmd.Env = append(os.Environ(), "LC_ALL=C")
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(log, "sambatest: %-8s warm-up listing failed (%v): %s\n", s.Name, err, bytes.TrimSpace(out))
				return
			}
			fmt.Fprintf(log, "sambatest: %-8s RPC warm-up done in %v\n", s.Name, time.Since(t0).Round(time.Millisecond))
		})
	}
	wg.Wait()
}

//go:build capture

package wire

// Golden capture of SMB2 NEGOTIATE responses from a throwaway Samba smbd on 127.0.0.77:445
// (loopback only):
//
//	go test -tags capture -run TestCaptureSambaNegotiate -v ./wire
//
// needs root (port 445) and /usr/sbin/smbd. It starts one smbd from a temporary directory,
// sends smbsweep's NEGOTIATE requests (one connection each), writes each reply (the SMB2
// message after the 4-byte NetBIOS header) to testdata/, and stops the smbd by its PID.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

const (
	negCaptureAddr = "127.0.0.77:445"
	negSmbdPath    = "/usr/sbin/smbd"
)

// negCaptureConf is the smb.conf template; %[1]s is the instance directory.
const negCaptureConf = `[global]
	server role = standalone server
	workgroup = SMBSWEEPTEST
	netbios name = SMBSWEEPNEG
	server signing = auto
	interfaces = 127.0.0.77/8
	bind interfaces only = yes
	smb ports = 445
	disable netbios = yes
	private dir = %[1]s/private
	lock directory = %[1]s/lock
	state directory = %[1]s/state
	cache directory = %[1]s/cache
	pid directory = %[1]s/pid
	ncalrpc dir = %[1]s/ncalrpc
	log file = %[1]s/log.smbd
	log level = 1
`

func TestCaptureSambaNegotiate(t *testing.T) {
	if _, err := os.Stat(negSmbdPath); err != nil {
		t.Skipf("no smbd: %v", err)
	}
	startCaptureSmbd(t)
	cases := []struct {
		file   string
		modify func(*NegotiateRequest)
	}{
		// DefaultNegotiateRequest: 2.0.2 .. 3.1.1, every cipher, signing and compression
		// algorithm, plus a NETNAME context.
		{"samba-4.17-negotiate-311.bin", func(r *NegotiateRequest) { r.NetName = "127.0.0.77" }},
		// The same request narrowed to 2.1 alone (no contexts are sent).
		{"samba-4.17-negotiate-210.bin", func(r *NegotiateRequest) { r.Dialects = []Dialect{Dialect210} }},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			var guid GUID
			var salt [32]byte
			_, _ = rand.Read(guid[:])
			_, _ = rand.Read(salt[:])
			req := DefaultNegotiateRequest(guid, salt)
			c.modify(&req)
			reply := negotiateOnce(t, &req)
			t.Logf("%d bytes:\n%s", len(reply), hex.Dump(reply))
			r := NegotiateResponse(reply)
			if err := r.Validate(); err != nil {
				t.Fatalf("captured reply does not validate: %v", err)
			}
			if err := os.WriteFile(filepath.Join("testdata", c.file), reply, 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// startCaptureSmbd runs one smbd for the test and stops it (by PID) at cleanup.
func startCaptureSmbd(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"private", "lock", "state", "cache", "pid", "ncalrpc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "smb.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, negCaptureConf, dir), 0o644); err != nil {
		t.Fatal(err)
	}
	// Output to a file, not a pipe: smbd's helpers inherit it and would hold cmd.Wait.
	out, err := os.Create(filepath.Join(dir, "smbd.out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	cmd := exec.Command(negSmbdPath, "--foreground", "--no-process-group", "--configfile="+conf)
	cmd.Stdout, cmd.Stderr = out, out
	// smbd signals its whole process group on shutdown; a group of its own keeps that signal
	// away from the test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			stdout, _ := os.ReadFile(filepath.Join(dir, "smbd.out"))
			log, _ := os.ReadFile(filepath.Join(dir, "log.smbd"))
			t.Logf("smbd output:\n%s\nlog:\n%s", stdout, log)
		}
	})
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", negCaptureAddr, time.Second)
		if err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("smbd (pid %d) not reachable on %s", pid, negCaptureAddr)
}

// negotiateOnce sends one NEGOTIATE on a fresh connection and returns the SMB2 reply.
func negotiateOnce(t *testing.T, req *NegotiateRequest) []byte {
	conn, err := net.DialTimeout("tcp", negCaptureAddr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	h := Header{Command: CmdNegotiate, Credits: 1}
	msg := AppendNetBIOSHeader(nil, HeaderSize+req.Size())
	msg = h.AppendTo(msg)
	msg = req.AppendTo(msg)
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	for {
		var nb [NetBIOSHeaderSize]byte
		if _, err := io.ReadFull(conn, nb[:]); err != nil {
			t.Fatal(err)
		}
		typ, n, _ := ParseNetBIOSHeader(nb[:])
		if typ == NetBIOSKeepAlive {
			continue
		}
		if typ != NetBIOSSessionMessage || n > 1<<16 {
			t.Fatalf("unexpected netbios frame type 0x%02x length %d", typ, n)
		}
		reply := make([]byte, n)
		if _, err := io.ReadFull(conn, reply); err != nil {
			t.Fatal(err)
		}
		return reply
	}
}

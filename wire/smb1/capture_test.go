//go:build capture

package smb1

// Golden capture against a throwaway Samba smbd on 127.0.0.79:445 (loopback only).
//
//	go test -tags capture -run TestCaptureSamba -v ./wire/smb1
//
// needs root (port 445) and /usr/sbin/smbd. It starts one smbd per configuration from a
// temporary directory, sends smbsweep's SMB1 probe (AppendProbeNegotiate), writes the reply
// (the SMB message after the 4-byte NetBIOS header; an empty file when the server closes the
// connection without a message) to testdata/, and stops the smbd by its PID.

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/wire"
)

const (
	captureAddr = "127.0.0.79:445"
	smbdPath    = "/usr/sbin/smbd"
)

// captureConf is the smb.conf template; %[1]s is the instance directory, %[2]s the min protocol.
const captureConf = `[global]
	server role = standalone server
	workgroup = SMBSWEEPTEST
	netbios name = SMBSWEEPCAP
	server min protocol = %[2]s
	server signing = auto
	interfaces = 127.0.0.79/8
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

func TestCaptureSamba(t *testing.T) {
	if _, err := os.Stat(smbdPath); err != nil {
		t.Skipf("no smbd: %v", err)
	}
	cases := []struct {
		minProtocol string
		file        string
	}{
		{"NT1", "samba-4.17-nt1-negotiate.bin"},
		{"SMB2_02", "samba-4.17-smb1-disabled-negotiate.bin"},
	}
	for _, c := range cases {
		t.Run(c.minProtocol, func(t *testing.T) {
			reply, how := captureOnce(t, c.minProtocol)
			t.Logf("min protocol %s: %s, %d bytes:\n%s", c.minProtocol, how, len(reply), hex.Dump(reply))
			if err := os.WriteFile(filepath.Join("testdata", c.file), reply, 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// captureOnce runs one smbd with the given min protocol, sends the probe and returns the reply
// and a description of how the exchange ended.
func captureOnce(t *testing.T, minProtocol string) ([]byte, string) {
	dir := t.TempDir()
	for _, d := range []string{"private", "lock", "state", "cache", "pid", "ncalrpc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "smb.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, captureConf, dir, minProtocol), 0o644); err != nil {
		t.Fatal(err)
	}
	// Output goes to a file, not a pipe: smbd's helper processes inherit it, and a pipe would
	// keep cmd.Wait waiting for them.
	out, err := os.Create(filepath.Join(dir, "smbd.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(smbdPath, "--foreground", "--no-process-group", "--configfile="+conf)
	cmd.Stdout, cmd.Stderr = out, out
	// --no-process-group keeps smbd from calling setsid, and on shutdown smbd signals its
	// whole process group; a group of its own keeps that signal away from the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		// Stop exactly the smbd we started, by its PID; its per-connection children exit
		// with it.
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

	var conn net.Conn
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		conn, err = net.DialTimeout("tcp", captureAddr, time.Second)
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("smbd (pid %d) not reachable on %s: %v", pid, captureAddr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))

	msg := AppendProbeNegotiate(wire.AppendNetBIOSHeader(nil, ProbeNegotiateSize))
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	for {
		var nb [wire.NetBIOSHeaderSize]byte
		if _, err := io.ReadFull(conn, nb[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
				return nil, "connection closed without a reply (" + err.Error() + ")"
			}
			t.Fatal(err)
		}
		typ, n, _ := wire.ParseNetBIOSHeader(nb[:])
		if typ == wire.NetBIOSKeepAlive {
			continue
		}
		if typ != wire.NetBIOSSessionMessage || n > 1<<16 {
			t.Fatalf("unexpected netbios frame type 0x%02x length %d", typ, n)
		}
		reply := make([]byte, n)
		if _, err := io.ReadFull(conn, reply); err != nil {
			t.Fatal(err)
		}
		how := "reply"
		if len(reply) >= 4 {
			how = fmt.Sprintf("reply with protocol id %08x", binary.LittleEndian.Uint32(reply))
		}
		// Does the server close the connection after this reply?
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		var one [1]byte
		if _, err := conn.Read(one[:]); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				how += "; connection left open"
			} else {
				how += "; then connection closed (" + strings.TrimSpace(err.Error()) + ")"
			}
		} else {
			how += "; then more data"
		}
		return reply, how
	}
}

//go:build capture

package dcerpc

// Golden capture of the DCE/RPC traffic of a real NetrShareEnum (opnum 15) call over SMB2
// (loopback only):
//
//	go test -tags capture -run TestCaptureSambaShareEnum -v ./wire/dcerpc
//
// needs root (port 445), /usr/sbin/smbd and /usr/bin/smbclient. It starts one throwaway smbd
// on 127.0.0.81:445 from a temporary directory, runs `smbclient -N -L //127.0.0.82 -m SMB3`
// through a recording TCP relay on 127.0.0.82:445, pulls the named-pipe payloads out of the
// SMB2 IOCTL/WRITE requests and IOCTL/READ responses it relayed, splits them into DCE/RPC
// PDUs and writes the server's BIND_ACK and RESPONSE (and smbclient's BIND and REQUEST) to
// testdata/.
// The smbd's process group is stopped by its PID at cleanup.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	capServerAddr = "127.0.0.81:445"
	capRelayAddr  = "127.0.0.82:445"
	capSmbd       = "/usr/sbin/smbd"
	capSmbclient  = "/usr/bin/smbclient"
)

// capServerConf is the smbd configuration; %[1]s is the instance directory.
const capServerConf = `[global]
	server role = standalone server
	workgroup = SMBSWEEPTEST
	netbios name = SMBSWEEPRPC
	interfaces = 127.0.0.81/8
	bind interfaces only = yes
	smb ports = 445
	disable netbios = yes
	map to guest = Bad User
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes
	private dir = %[1]s/private
	lock directory = %[1]s/lock
	state directory = %[1]s/state
	cache directory = %[1]s/cache
	pid directory = %[1]s/pid
	ncalrpc dir = %[1]s/ncalrpc
	log file = %[1]s/log.smbd
	log level = 1

[public]
	path = %[1]s/public
	comment = Öffentlich – café ☕
	guest ok = yes
	read only = yes

[emoji😀]
	path = %[1]s/emoji
	comment = non-BMP share name
	guest ok = yes
	read only = yes

[hidden$]
	path = %[1]s/hidden
	guest ok = yes
	read only = yes
`

// capClientConf keeps smbclient away from the system smb.conf and its state directories.
const capClientConf = `[global]
	client min protocol = SMB2
	client max protocol = SMB3
	lock directory = %[1]s/client
	state directory = %[1]s/client
	cache directory = %[1]s/client
	private dir = %[1]s/client
	ncalrpc dir = %[1]s/client
	log level = 0
`

func TestCaptureSambaShareEnum(t *testing.T) {
	for _, p := range []string{capSmbd, capSmbclient} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("missing %s: %v", p, err)
		}
	}
	dir := t.TempDir()
	startCapSmbd(t, dir)

	ln, err := net.Listen("tcp", capRelayAddr)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		streams [][2]*bytes.Buffer // per connection: client->server, server->client
		wg      sync.WaitGroup
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.DialTimeout("tcp", capServerAddr, 2*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			up, down := new(bytes.Buffer), new(bytes.Buffer)
			mu.Lock()
			streams = append(streams, [2]*bytes.Buffer{up, down})
			mu.Unlock()
			wg.Add(2)
			relay := func(dst, src net.Conn, rec *bytes.Buffer) {
				defer wg.Done()
				_, _ = io.Copy(io.MultiWriter(dst, rec), src)
				dst.(*net.TCPConn).CloseWrite()
			}
			go relay(s, c, up)
			go relay(c, s, down)
		}
	}()

	clientConf := filepath.Join(dir, "client.conf")
	if err := os.MkdirAll(filepath.Join(dir, "client"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(clientConf, fmt.Appendf(nil, capClientConf, dir), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(capSmbclient, "-N", "-L", "//127.0.0.82", "-m", "SMB3", "-p", "445",
		"--configfile="+clientConf)
	out, err := cmd.CombinedOutput()
	t.Logf("smbclient: %v\n%s", err, out)
	ln.Close()
	wg.Wait()

	var in, outb []byte // pipe payloads client->server, server->client
	for _, s := range streams {
		in = append(in, pipePayloads(t, s[0].Bytes(), false)...)
		outb = append(outb, pipePayloads(t, s[1].Bytes(), true)...)
	}
	save := func(dirn string, stream []byte, ptype uint8, name string, nth int) {
		seen := 0
		for len(stream) >= 16 {
			n := int(binary.LittleEndian.Uint16(stream[8:]))
			if n < 16 || n > len(stream) {
				t.Fatalf("%s: bad frag_length %d", dirn, n)
			}
			pdu := stream[:n]
			stream = stream[n:]
			t.Logf("%s PTYPE %d flags %#x call %d, %d bytes", dirn, pdu[2], pdu[3], binary.LittleEndian.Uint32(pdu[12:]), n)
			if pdu[2] == ptype {
				if seen == nth {
					t.Logf("%s:\n%s", name, hex.Dump(pdu))
					if err := os.WriteFile(filepath.Join("testdata", name), pdu, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				seen++
			}
		}
		t.Fatalf("%s: no PDU of type %d for %s", dirn, ptype, name)
	}
	save("client", in, 11, "smbclient-4.17-bind.bin", 0)
	save("client", in, 0, "smbclient-4.17-netshareenum-request.bin", 0)
	save("server", outb, 12, "samba-4.17-bind-ack.bin", 0)
	save("server", outb, 2, "samba-4.17-netshareenum-response.bin", 0)
}

// pipePayloads returns the named-pipe data carried by the SMB2 messages of one TCP direction:
// IOCTL input and WRITE data for requests, IOCTL output and READ data for responses.
func pipePayloads(t *testing.T, stream []byte, responses bool) []byte {
	var out []byte
	for len(stream) >= 4 {
		n := int(stream[1])<<16 | int(stream[2])<<8 | int(stream[3])
		if stream[0] != 0 || 4+n > len(stream) {
			t.Fatalf("bad NetBIOS frame %x length %d of %d", stream[0], n, len(stream))
		}
		frame := stream[4 : 4+n]
		stream = stream[4+n:]
		for len(frame) >= 64 {
			if string(frame[:4]) != "\xfeSMB" {
				t.Logf("skipping non-SMB2 message %x (encrypted or SMB1)", frame[:4])
				break
			}
			msg := frame
			if next := binary.LittleEndian.Uint32(frame[20:]); next != 0 && int(next) <= len(frame) {
				msg, frame = frame[:next], frame[next:]
			} else {
				frame = nil
			}
			out = append(out, pipeData(msg, responses)...)
		}
	}
	return out
}

func pipeData(msg []byte, response bool) []byte {
	le := binary.LittleEndian
	cmd := le.Uint16(msg[12:])
	status := le.Uint32(msg[8:])
	isResp := le.Uint32(msg[16:])&1 != 0
	if isResp != response || len(msg) < 64+8 {
		return nil
	}
	if response && status != 0 && status != 0x80000005 {
		return nil
	}
	body := msg[64:]
	slice := func(off, n uint32) []byte {
		if uint64(off)+uint64(n) > uint64(len(msg)) {
			return nil
		}
		return msg[off : off+n]
	}
	switch {
	case cmd == 0x0b && !response && len(body) >= 56: // IOCTL request: input buffer
		if le.Uint32(body[4:]) != 0x0011c017 {
			return nil
		}
		return slice(le.Uint32(body[24:]), le.Uint32(body[28:]))
	case cmd == 0x0b && response && len(body) >= 48: // IOCTL response: output buffer
		if le.Uint32(body[4:]) != 0x0011c017 {
			return nil
		}
		return slice(le.Uint32(body[32:]), le.Uint32(body[36:]))
	case cmd == 0x09 && !response && len(body) >= 48: // WRITE request
		return slice(uint32(le.Uint16(body[2:])), le.Uint32(body[4:]))
	case cmd == 0x08 && response && len(body) >= 16: // READ response
		return slice(uint32(body[2]), le.Uint32(body[4:]))
	}
	return nil
}

// startCapSmbd runs one smbd, which makes itself a session and process group leader, and, at cleanup,
// stops that process group by its id and checks that no member is left.
func startCapSmbd(t *testing.T, dir string) {
	for _, d := range []string{"private", "lock", "state", "cache", "pid", "ncalrpc", "public", "emoji", "hidden"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "smb.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, capServerConf, dir), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "smbd.out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	cmd := exec.Command(capSmbd, "--foreground", "--configfile="+conf)
	cmd.Stdout, cmd.Stderr = out, out
	// No SysProcAttr: without --no-process-group smbd calls setsid() itself (which fails
	// for a process that already leads a group), so it ends up in a session and process
	// group of its own whose id is its PID. That group holds samba-dcerpcd and the rpcd_*
	// helpers it starts, and is what smbd signals on exit.
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
		// samba-dcerpcd, started on demand by smbd, makes itself a session leader too, so it
		// is found by the instance's config path on its command line and stopped by PID.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			left := instanceProcs(pid, conf)
			if len(left) == 0 {
				break
			}
			sig := syscall.SIGTERM
			if time.Now().After(deadline) {
				sig = syscall.SIGKILL
			}
			for _, p := range left {
				_ = syscall.Kill(p, sig)
			}
			if sig == syscall.SIGKILL {
				t.Errorf("instance processes still running after SIGTERM: %v", left)
				break
			}
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "log.smbd"))
			so, _ := os.ReadFile(filepath.Join(dir, "smbd.out"))
			t.Logf("smbd output:\n%s\nlog:\n%s", so, log)
		}
	})
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", capServerAddr, time.Second); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("smbd (pid %d) not reachable on %s", pid, capServerAddr)
}

// instanceProcs lists the live processes of this smbd instance: those in process group pgid
// and those whose command line names conf (/proc/PID/stat field 5, /proc/PID/cmdline).
func instanceProcs(pgid int, conf string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(st)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 4 || f[0] == "Z" {
			continue
		}
		cl, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if f[3] == strconv.Itoa(pgid) || bytes.Contains(cl, []byte(conf)) {
			pids = append(pids, p)
		}
	}
	return pids
}

//go:build capture

package ntlmssp

// Golden capture of a whole anonymous NTLMSSP-in-SPNEGO logon against a throwaway Samba smbd
// on 127.0.0.78:445 (loopback only):
//
//	go test -tags capture -run TestCaptureSambaNullSession -v ./wire/ntlmssp
//
// needs root (port 445) and /usr/sbin/smbd. It starts one smbd from a temporary directory,
// runs NEGOTIATE and the two SESSION_SETUP round trips with smbsweep's own tokens, checks that
// Samba grants the null session (STATUS_SUCCESS), writes the three security buffers Samba sent to testdata/,
// and stops the smbd by its PID.

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
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
	"github.com/smbsweep/smbsweep/wire/spnego"
)

const (
	captureAddr = "127.0.0.78:445"
	smbdPath    = "/usr/sbin/smbd"
)

// captureConf is the smb.conf template; %[1]s is the instance directory.
const captureConf = `[global]
	server role = standalone server
	workgroup = SMBSWEEPTEST
	netbios name = SMBSWEEPNTLM
	server signing = auto
	interfaces = 127.0.0.78/8
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

func TestCaptureSambaNullSession(t *testing.T) {
	if _, err := os.Stat(smbdPath); err != nil {
		t.Skipf("no smbd: %v", err)
	}
	startSmbd(t)
	conn, err := net.DialTimeout("tcp", captureAddr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var msgID uint64

	// NEGOTIATE: the reply's security buffer is the NegTokenInit2 hint.
	var guid wire.GUID
	var salt [32]byte
	_, _ = rand.Read(guid[:])
	_, _ = rand.Read(salt[:])
	nreq := wire.DefaultNegotiateRequest(guid, salt)
	nreq.Dialects = []wire.Dialect{wire.Dialect202, wire.Dialect210, wire.Dialect300, wire.Dialect302}
	reply := roundTrip(t, conn, wire.Header{Command: wire.CmdNegotiate, Credits: 1, MessageID: msgID}, &nreq)
	msgID++
	nr := wire.NegotiateResponse(reply)
	if err := nr.Validate(); err != nil {
		t.Fatal(err)
	}
	hint := nr.SecurityBuffer()
	save(t, "samba-4.17-negotiate-spnego.bin", hint)
	if tok, err := spnego.DecodeNegTokenInit(hint); err != nil || !tok.Contains(spnego.OIDNTLMSSP) {
		t.Fatalf("hint: %v", err)
	}

	// SESSION_SETUP 1: SPNEGO NegTokenInit carrying the NTLM NEGOTIATE.
	neg := DefaultNegotiate()
	negBytes := neg.AppendTo(nil)
	sreq := wire.SessionSetupRequest{SecurityMode: uint8(wire.NegotiateSigningEnabled), SecurityBuffer: spnego.AppendNegTokenInit(nil, negBytes)}
	reply = roundTrip(t, conn, wire.Header{Command: wire.CmdSessionSetup, Credits: 1, MessageID: msgID}, &sreq)
	msgID++
	var h wire.Header
	if err := wire.DecodeHeader(reply, &h); err != nil {
		t.Fatal(err)
	}
	if h.Status != wire.StatusMoreProcessingRequired {
		t.Fatalf("SESSION_SETUP 1: %v", h.Status)
	}
	sr := wire.SessionSetupResponse(reply)
	if err := sr.Validate(); err != nil {
		t.Fatal(err)
	}
	save(t, "samba-4.17-session-setup-challenge.bin", sr.SecurityBuffer())
	resp, err := spnego.DecodeNegTokenResp(sr.SecurityBuffer())
	if err != nil {
		t.Fatal(err)
	}
	ch := Challenge(resp.ResponseToken)
	if err := ch.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Logf("challenge flags %v", ch.Flags())

	// SESSION_SETUP 2: the anonymous AUTHENTICATE in a NegTokenResp.
	auth := AnonymousAuthenticate(ch.Flags() & neg.Flags)
	sreq.SecurityBuffer = spnego.AppendNegTokenResp(nil, auth.AppendTo(nil), nil)
	reply = roundTrip(t, conn, wire.Header{Command: wire.CmdSessionSetup, Credits: 1, MessageID: msgID, SessionID: h.SessionID}, &sreq)
	if err := wire.DecodeHeader(reply, &h); err != nil {
		t.Fatal(err)
	}
	if h.Status != wire.StatusSuccess {
		t.Fatalf("SESSION_SETUP 2: %v", h.Status)
	}
	sr = wire.SessionSetupResponse(reply)
	if err := sr.Validate(); err != nil {
		t.Fatal(err)
	}
	// Samba 4.17 grants the anonymous logon with SessionFlags 0 (neither IS_NULL nor IS_GUEST),
	// so the flags alone cannot tell a null session; the status can.
	t.Logf("session flags 0x%04x", sr.SessionFlags())
	save(t, "samba-4.17-session-setup-accept.bin", sr.SecurityBuffer())
}

type encoder interface {
	Size() int
	AppendTo([]byte) []byte
}

// roundTrip sends one SMB2 request and returns the SMB2 reply (NetBIOS header stripped),
// skipping interim STATUS_PENDING replies.
func roundTrip(t *testing.T, conn net.Conn, h wire.Header, body encoder) []byte {
	t.Helper()
	msg := wire.AppendNetBIOSHeader(nil, wire.HeaderSize+body.Size())
	msg = h.AppendTo(msg)
	msg = body.AppendTo(msg)
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	for {
		var nb [wire.NetBIOSHeaderSize]byte
		if _, err := io.ReadFull(conn, nb[:]); err != nil {
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
		if len(reply) >= 12 && binary.LittleEndian.Uint32(reply[8:]) == 0x00000103 { // STATUS_PENDING
			continue
		}
		return reply
	}
}

func save(t *testing.T, name string, b []byte) {
	t.Helper()
	t.Logf("%s: %d bytes\n%s", name, len(b), hex.Dump(b))
	if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// startSmbd runs one smbd for the test and stops it (by PID) at cleanup. It returns the path
// of its smb.conf.
func startSmbd(t *testing.T) string {
	dir := t.TempDir()
	for _, d := range []string{"private", "lock", "state", "cache", "pid", "ncalrpc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "smb.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, captureConf, dir), 0o644); err != nil {
		t.Fatal(err)
	}
	// Output to a file, not a pipe: smbd's helpers inherit it and would hold cmd.Wait.
	out, err := os.Create(filepath.Join(dir, "smbd.out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	cmd := exec.Command(smbdPath, "--foreground", "--no-process-group", "--configfile="+conf)
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
		c, err := net.DialTimeout("tcp", captureAddr, time.Second)
		if err == nil {
			c.Close()
			return conf
		}
	}
	t.Fatalf("smbd (pid %d) not reachable on %s", pid, captureAddr)
	return ""
}

// TestCaptureSambaNTLMv2 logs on to the throwaway smbd with a password, the way the later
// credentialed stage will: NTLMv2 with KEY_EXCH, with and without a MIC, and with a wrong
// password and a corrupted MIC, which Samba must refuse; with a MIC, the logon completes only
// with the SPNEGO mechListMIC too, and Samba's own mechListMIC is verified. It writes nothing.
//
//	go test -tags capture -run TestCaptureSambaNTLMv2 -v ./wire/ntlmssp
func TestCaptureSambaNTLMv2(t *testing.T) {
	if _, err := os.Stat(smbdPath); err != nil {
		t.Skipf("no smbd: %v", err)
	}
	conf := startSmbd(t)
	// A Samba account for the existing unix user "nobody", in the instance's own passdb.
	const user, password = "nobody", "Sm8sweep-Pw"
	cmd := exec.Command("/usr/bin/pdbedit", "--configfile="+conf, "-a", "-u", user, "-t")
	cmd.Stdin = strings.NewReader(password + "\n" + password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pdbedit: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name        string
		password    string
		mic         bool
		mechListMIC bool
		corrupt     bool
		want        wire.NTStatus
	}{
		{"password", password, false, false, false, wire.StatusSuccess},
		// With the MIC (MsvAvFlags announcing it makes this "new SPNEGO"), Samba checks it and
		// then also wants the SPNEGO mechListMIC.
		{"password+MIC without mechListMIC", password, true, false, false, wire.StatusMoreProcessingRequired},
		{"password+MIC+mechListMIC", password, true, true, false, wire.StatusSuccess},
		{"wrong password", "wrong", false, false, false, 0xc000006d}, // STATUS_LOGON_FAILURE
		{"corrupted MIC", password, true, true, true, 0xc000000d},    // STATUS_INVALID_PARAMETER
	} {
		t.Run(c.name, func(t *testing.T) {
			st, flags := ntlmv2Logon(t, user, c.password, c.mic, c.mechListMIC, c.corrupt)
			t.Logf("status %v, session flags 0x%04x", st, flags)
			if st != c.want {
				t.Errorf("status %v, want %v", st, c.want)
			}
		})
	}
}

// ntlmv2Logon runs NEGOTIATE and both SESSION_SETUP round trips with a password and returns the
// final status and session flags.
func ntlmv2Logon(t *testing.T, user, password string, mic, mechListMIC, corrupt bool) (wire.NTStatus, uint16) {
	conn, err := net.DialTimeout("tcp", captureAddr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var guid wire.GUID
	var salt [32]byte
	_, _ = rand.Read(guid[:])
	nreq := wire.DefaultNegotiateRequest(guid, salt)
	nreq.Dialects = []wire.Dialect{wire.Dialect210, wire.Dialect300}
	if nr := wire.NegotiateResponse(roundTrip(t, conn, wire.Header{Command: wire.CmdNegotiate, Credits: 1}, &nreq)); nr.Validate() != nil {
		t.Fatal("negotiate")
	}
	neg := Negotiate{Flags: DefaultNegotiateFlags | FlagKeyExch | FlagSign, Version: DefaultVersion}
	negBytes := neg.AppendTo(nil)
	sreq := wire.SessionSetupRequest{SecurityMode: uint8(wire.NegotiateSigningEnabled), SecurityBuffer: spnego.AppendNegTokenInit(nil, negBytes)}
	reply := roundTrip(t, conn, wire.Header{Command: wire.CmdSessionSetup, Credits: 1, MessageID: 1}, &sreq)
	var h wire.Header
	if err := wire.DecodeHeader(reply, &h); err != nil || h.Status != wire.StatusMoreProcessingRequired {
		t.Fatalf("SESSION_SETUP 1: %v %v", err, h.Status)
	}
	resp, err := spnego.DecodeNegTokenResp(wire.SessionSetupResponse(reply).SecurityBuffer())
	if err != nil {
		t.Fatal(err)
	}
	ch := Challenge(resp.ResponseToken)
	if err := ch.Validate(); err != nil {
		t.Fatal(err)
	}
	var info AVInfo
	if err := ch.AVInfo(&info); err != nil {
		t.Fatal(err)
	}
	domain := wire.DecodeUTF16LE(info.NbDomainName)
	p := NTLMv2Auth{User: user, Domain: domain, Workstation: "SMBSWEEP", ResponseKeyNT: NTOWFv2(password, user, domain),
		Time: wire.TimeToFiletime(time.Now()), IncludeMIC: mic}
	_, _ = rand.Read(p.ClientChallenge[:])
	_, _ = rand.Read(p.ExportedSessionKey[:])
	flags := ch.Flags() & neg.Flags
	auth, exported, err := p.AppendAuthenticate(nil, flags, negBytes, ch)
	if err != nil {
		t.Fatal(err)
	}
	if corrupt {
		auth[MICOffset] ^= 0xff
	}
	// mechListMIC: GSS_GetMIC of the mechTypes the client sent, with the client's keys.
	mechTypes := spnego.NTLMMechTypeList()
	der := mechTypes.AppendDER(nil)
	var listMIC []byte
	if mechListMIC {
		s, err := NewSigner(flags, exported, true)
		if err != nil {
			t.Fatal(err)
		}
		listMIC = s.Sign(nil, der)
	}
	sreq.SecurityBuffer = spnego.AppendNegTokenResp(nil, auth, listMIC)
	reply = roundTrip(t, conn, wire.Header{Command: wire.CmdSessionSetup, Credits: 1, MessageID: 2, SessionID: h.SessionID}, &sreq)
	if err := wire.DecodeHeader(reply, &h); err != nil {
		t.Fatal(err)
	}
	if h.Status != wire.StatusSuccess && h.Status != wire.StatusMoreProcessingRequired {
		return h.Status, 0
	}
	sr := wire.SessionSetupResponse(reply)
	if err := sr.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := spnego.DecodeNegTokenResp(sr.SecurityBuffer())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("negState %v (present %v), response token %d bytes, mechListMIC %x", r.NegState, r.HasNegState, len(r.ResponseToken), r.MechListMIC)
	if r.MechListMIC != nil {
		// Samba's mechListMIC over the same list, with the server's keys.
		s, err := NewSigner(flags, exported, false)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Verify(der, r.MechListMIC) {
			t.Error("Samba's mechListMIC does not verify")
		}
	}
	return h.Status, sr.SessionFlags()
}

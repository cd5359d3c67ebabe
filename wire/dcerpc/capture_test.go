//go:build capture

package dcerpc

// Golden capture of the DCE/RPC traffic of a real NetrShareEnum (opnum 15) call over SMB2 (part
// of `make goldens`):
//
//	SMBSWEEP_REQUIRE_SAMBA=1 go test -tags capture -count=1 -run Capture -v ./wire/dcerpc
//
// needs root, Samba and smbclient (it fails without them: capture tests are opt-in by build
// tag). internal/testing/sambatest starts one smbd (with its samba-dcerpcd) on a free loopback address;
// smbclient lists its shares anonymously through a recording TCP relay on 127.0.0.1; the
// named-pipe payloads are pulled out of the SMB2 IOCTL/WRITE requests and IOCTL/READ responses
// the relay saw, split into DCE/RPC PDUs, and the server's BIND_ACK and RESPONSE (and
// smbclient's BIND and REQUEST) are written to testdata/. See testdata/README.md.

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
	"sync"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
)

// capUNCHost is the host smbclient is asked to list (-L //capUNCHost); -I and -p send the
// connection to the relay instead. smbclient puts this name into the request's ServerName, so a
// fixed one keeps the captured REQUEST byte for byte what TestNetShareEnumRequestMatchesSmbclient
// builds. Nothing connects to this address.
const capUNCHost = "127.0.0.82"

// capShares are the shares of the captured server: non-ASCII and non-BMP characters in names
// and comments, and a hidden share.
var capShares = []sambatest.ShareConfig{
	{Name: "public", Params: []string{"comment = Öffentlich – café ☕", "guest ok = yes", "read only = yes"}},
	{Name: "emoji😀", Params: []string{"comment = non-BMP share name", "guest ok = yes", "read only = yes"}},
	{Name: "hidden$", Params: []string{"guest ok = yes", "read only = yes"}},
}

// capClientConf keeps smbclient away from the system smb.conf and its state directories; %[1]s
// is a private directory.
const capClientConf = `[global]
	client min protocol = SMB2
	client max protocol = SMB3
	lock directory = %[1]s
	state directory = %[1]s
	cache directory = %[1]s
	private dir = %[1]s
	ncalrpc dir = %[1]s
	log level = 0
`

func TestCaptureSambaShareEnum(t *testing.T) {
	smbclient, err := exec.LookPath("smbclient")
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := sambatest.StartFleet(t.Context(), sambatest.Options{RemoveOnStop: true, Configs: []sambatest.Config{
		{Name: "rpc", NetBIOSName: "SMBSWEEPRPC", Global: []string{"map to guest = Bad User"}, Shares: capShares},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopFleet(t, fleet) })
	relayAddr, wait := startRelay(t, fleet.Servers[0].AddrPort().String())

	dir := t.TempDir()
	clientConf := filepath.Join(dir, "client.conf")
	if err := os.WriteFile(clientConf, fmt.Appendf(nil, capClientConf, dir), 0o644); err != nil {
		t.Fatal(err)
	}
	relayHost, relayPort, _ := net.SplitHostPort(relayAddr)
	cmd := exec.CommandContext(t.Context(), smbclient, "-N", "-L", "//"+capUNCHost, "-I", relayHost, "-p", relayPort,
		"-m", "SMB3", "--configfile="+clientConf)
	out, err := cmd.CombinedOutput()
	conns := wait()
	if err != nil {
		t.Fatalf("smbclient: %v\n%s", err, out)
	}
	t.Logf("smbclient:\n%s", out)

	var in, outb []byte // pipe payloads client->server, server->client
	for _, s := range conns {
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

// stopFleet stops the test's smbd instance and reports one that would not stop.
func stopFleet(t *testing.T, f *sambatest.Fleet) {
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
}

// startRelay listens on a free port of 127.0.0.1 and relays every connection to target,
// recording both directions. wait closes the listener, waits until every relayed connection
// has ended and returns the recordings, per connection client->server and server->client.
func startRelay(t *testing.T, target string) (addr string, wait func() [][2]*bytes.Buffer) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns [][2]*bytes.Buffer
		wg    sync.WaitGroup
	)
	record := func(dst, src net.Conn, rec *bytes.Buffer) {
		_, _ = io.Copy(io.MultiWriter(dst, rec), src)
		_ = dst.(*net.TCPConn).CloseWrite()
	}
	wg.Go(func() { // the accept loop holds wg, so no relay can be added after Wait returned
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				t.Errorf("relay to %s: %v", target, err)
				c.Close()
				continue
			}
			up, down := new(bytes.Buffer), new(bytes.Buffer)
			mu.Lock()
			conns = append(conns, [2]*bytes.Buffer{up, down})
			mu.Unlock()
			wg.Go(func() {
				var both sync.WaitGroup
				both.Go(func() { record(s, c, up) })
				both.Go(func() { record(c, s, down) })
				both.Wait()
				c.Close()
				s.Close()
			})
		}
	})
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), func() [][2]*bytes.Buffer {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return conns
	}
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

//go:build capture

package smb1

// Golden capture of Samba's answers to smbsweep's SMB1 probe (part of `make goldens`):
//
//	SMBSWEEP_REQUIRE_SAMBA=1 go test -tags capture -count=1 -run Capture -v ./wire/smb1
//
// needs root and Samba (it fails without them: capture tests are opt-in by build tag).
// internal/testing/sambatest starts two smbd instances on free loopback addresses, one with SMB1 enabled
// and one without; the probe (AppendProbeNegotiate) goes to each, and the reply (the SMB message
// after the NetBIOS header; an empty file when the server closes the connection without one) is
// written to testdata/. See testdata/README.md.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/transport"
)

func TestCaptureSamba(t *testing.T) {
	signing := "server signing = auto"
	fleet, err := sambatest.StartFleet(t.Context(), sambatest.Options{NoWarmUp: true, RemoveOnStop: true, Configs: []sambatest.Config{
		{Name: "nt1", NetBIOSName: "SMBSWEEPCAP", Global: []string{"server min protocol = NT1", signing}},
		{Name: "smb2only", NetBIOSName: "SMBSWEEPCAP2", Global: []string{signing}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopFleet(t, fleet) })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for _, c := range []struct {
		name, server, file string
		request            func(dst []byte) []byte
	}{
		{"nt1", "nt1", "samba-4.17-nt1-negotiate.bin", AppendProbeNegotiate},
		{"smb2only", "smb2only", "samba-4.17-smb1-disabled-negotiate.bin", AppendProbeNegotiate},
		// A client that asks for neither Unicode nor extended security (Flags2 LONG_NAMES |
		// NT_STATUS): Samba answers in the non-extended NT form with the challenge and its
		// names, the names in UTF-16 (CAP_UNICODE) while the reply's Flags2 Unicode bit echoes
		// the request's, clear.
		{"nt1-oem-client", "nt1", "samba-4.17-nt1-negotiate-non-extended.bin", appendOEMClientNegotiate},
	} {
		t.Run(c.name, func(t *testing.T) {
			reply, how := probeOnce(ctx, t, fleet.Server(c.server).AddrPort().String(), c.request)
			t.Logf("%s: %s, %d bytes:\n%s", c.name, how, len(reply), hex.Dump(reply))
			if err := os.WriteFile(filepath.Join("testdata", c.file), reply, 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// appendOEMClientNegotiate appends the probe's NEGOTIATE with Flags2 LONG_NAMES | NT_STATUS
// only: no Unicode, no extended security.
func appendOEMClientNegotiate(dst []byte) []byte {
	h := NegotiateRequestHeader(0)
	h.Flags2 = Flags2LongNames | Flags2NTStatus
	r := NegotiateRequest{Dialects: probeDialects}
	return AppendNegotiateMessage(dst, &h, &r)
}

// probeOnce sends request on a fresh connection and returns a copy of the reply and a
// description of how the exchange ended.
func probeOnce(ctx context.Context, t *testing.T, addr string, request func(dst []byte) []byte) ([]byte, string) {
	nc, err := new(net.Dialer).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn := transport.New(ctx, nc, transport.Options{})
	defer conn.Close()
	if err := conn.WriteFrame(ctx, request(conn.Buffer())); err != nil {
		t.Fatal(err)
	}
	msg, err := conn.ReadFrame(ctx)
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		return nil, "connection closed without a reply (" + err.Error() + ")"
	} else if err != nil {
		t.Fatal(err)
	}
	reply := bytes.Clone(msg)
	how := "reply"
	if len(reply) >= 4 {
		how = fmt.Sprintf("reply with protocol id %08x", binary.LittleEndian.Uint32(reply))
	}
	// Does the server close the connection after this reply?
	wait, stop := context.WithTimeout(ctx, 2*time.Second)
	defer stop()
	var ne net.Error
	switch _, err := conn.ReadFrame(wait); {
	case err == nil:
		how += "; then more data"
	case errors.As(err, &ne) && ne.Timeout():
		how += "; connection left open"
	default:
		how += "; then connection closed (" + err.Error() + ")"
	}
	return reply, how
}

// stopFleet stops the test's smbd instances and reports any that would not stop.
func stopFleet(t *testing.T, f *sambatest.Fleet) {
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
}

//go:build capture

package wire_test

// Golden capture of SMB2 NEGOTIATE responses from a real Samba smbd (part of `make goldens`):
//
//	SMBSWEEP_REQUIRE_SAMBA=1 go test -tags capture -count=1 -run Capture -v ./wire
//
// needs root and Samba (it fails without them: capture tests are opt-in by build tag).
// internal/testing/sambatest starts one smbd on a free loopback address; each of smbsweep's NEGOTIATE
// requests goes out on a connection of its own (through transport.Conn, as the scanner sends
// it), and each reply (the SMB2 message after the NetBIOS header) is written to testdata/. See
// testdata/README.md.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

func TestCaptureSambaNegotiate(t *testing.T) {
	cases := []struct {
		file   string
		modify func(r *wire.NegotiateRequest, server netip.Addr)
	}{
		// DefaultNegotiateRequest: 2.0.2 .. 3.1.1, every cipher, signing and compression
		// algorithm, plus a NETNAME context naming the server.
		{"samba-4.17-negotiate-311.bin", func(r *wire.NegotiateRequest, server netip.Addr) { r.NetName = server.String() }},
		// The same request narrowed to 2.1 alone (no contexts are sent).
		{"samba-4.17-negotiate-210.bin", func(r *wire.NegotiateRequest, _ netip.Addr) { r.Dialects = []wire.Dialect{wire.Dialect210} }},
	}
	fleet, err := sambatest.StartFleet(t.Context(), sambatest.Options{NoWarmUp: true, RemoveOnStop: true, Configs: []sambatest.Config{
		{Name: "negotiate", NetBIOSName: "SMBSWEEPNEG", Global: []string{"server signing = auto"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopFleet(t, fleet) })
	srv := fleet.Servers[0]
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			var guid wire.GUID
			var salt [32]byte
			_, _ = rand.Read(guid[:])
			_, _ = rand.Read(salt[:])
			req := wire.DefaultNegotiateRequest(guid, salt)
			c.modify(&req, srv.Addr)
			// One connection per request: a connection negotiates once.
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			nc, err := new(net.Dialer).DialContext(ctx, "tcp", srv.AddrPort().String())
			if err != nil {
				t.Fatal(err)
			}
			conn := transport.New(ctx, nc, transport.Options{})
			defer conn.Close()
			r, err := conn.Call(ctx, wire.CmdNegotiate, 0, &req)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bytes:\n%s", len(r.Msg), hex.Dump(r.Msg))
			if err := wire.NegotiateResponse(r.Msg).Validate(); err != nil {
				t.Fatalf("captured reply does not validate: %v", err)
			}
			if err := os.WriteFile(filepath.Join("testdata", c.file), r.Msg, 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// stopFleet stops the test's smbd instances and reports any that would not stop.
func stopFleet(t *testing.T, f *sambatest.Fleet) {
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
}

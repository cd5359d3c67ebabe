//go:build capture

package smb1_test

// Golden capture of Samba's answers to a batched request (part of `make goldens`):
//
//	SMBSWEEP_REQUIRE_SAMBA=1 go test -tags capture -count=1 -run CaptureChain -v ./wire/smb1
//
// The MS17-010 check's chain, SESSION_SETUP_ANDX (anonymous) + TREE_CONNECT_ANDX (IPC$) +
// SMB_COM_TRANSACTION (TRANS_PEEK_NMPIPE on FID 0), sent by transport/smb1conn.PeekIPC in the
// extended-security form (the AUTHENTICATE leg carries the chain) and in the NT LM 0.12 form;
// the reply of each is written to testdata/samba-4.17-smb1-peek-chain-{ext,nt}.bin.

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/transport/smb1conn"
)

func TestCaptureChain(t *testing.T) {
	fleet, err := sambatest.StartFleet(t.Context(), sambatest.Options{NoWarmUp: true, RemoveOnStop: true, Configs: []sambatest.Config{{
		Name: "nt1", NetBIOSName: "SMBSWEEPCAP",
		Global: []string{"server min protocol = NT1", "server signing = auto"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fleet.Stop(); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for _, c := range []struct {
		name string
		opts smb1conn.Options
	}{
		{"peek-chain-ext", smb1conn.Options{}},
		{"peek-chain-nt", smb1conn.Options{NoExtendedSecurity: true}},
	} {
		nc, err := new(net.Dialer).DialContext(ctx, "tcp", fleet.Server("nt1").AddrPort().String())
		if err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		c.opts.Trace, c.opts.ServerName = rec.trace, "SMBSWEEPCAP"
		conn := smb1conn.New(ctx, nc, c.opts)
		if _, err := conn.Negotiate(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.PeekIPC(ctx, true); err != nil {
			t.Fatal(err)
		}
		rec.save(t, len(rec.got)-1, c.name)
		_ = conn.Close()
	}
}

package sweep

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

// TestPortFallback: a target on the first -ports port that refuses or times out at connect is
// probed on the next ports in turn until one connects; the record is that port's, with
// ports_tried; other outcomes and other ports get no second probe.
func TestPortFallback(t *testing.T) {
	addr := netip.MustParseAddr("127.0.0.1")
	ports := []uint16{445, 139, 8445}
	cases := []struct {
		name    string
		port    uint16
		answers map[uint16]probes.Status
		want    []uint16 // ports probed, in order
		tried   []uint16 // the record's ports_tried
	}{
		{"first answers", 445, map[uint16]probes.Status{445: probes.StatusSMB}, []uint16{445}, nil},
		{"refused then smb", 445, map[uint16]probes.Status{445: probes.StatusConnectionRefused, 139: probes.StatusSMB}, []uint16{445, 139}, []uint16{445, 139}},
		{"filtered then smb", 445, map[uint16]probes.Status{445: probes.StatusConnectionTimeout, 139: probes.StatusSMB}, []uint16{445, 139}, []uint16{445, 139}},
		{"all closed", 445, map[uint16]probes.Status{445: probes.StatusConnectionRefused, 139: probes.StatusConnectionTimeout, 8445: probes.StatusConnectionRefused},
			[]uint16{445, 139, 8445}, []uint16{445, 139, 8445}},
		{"not smb is an answer", 445, map[uint16]probes.Status{445: probes.StatusNotSMB}, []uint16{445}, nil},
		{"io timeout is an answer", 445, map[uint16]probes.Status{445: probes.StatusIOTimeout}, []uint16{445}, nil},
		{"other port: no fallback", 139, map[uint16]probes.Status{139: probes.StatusConnectionRefused}, []uint16{139}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var probed []uint16
			r := withPortFallback(t.Context(), ports, probes.Target{Addr: addr, Port: tc.port}, func(_ context.Context, pt probes.Target) *probes.Result {
				probed = append(probed, pt.Port)
				return &probes.Result{Port: pt.Port, Status: tc.answers[pt.Port]}
			})
			if !slices.Equal(probed, tc.want) || !slices.Equal(r.PortsTried, tc.tried) || r.Port != tc.want[len(tc.want)-1] {
				t.Fatalf("probed %v, record port %d ports_tried %v; want %v, %v", probed, r.Port, r.PortsTried, tc.want, tc.tried)
			}
		})
	}
	// Without -ports (or with one port) nothing changes.
	n := 0
	r := withPortFallback(t.Context(), nil, probes.Target{Addr: addr, Port: 445}, func(_ context.Context, pt probes.Target) *probes.Result {
		n++
		return &probes.Result{Port: pt.Port, Status: probes.StatusConnectionRefused}
	})
	if n != 1 || r.PortsTried != nil {
		t.Fatalf("no -ports: %d probes, ports_tried %v", n, r.PortsTried)
	}
}

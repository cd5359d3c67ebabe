package probes_test

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/hostile"
	"github.com/smbsweep/smbsweep/wire"
)

// TestSharesPipeEnds: a srvsvc pipe reply that runs dry before its last fragment, or that never
// ends, is a shares-stage error naming NetrShareEnum and how far the reply got, after a bounded
// number of READs (the caps of enumShares), never a hang or a share list made of half a reply.
func TestSharesPipeEnds(t *testing.T) {
	stub := hostile.NetShareEnumStub(hostile.ManyShares(50), 0)
	data := hostile.ResponseFragments(2, stub, 4256)
	middle := hostile.ResponsePDU(2, 0, 100, make([]byte, 60000)) // valid non-last fragment
	authOnly := hostile.ResponsePDU(2, 0, 100, make([]byte, 60000))
	authOnly[10], authOnly[11] = byte(59992&0xff), byte(59992>>8) // all auth_verifier, empty stub
	for _, c := range []struct {
		name  string
		rpc   []byte // IOCTL output (BUFFER_OVERFLOW)
		read  func(r *hostile.Request) hostile.Action
		want  string
		reads int32 // at most
	}{
		{"eof mid-fragment", data[:5000], func(r *hostile.Request) hostile.Action {
			return hostile.Reply(hostile.ErrorReply(r, wire.StatusEndOfFile))
		}, "READ of the pipe answered STATUS_END_OF_FILE before the last fragment: response: ended after 5000 bytes: 1 fragments, then 720 bytes of a 4280-byte fragment", 1},
		{"eof at a fragment boundary", data[:4280], func(r *hostile.Request) hostile.Action {
			return hostile.Reply(hostile.ErrorReply(r, wire.StatusEndOfFile))
		}, "ended after 4280 bytes: 1 fragments, none of them the last", 1},
		{"pipe empty", data[:5], func(r *hostile.Request) hostile.Action {
			return hostile.Reply(hostile.ErrorReply(r, wire.StatusPipeEmpty))
		}, "STATUS_PIPE_EMPTY before the last fragment: response: ended after 5 bytes: 0 fragments, then 5 bytes of a fragment header", 1},
		{"zero-byte read", data[:5000], func(r *hostile.Request) hostile.Action {
			return hostile.Reply(hostile.ReadReply(r, wire.StatusBufferOverflow, nil))
		}, "READ of the pipe returned no data before the last fragment", 1},
		{"overflow forever, one byte a READ", data[:5000], func(r *hostile.Request) hostile.Action {
			return hostile.Reply(hostile.ReadReply(r, wire.StatusBufferOverflow, data[5000+r.Count:5001+r.Count]))
		}, "response still incomplete after 256 reads", 256},
		{"overflow forever, valid middle fragments", data[:4280], func(r *hostile.Request) hostile.Action {
			return hostile.Reply(hostile.ReadReply(r, wire.StatusBufferOverflow, middle))
		}, "exceeds 2097152", 40},
		{"overflow forever, empty stubs", data[:4280], func(r *hostile.Request) hostile.Action {
			return hostile.Reply(hostile.ReadReply(r, wire.StatusBufferOverflow, authOnly))
		}, "more than 4194304 bytes from the pipe", 70},
		{"overflow forever, garbage", data[:4280], func(r *hostile.Request) hostile.Action {
			return hostile.Reply(hostile.ReadReply(r, wire.StatusBufferOverflow, make([]byte, 60000)))
		}, "version 0.0", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var reads atomic.Int32
			s := &hostile.SMB{Steps: map[hostile.Step]hostile.Responder{
				hostile.StepRPC: func(r *hostile.Request) hostile.Action {
					return hostile.Reply(hostile.IoctlReply(r, wire.StatusBufferOverflow, c.rpc))
				},
				hostile.StepRead: func(r *hostile.Request) hostile.Action { reads.Add(1); return c.read(r) },
			}}
			srv := hostile.StartT(t, s.Handler())
			hc := hostileCase{stages: hostileStages, timeout: 20 * time.Second, session: 10 * time.Second}
			r, wall := runHostile(t, hc, srv)
			b, _ := json.Marshal(r.Stages["shares"])
			t.Logf("%s reads %d wall %s: %s", c.name, reads.Load(), wall, b)
			sr := r.Stages["shares"]
			if sr.Status != errored || !strings.Contains(sr.Error, c.want) || !strings.Contains(sr.Error, "shares ") || !strings.Contains(sr.Error, "NetrShareEnum") {
				t.Errorf("shares %s: %q, want %q", sr.Status, sr.Error, c.want)
			}
			if reads.Load() > c.reads {
				t.Errorf("%d READs, want at most %d", reads.Load(), c.reads)
			}
		})
	}
}

//go:build capture

package probes_test

// Captures the LSA and SAMR replies of a real Samba for the wire/dcerpc decoder tests and fuzz
// seeds (part of `make goldens`):
//
//	SMBSWEEP_REQUIRE_SAMBA=1 go test -tags capture -count=1 -run TestCaptureLSASAMR ./probes
//
// It starts the lsaopen instance of lsasamr_integration_test.go (restrict anonymous = 0) with
// the test's pdbedit policy, runs stages lsa (with -enum-users) and samr through the pipeline
// with a Trace, pairs each FSCTL_PIPE_TRANSCEIVE request's input (a DCE/RPC REQUEST or BIND)
// with its response's output, and writes every reply PDU to wire/dcerpc/testdata as
// samba-4.17-<interface>-<method>[-N]-<response|fault>.bin. The README there lists them.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/dcerpc"
)

var captureMethods = map[string]map[uint16]string{
	"lsa": {0: "lsarclose", 7: "lsarqueryinformationpolicy", 15: "lsarlookupsids", 44: "lsaropenpolicy2", 46: "lsarqueryinformationpolicy2"},
	"samr": {1: "samrclosehandle", 5: "samrlookupdomaininsamserver", 6: "samrenumeratedomainsinsamserver", 7: "samropendomain",
		46: "samrqueryinformationdomain2", 57: "samrconnect2"},
}

func TestCaptureLSASAMR(t *testing.T) {
	fleet := startLSAFleet(t)
	open := fleet.Server("lsaopen")
	pdbeditPolicy(t, open, "min password length", testMinPasswordLength)
	pdbeditPolicy(t, open, "password history", testPasswordHistory)
	pdbeditPolicy(t, open, "bad lockout attempt", testLockoutThreshold)
	pdbeditPolicy(t, open, "lockout duration", testLockoutMinutes)
	pdbeditPolicy(t, open, "reset count minutes", testResetMinutes)

	type exchange struct {
		iface string
		in    []byte // the REQUEST or BIND
		out   []byte // the reply: the transceive output and any READ data after it
	}
	var mu sync.Mutex
	var xs []*exchange
	iface := ""
	opts := &probes.Options{EnumUsers: true, Trace: func(_ probes.Target, conn string, dir transport.Direction, msg []byte) {
		mu.Lock()
		defer mu.Unlock()
		var h wire.Header
		if conn != "smb2" || wire.DecodeHeader(msg, &h) != nil || len(msg) < 64+16 {
			return
		}
		le := binary.LittleEndian
		body := msg[64:]
		slice := func(off, n uint32) []byte {
			if uint64(off)+uint64(n) > uint64(len(msg)) {
				return nil
			}
			return bytes.Clone(msg[off : off+n])
		}
		switch {
		case h.Command == wire.CmdIoctl && dir == transport.Sent && len(body) >= 32:
			in := slice(le.Uint32(body[24:]), le.Uint32(body[28:]))
			if len(in) >= 52 && dcerpc.PacketType(in[2]) == dcerpc.PacketBind {
				switch abstract := in[32:52]; {
				case bytes.Equal(abstract, dcerpc.LSARPCSyntax.AppendTo(nil)):
					iface = "lsa"
				case bytes.Equal(abstract, dcerpc.SAMRSyntax.AppendTo(nil)):
					iface = "samr"
				default:
					iface = ""
				}
			}
			xs = append(xs, &exchange{iface: iface, in: in})
		case h.Command == wire.CmdIoctl && dir == transport.Received && len(xs) > 0:
			if h.Status == wire.StatusSuccess || h.Status == wire.StatusBufferOverflow {
				xs[len(xs)-1].out = bytes.Clone(wire.IoctlResponse(msg).Output())
			}
		case h.Command == wire.CmdRead && dir == transport.Received && len(xs) > 0 && len(body) >= 8:
			if d := slice(uint32(body[2]), le.Uint32(body[4:])); d != nil {
				xs[len(xs)-1].out = append(xs[len(xs)-1].out, d...)
			}
		}
	}}
	r := runStages(t, open, opts, "lsa", "samr")
	for _, st := range []probes.StageName{probes.StageLSA, probes.StageSAMR} {
		if s := r.Stages[st]; s.Status != probes.StageOK {
			t.Fatalf("stage %s: %+v", st, s)
		}
	}
	counts := map[string]int{}
	for _, x := range xs {
		if x.iface == "" || len(x.in) < 24 || len(x.out) < 16 || dcerpc.PacketType(x.in[2]) != dcerpc.PacketRequest {
			continue
		}
		method := captureMethods[x.iface][binary.LittleEndian.Uint16(x.in[22:])]
		kind := "response"
		if dcerpc.PacketType(x.out[2]) == dcerpc.PacketFault {
			kind = "fault"
		}
		key := x.iface + "-" + method + "-" + kind
		counts[key]++
		name := fmt.Sprintf("samba-4.17-%s-%s", x.iface, method)
		if counts[key] > 1 {
			name += fmt.Sprintf("-%d", counts[key])
		}
		if method == "lsarlookupsids" && counts[key] >= 3 && counts[key] <= 6 {
			continue // RIDs 600-999: unmapped SIDs only, as in call 2 (testdata/README.md)
		}
		write(t, "../wire/dcerpc/testdata", name+"-"+kind+".bin", x.out) // every fragment of the reply
	}
	t.Logf("domain %s %s, users %v, policy %+v", probes.StringOr(r.LSA[0].DomainName, ""), probes.StringOr(r.LSA[0].DomainSID, ""),
		strings.Join(r.LSA[0].Users.Names, ","), *r.SAMR[0].PasswordPolicy)
}

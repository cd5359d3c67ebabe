package probes_test

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/hostile"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/wire"
)

// smb1OnlyScan runs stages against a scripted SMB1 server, which closes the connection on the
// SMB2 NEGOTIATE as an SMB1-only host does.
func smb1OnlyScan(t *testing.T, srv *hostile.SMB1, stages ...string) *probes.Result {
	t.Helper()
	s := hostile.StartT(t, srv.Handler())
	p, err := probes.NewPipeline(stages, &probes.Options{Dialer: &net.Dialer{Timeout: 2 * time.Second}, SessionTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return checkEmpty(t, p.Run(ctx, probes.Target{Addr: netip.MustParseAddr("127.0.0.1"), Port: s.Port()}))
}

// srvsvcPipe answers the NT_CREATE_ANDX of \srvsvc with Samba's captured pipe open.
func srvsvcPipe(r *hostile.SMB1Request) hostile.Action {
	return hostile.Reply(hostile.PatchSMB1(hostile.Capture(hostile.CapSMB1NTCreatePipe), r))
}

// TestSMB1OnlyHostStagesOverSMB1: a host that closes the connection on the SMB2 NEGOTIATE and
// accepts NT LM 0.12 gets its session stages over SMB1, recorded as such; negotiate says "no
// SMB2" without being a missing answer, and the SMB2 findings are true with that evidence.
// Before the SMB1 path these stages were skipped ("needs negotiate") and the findings null.
func TestSMB1OnlyHostStagesOverSMB1(t *testing.T) {
	r := smb1OnlyScan(t, &hostile.SMB1{}, "negotiate", "smb1", "session", "guest", "tree", "dialects", "coercion")
	if r.Status != probes.StatusSMB || len(r.Incomplete) != 0 {
		t.Fatalf("status %s incomplete %v (%s), want smb and complete", r.Status, r.Incomplete, r.Error)
	}
	if r.SMB1 == nil || !r.SMB1.Only || !strings.Contains(r.SMB1.Evidence, "SMB1 only") {
		t.Errorf("smb1 %+v: want only=true with the evidence", r.SMB1)
	}
	neg := r.Stages["negotiate"]
	if neg.Status != probes.StageErrored || !strings.HasPrefix(neg.Reason, "no SMB2") || !strings.Contains(neg.Error, "no SMB2") || neg.Protocol != "" {
		t.Errorf("negotiate %+v: want an error saying no SMB2", neg)
	}
	for _, name := range []string{"session", "guest", "tree"} {
		if st := r.Stages[probes.StageName(name)]; st.Status != probes.StageOK || st.Protocol != probes.ProtocolSMB1 {
			t.Errorf("stage %s %+v: want ok over smb1", name, st)
		}
	}
	for _, name := range []string{"dialects", "coercion"} {
		if st := r.Stages[probes.StageName(name)]; st.Status != probes.StageSkipped || st.Protocol != "" || !strings.Contains(st.Reason, "no SMB2") {
			t.Errorf("stage %s %+v: want skipped for no SMB2", name, st)
		}
	}
	if n := r.Sessions.Null; n == nil || tri(n.Allowed) != "true" || probes.StringOr(n.Status, "") != "STATUS_SUCCESS" {
		t.Errorf("null session %+v: want allowed", n)
	}
	if r.NTLM == nil || probes.StringOr(r.NTLM.NetBIOSComputerName, "") == "" {
		t.Errorf("ntlm %+v: want the CHALLENGE names of the SMB1 logon", r.NTLM)
	}
	if r.SMB1.NativeLanManager == "" {
		t.Errorf("smb1 native_lan_manager empty: want the SESSION_SETUP_ANDX reply's")
	}
	for _, id := range []string{probes.FindingSMB3Unsupported, probes.FindingEncryptionUnsupported} {
		if f := finding(r, id); f == nil || tri(f.Value) != "true" || !strings.Contains(f.Reason, "SMB1 only") {
			t.Errorf("finding %s = %+v, want true with the SMB1-only evidence", id, f)
		}
	}
	if f := finding(r, probes.FindingSMBGhost); f == nil || f.State != probes.StateNotVulnerable {
		t.Errorf("smbghost %+v: want not_vulnerable on an SMB1-only host", f)
	}
}

// TestSMB1OnlyNoSMB1Stage: without the smb1 stage nothing tells the closed connection apart
// from a reset, so negotiate stays the missing answer it was and nothing runs over SMB1.
func TestSMB1OnlyNoSMB1Stage(t *testing.T) {
	r := smb1OnlyScan(t, &hostile.SMB1{}, "negotiate", "session")
	if st := r.Stages["session"]; st.Status != probes.StageSkipped || st.Protocol != "" {
		t.Errorf("session %+v: want skipped", st)
	}
	if strings.Contains(r.Stages["negotiate"].Error, "no SMB2") {
		t.Errorf("negotiate %+v claims no SMB2 without the SMB1 evidence", r.Stages["negotiate"])
	}
}

// TestSMB1PipeTransactionPastEnd: a TransactNmPipe reply on \srvsvc whose parameter offset
// points past the end of the message is a protocol error of the shares stage, not a panic or
// an allocation by the server's say-so; what came before stays.
func TestSMB1PipeTransactionPastEnd(t *testing.T) {
	srv := &hostile.SMB1{Steps: map[byte]hostile.SMB1Responder{
		hostile.SMB1CmdNTCreateAndX: srvsvcPipe,
		hostile.SMB1CmdTransaction: func(r *hostile.SMB1Request) hostile.Action {
			return hostile.Reply(hostile.TransactionReplyPastEnd(r))
		},
	}}
	r := smb1OnlyScan(t, srv, "negotiate", "smb1", "session", "tree", "shares")
	st := r.Stages["shares"]
	if st.Status != probes.StageErrored || st.Protocol != probes.ProtocolSMB1 || !strings.Contains(st.Error, "offset") {
		t.Fatalf("shares %+v: want a protocol error over smb1 naming the offset", st)
	}
	if r.Status != probes.StatusSMB || tri(r.Sessions.Null.Allowed) != "true" {
		t.Errorf("status %s null %+v: want smb with the null session kept", r.Status, r.Sessions.Null)
	}
}

// TestSMB1PipeBindAckThenClose: the bind_ack comes (Samba's capture), then the server closes
// the connection on the NetrShareEnum request: the stage errors as connection-reset, and the
// record lists it as missing (recheck material), over smb1.
func TestSMB1PipeBindAckThenClose(t *testing.T) {
	srv := &hostile.SMB1{Steps: map[byte]hostile.SMB1Responder{
		hostile.SMB1CmdNTCreateAndX: srvsvcPipe,
		hostile.SMB1CmdTransaction: func(r *hostile.SMB1Request) hostile.Action {
			if r.Count == 0 {
				return hostile.Reply(hostile.PatchSMB1(hostile.Capture(hostile.CapSMB1TransactNmPipe), r))
			}
			return hostile.Action{Close: true}
		},
	}}
	r := smb1OnlyScan(t, srv, "negotiate", "smb1", "session", "tree", "shares")
	if st := r.Stages["shares"]; st.Status != probes.StageErrored || st.Protocol != probes.ProtocolSMB1 {
		t.Fatalf("shares %+v: want an error over smb1", st)
	}
	if !slices.Equal(r.Incomplete, []probes.StageName{probes.StageShares}) {
		t.Errorf("incomplete %v, want [shares]", r.Incomplete)
	}
}

// TestSMB1OnlyRecheck: the recheck of an SMB1-only host that missed shares reruns the SMB1
// connection's stages (smb1 with them, which tells the host speaks SMB1 only again), not the
// SMB2 connection's, and takes the new answer.
func TestSMB1OnlyRecheck(t *testing.T) {
	var closed atomic.Bool
	srv := &hostile.SMB1{Steps: map[byte]hostile.SMB1Responder{
		hostile.SMB1CmdNTCreateAndX: srvsvcPipe,
		hostile.SMB1CmdTransaction: func(r *hostile.SMB1Request) hostile.Action {
			switch {
			case r.Count == 0:
				return hostile.Reply(hostile.PatchSMB1(hostile.Capture(hostile.CapSMB1TransactNmPipe), r))
			case closed.CompareAndSwap(false, true): // the first probe's NetrShareEnum
				return hostile.Action{Close: true}
			}
			return hostile.Reply(hostile.SMB1ErrorReply(r, hostile.SMB1CmdTransaction, 0xc0000022)) // STATUS_ACCESS_DENIED
		},
	}}
	s := hostile.StartT(t, srv.Handler())
	p, err := probes.NewPipeline([]string{"negotiate", "smb1", "session", "tree", "shares"}, &probes.Options{Dialer: &net.Dialer{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tg := probes.Target{Addr: netip.MustParseAddr("127.0.0.1"), Port: s.Port()}
	first := p.Run(ctx, tg)
	if !slices.Equal(first.Incomplete, []probes.StageName{probes.StageShares}) {
		t.Fatalf("first probe incomplete %v, want [shares]", first.Incomplete)
	}
	r := p.Recheck(ctx, tg, first)
	if len(r.Incomplete) != 0 {
		t.Fatalf("recheck incomplete %v (shares %+v), want complete", r.Incomplete, r.Stages["shares"])
	}
	if st := r.Stages["shares"]; st.Status != probes.StageFailed || st.NTStatus != "STATUS_ACCESS_DENIED" || st.Protocol != probes.ProtocolSMB1 {
		t.Errorf("rechecked shares %+v: want failed with STATUS_ACCESS_DENIED over smb1", st)
	}
	if r.SMB1 == nil || !r.SMB1.Only || tri(r.Sessions.Null.Allowed) != "true" {
		t.Errorf("rechecked record: smb1 %+v null %+v", r.SMB1, r.Sessions.Null)
	}
}

// rpcResponseFragment is a DCE/RPC RESPONSE PDU (C706 12.6.4.10) of call callID with flags and
// a stub of n zero bytes.
func rpcResponseFragment(flags byte, callID uint32, n int) []byte {
	le := binary.LittleEndian
	f := []byte{5, 0, 2, flags, 0x10, 0, 0, 0}
	f = le.AppendUint16(f, uint16(16+8+n))
	f = le.AppendUint16(f, 0) // auth_length
	f = le.AppendUint32(f, callID)
	f = le.AppendUint32(f, uint32(n)) // alloc_hint
	f = le.AppendUint16(f, 0)         // p_cont_id
	f = append(f, 0, 0)               // cancel_count, reserved
	return append(f, make([]byte, n)...)
}

// smb1ReplyWithData builds an SMB1 reply to r with status and the given words, ByteCount and
// data right after it (the data offset word, at index dataOffWord, is patched to point there).
func smb1ReplyWithData(r *hostile.SMB1Request, cmd byte, status uint32, words []uint16, dataOffWord int, data []byte) []byte {
	le := binary.LittleEndian
	m := hostile.SMB1ErrorReply(r, cmd, wire.NTStatus(status))[:32]
	off := 32 + 1 + 2*len(words) + 2
	words[dataOffWord] = uint16(off)
	m = append(m, byte(len(words)))
	for _, w := range words {
		m = le.AppendUint16(m, w)
	}
	m = le.AppendUint16(m, uint16(len(data)))
	return append(m, data...)
}

// TestSMB1PipeEndlessReply: a server that answers NetrShareEnum over the SMB1 pipe with
// STATUS_BUFFER_OVERFLOW and then one more non-last fragment for every READ_ANDX, forever, is
// cut off by the pipe client's bounds (the reassembled stub's limit; maxPipeReads), the stage
// errors, and the scanner took far fewer READs than the server would give.
func TestSMB1PipeEndlessReply(t *testing.T) {
	const bufferOverflow = 0x80000005
	var reads atomic.Int64
	srv := &hostile.SMB1{Steps: map[byte]hostile.SMB1Responder{
		hostile.SMB1CmdNTCreateAndX: srvsvcPipe,
		hostile.SMB1CmdTransaction: func(r *hostile.SMB1Request) hostile.Action {
			if r.Count == 0 {
				return hostile.Reply(hostile.PatchSMB1(hostile.Capture(hostile.CapSMB1TransactNmPipe), r))
			}
			d := rpcResponseFragment(0x01, 2, 1000) // PFC_FIRST_FRAG only: more to come
			// TRANSACTION reply (MS-CIFS 2.2.4.33.2): no parameters, d as the data, no setup.
			words := []uint16{0, uint16(len(d)), 0, 0, 0, 0, uint16(len(d)), 0, 0, 0}
			return hostile.Reply(smb1ReplyWithData(r, hostile.SMB1CmdTransaction, bufferOverflow, words, 7, d))
		},
		hostile.SMB1CmdReadAndX: func(r *hostile.SMB1Request) hostile.Action {
			reads.Add(1)
			d := rpcResponseFragment(0, 2, 60000) // a middle fragment, never the last
			// READ_ANDX reply (MS-CIFS 2.2.4.42.2): AndX none, DataLength, DataOffset (word 6).
			words := []uint16{0x00ff, 0, 0, 0, 0, uint16(len(d)), 0, 0, 0, 0, 0, 0}
			return hostile.Reply(smb1ReplyWithData(r, hostile.SMB1CmdReadAndX, bufferOverflow, words, 6, d))
		},
	}}
	r := smb1OnlyScan(t, srv, "negotiate", "smb1", "session", "tree", "shares")
	st := r.Stages["shares"]
	if st.Status != probes.StageErrored || st.Protocol != probes.ProtocolSMB1 {
		t.Fatalf("shares %+v: want an error over smb1", st)
	}
	if n := reads.Load(); n == 0 || n > 256 {
		t.Errorf("%d READ_ANDX sent: want some, at most maxPipeReads (256)", n)
	}
	if !strings.Contains(st.Error, "NetrShareEnum") {
		t.Errorf("shares error %q does not name the call", st.Error)
	}
	t.Logf("stopped after %d READ_ANDX: %s", reads.Load(), st.Error)
}

// TestSMB1OnlyNullRefusedKeepsChallenge: an SMB1-only server that refuses the anonymous
// AUTHENTICATE still showed its NTLM CHALLENGE, which is recorded (as over SMB2); the session
// stage fails with the status, and the guest logon (refused the same way) too.
func TestSMB1OnlyNullRefusedKeepsChallenge(t *testing.T) {
	srv := &hostile.SMB1{Steps: map[byte]hostile.SMB1Responder{
		hostile.SMB1CmdSessionSetup: func(r *hostile.SMB1Request) hostile.Action {
			if r.UID == 0 {
				return hostile.Reply(hostile.PatchSMB1(hostile.Capture(hostile.CapSMB1SessionChallenge), r))
			}
			return hostile.Reply(hostile.SMB1ErrorReply(r, hostile.SMB1CmdSessionSetup, wire.StatusAccessDenied))
		},
	}}
	r := smb1OnlyScan(t, srv, "negotiate", "smb1", "session", "guest", "tree")
	if st := r.Stages["session"]; st.Status != probes.StageFailed || st.NTStatus != "STATUS_ACCESS_DENIED" || st.Protocol != probes.ProtocolSMB1 {
		t.Errorf("session %+v: want failed with STATUS_ACCESS_DENIED over smb1", st)
	}
	if n := r.Sessions.Null; n == nil || tri(n.SetupOK) != "false" || tri(n.Allowed) != "false" || probes.StringOr(n.Status, "") != "STATUS_ACCESS_DENIED" {
		t.Errorf("null session %+v: want refused", n)
	}
	if r.NTLM == nil || probes.StringOr(r.NTLM.NetBIOSComputerName, "") == "" {
		t.Errorf("ntlm %+v: want the CHALLENGE of the refused logon", r.NTLM)
	}
	if g := r.Sessions.Guest; g == nil || tri(g.Allowed) != "false" {
		t.Errorf("guest %+v: want refused", g)
	}
	if f := finding(r, probes.FindingNullSession); f == nil || tri(f.Value) != "false" {
		t.Errorf("null_session %+v: want false", f)
	}
}

// TestSMB2ClosedOnceIsNotSMB1Only: a server that speaks both but closed the first SMB2
// connection (a transient failure) is not taken for SMB1-only: the smb1 stage's second SMB2
// NEGOTIATE is answered, negotiate's record is that answer, and the sessions run over SMB2.
func TestSMB2ClosedOnceIsNotSMB1Only(t *testing.T) {
	srv := &hostile.SMB{Steps: map[hostile.Step]hostile.Responder{
		hostile.StepSMB1: func(*hostile.Request) hostile.Action {
			return hostile.Reply(hostile.Capture(hostile.CapSMB1NT1))
		},
		hostile.StepNegotiate: func(r *hostile.Request) hostile.Action {
			if r.Conn == 0 {
				return hostile.Action{Close: true}
			}
			return r.Server.Default(r)
		},
	}}
	s := hostile.StartT(t, srv.Handler())
	p, err := probes.NewPipeline([]string{"negotiate", "smb1", "session", "tree"}, &probes.Options{Dialer: &net.Dialer{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := checkEmpty(t, p.Run(ctx, probes.Target{Addr: netip.MustParseAddr("127.0.0.1"), Port: s.Port()}))
	if r.SMB1 == nil || r.SMB1.Only || tri(r.SMB1.Enabled) != "true" {
		t.Errorf("smb1 %+v: want enabled, not only", r.SMB1)
	}
	if neg := r.Stages["negotiate"]; neg.Status != probes.StageOK || r.Negotiate == nil || r.Negotiate.Dialect == "" {
		t.Errorf("negotiate %+v record %+v: want the second connection's answer", neg, r.Negotiate)
	}
	if st := r.Stages["session"]; st.Status != probes.StageOK || st.Protocol != "" {
		t.Errorf("session %+v: want ok over SMB2", st)
	}
	if len(r.Incomplete) != 0 || r.Status != probes.StatusSMB {
		t.Errorf("status %s incomplete %v: want smb, complete", r.Status, r.Incomplete)
	}
}

package probes

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/dcerpc"
)

// fakePipe is a scripted pipeTransport: each transceive returns the next reply and queues its
// further chunks for read.
type fakePipe struct {
	replies  [][][]byte // per transceive: the chunks of the reply
	sent     [][]byte
	pending  [][]byte
	released bool
}

func (p *fakePipe) transceive(_ context.Context, in []byte) ([]byte, error) {
	p.sent = append(p.sent, append([]byte(nil), in...))
	if len(p.replies) == 0 {
		return nil, errors.New("fake pipe: no reply scripted")
	}
	r := p.replies[0]
	p.replies = p.replies[1:]
	p.pending = r[1:]
	return r[0], nil
}

func (p *fakePipe) read(context.Context) ([]byte, error) {
	if len(p.pending) == 0 {
		return nil, refusal(wire.StatusPipeEmpty, "READ of the pipe")
	}
	c := p.pending[0]
	p.pending = p.pending[1:]
	return c, nil
}

func (p *fakePipe) release() { p.released = true }

// bindAck builds a BIND_ACK (C706 12.6.4.4) for call callID with one result per entry of
// results (result, reason) and the secondary address `\PIPE\x`.
func bindAck(callID uint32, results ...[2]uint16) []byte {
	le := binary.LittleEndian
	b := []byte{5, 0, byte(dcerpc.PacketBindAck), 3, 0x10, 0, 0, 0, 0, 0, 0, 0}
	b = le.AppendUint32(b, callID)
	b = le.AppendUint16(b, 4280)
	b = le.AppendUint16(b, 4280)
	b = le.AppendUint32(b, 0x1234)
	sec := "\\PIPE\\x\x00"
	b = le.AppendUint16(b, uint16(len(sec)))
	b = append(b, sec...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, byte(len(results)), 0, 0, 0)
	for _, r := range results {
		b = le.AppendUint16(b, r[0])
		b = le.AppendUint16(b, r[1])
		b = dcerpc.NDRSyntax.AppendTo(b)
	}
	le.PutUint16(b[8:], uint16(len(b)))
	return b
}

// response builds a RESPONSE fragment (C706 12.6.4.10) of call callID carrying stub.
func response(callID uint32, flags uint8, stub []byte) []byte {
	le := binary.LittleEndian
	b := []byte{5, 0, byte(dcerpc.PacketResponse), flags, 0x10, 0, 0, 0, 0, 0, 0, 0}
	b = le.AppendUint32(b, callID)
	b = le.AppendUint32(b, uint32(len(stub)))
	b = append(b, 0, 0, 0, 0) // p_cont_id, cancel_count, reserved
	b = append(b, stub...)
	le.PutUint16(b[8:], uint16(len(b)))
	return b
}

// TestRPCBindSeveralContexts: one BIND offers each interface in its own context; the results
// are read per context, and only accepted contexts can be called.
func TestRPCBindSeveralContexts(t *testing.T) {
	p := &fakePipe{replies: [][][]byte{{bindAck(1, [2]uint16{0, 0}, [2]uint16{dcerpc.ResultProviderRejection, dcerpc.ReasonAbstractSyntax})}}}
	c := newRPCClient(p)
	o, err := c.bind(context.Background(), ifSRVSVC, ifRPRN)
	if err != nil {
		t.Fatal(err)
	}
	if !o.accepted(0) || o.accepted(1) || o.describe(1) != "provider_rejection (abstract_syntax_not_supported)" || o.describe(0) != "acceptance" {
		t.Errorf("outcome %+v: %q, %q", o, o.describe(0), o.describe(1))
	}
	sent := p.sent[0]
	if dcerpc.PDU(sent).Type() != dcerpc.PacketBind || sent[dcerpc.HeaderSize+8] != 2 {
		t.Errorf("BIND % x: want 2 contexts", sent)
	}
	if _, ok := c.contextOf(ifRPRN); ok {
		t.Error("a rejected context is callable")
	}
	if id, ok := c.contextOf(ifSRVSVC); !ok || id != 0 {
		t.Errorf("SRVSVC context %d %v", id, ok)
	}
	if _, err := c.bind(context.Background()); err == nil {
		t.Error("a BIND of no interface was sent")
	}
}

// TestRPCBindNakAndGarbage: a BIND_NAK is an outcome; bytes that are neither a BIND_ACK nor a
// BIND_NAK are a protocol error naming the interface.
func TestRPCBindNakAndGarbage(t *testing.T) {
	nak := []byte{5, 0, byte(dcerpc.PacketBindNak), 3, 0x10, 0, 0, 0, 18, 0, 0, 0, 1, 0, 0, 0, 4, 0}
	p := &fakePipe{replies: [][][]byte{{nak}, {[]byte("not a PDU at all, just text")}}}
	c := newRPCClient(p)
	o, err := c.bind(context.Background(), ifRPRN)
	if err != nil || !o.Nak || o.describe(0) != "bind_nak (protocol_version_not_supported)" {
		t.Errorf("nak: %+v %v", o, err)
	}
	_, err = c.bind(context.Background(), ifEVEN)
	var perr *transport.ProtocolError
	if !errors.As(err, &perr) || perr.Op != "EVEN BIND_ACK" || !errors.Is(err, wire.ErrBadProtocol) {
		t.Errorf("garbage: %v", err)
	}
}

// TestRPCCallAllowlistAndReassembly: a call outside the allowlist is refused before anything is
// sent; an allowed call's reply is reassembled from the transceive output and READs that cut
// fragments anywhere.
func TestRPCCallAllowlistAndReassembly(t *testing.T) {
	f1 := response(2, dcerpc.FlagFirstFrag, []byte("hello, "))
	f2 := response(2, dcerpc.FlagLastFrag, []byte("world"))
	stream := append(append([]byte(nil), f1...), f2...)
	p := &fakePipe{replies: [][][]byte{
		{bindAck(1, [2]uint16{0, 0})},
		{stream[:5], stream[5:30], stream[30:]},
	}}
	c := newRPCClient(p)
	if _, err := c.bind(context.Background(), ifSRVSVC); err != nil {
		t.Fatal(err)
	}
	bad := rpcOp{Interface: ifSRVSVC, Opnum: 16, Name: "NetrShareGetInfo"}
	if _, err := c.call(context.Background(), bad, nil, nil, 100); !errors.Is(err, errOpnumNotAllowed) || len(p.sent) != 1 {
		t.Errorf("non-allowlisted call: %v, %d PDUs sent", err, len(p.sent))
	}
	coerce := rpcOp{Interface: ifRPRN, Opnum: 65, Name: "RpcRemoteFindFirstPrinterChangeNotificationEx"}
	if _, err := c.call(context.Background(), coerce, nil, nil, 100); err == nil || len(p.sent) != 1 {
		t.Errorf("coercing call: %v, %d PDUs sent", err, len(p.sent))
	}
	out, err := c.call(context.Background(), opNetrShareEnum, []byte{0, 0, 0, 0}, nil, 100)
	if err != nil || string(out) != "hello, world" {
		t.Fatalf("call: %q %v", out, err)
	}
	if req := dcerpc.PDU(p.sent[1]); req.Type() != dcerpc.PacketRequest || binary.LittleEndian.Uint16(p.sent[1][22:]) != dcerpc.OpNetrShareEnum || req.CallID() != 2 {
		t.Errorf("request % x", p.sent[1])
	}
	// A reply that stops before its last fragment is a protocol error, not a hang.
	p.replies = [][][]byte{{response(3, dcerpc.FlagFirstFrag, []byte("x"))}}
	if _, err := c.call(context.Background(), opNetrShareEnum, nil, nil, 100); err == nil || !errors.Is(err, wire.ErrShort) {
		t.Errorf("truncated reply: %v", err)
	}
	c.close()
	if !p.released {
		t.Error("close did not release the pipe")
	}
}

// FuzzDecodeBindReply: any bytes as the answer to a BIND of n contexts decode to an outcome or
// an error, never a panic, and never more results than contexts offered.
func FuzzDecodeBindReply(f *testing.F) {
	f.Add(bindAck(1, [2]uint16{0, 0}), 1)
	f.Add(bindAck(1, [2]uint16{2, 1}, [2]uint16{0, 0}), 2)
	f.Add([]byte{5, 0, 13, 3, 0x10, 0, 0, 0, 18, 0, 0, 0, 1, 0, 0, 0, 4, 0}, 1)
	if b, err := os.ReadFile("../wire/dcerpc/testdata/samba-4.17-bind-ack.bin"); err == nil {
		f.Add(b, 1)
	}
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		n = n&3 + 1
		o, err := decodeBindReply(b, n)
		if err != nil {
			return
		}
		if len(o.Results) > n || (o.Nak && len(o.Results) != 0) {
			t.Fatalf("outcome %+v for %d contexts", o, n)
		}
		for i := range n + 1 {
			_ = o.describe(i)
			_ = o.accepted(i)
		}
	})
}

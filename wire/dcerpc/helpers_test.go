package dcerpc

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

// Test-side builders. They follow the C706/MS-SRVS layouts independently of the package's
// encoders, so that encoders and decoders are checked against each other.

var le = binary.LittleEndian

// buildPDU returns a PDU: the common header (little-endian drep, auth_length 0) and body.
func buildPDU(t PacketType, flags uint8, callID uint32, body []byte) []byte {
	b := []byte{5, 0, byte(t), flags, 0x10, 0, 0, 0}
	b = le.AppendUint16(b, uint16(HeaderSize+len(body)))
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, callID)
	return append(b, body...)
}

// withAuth appends a sec_trailer (auth_pad_length pad) and an auth_value of n bytes to pdu,
// after pad bytes of padding, and fixes frag_length and auth_length.
func withAuth(pdu []byte, pad, n int) []byte {
	for range pad {
		pdu = append(pdu, 0xaa)
	}
	pdu = append(pdu, 10, 2, byte(pad), 0, 1, 0, 0, 0) // NTLMSSP, connect level, pad, ctx 1
	for range n {
		pdu = append(pdu, 0xbb)
	}
	le.PutUint16(pdu[8:], uint16(len(pdu)))
	le.PutUint16(pdu[10:], uint16(n))
	return pdu
}

func appendSyntax(b []byte, s SyntaxID) []byte {
	u := s.UUID
	b = append(b, u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6])
	b = append(b, u[8:]...)
	b = le.AppendUint16(b, s.Major)
	return le.AppendUint16(b, s.Minor)
}

// buildBindAck returns a BIND_ACK with the given secondary address (sent with its NUL unless
// empty) and results.
func buildBindAck(callID uint32, secAddr string, results []ContextResult) []byte {
	body := le.AppendUint16(nil, 4280)
	body = le.AppendUint16(body, 4280)
	body = le.AppendUint32(body, 0x1234)
	if secAddr == "" {
		body = le.AppendUint16(body, 0)
	} else {
		body = le.AppendUint16(body, uint16(len(secAddr)+1))
		body = append(body, secAddr...)
		body = append(body, 0)
	}
	for (HeaderSize+len(body))%4 != 0 {
		body = append(body, 0)
	}
	body = append(body, byte(len(results)), 0, 0, 0)
	for _, r := range results {
		body = le.AppendUint16(body, r.Result)
		body = le.AppendUint16(body, r.Reason)
		body = appendSyntax(body, r.TransferSyntax)
	}
	return buildPDU(PacketBindAck, FlagFirstFrag|FlagLastFrag, callID, body)
}

// buildResponse returns a RESPONSE fragment carrying stub.
func buildResponse(callID uint32, flags uint8, allocHint uint32, stub []byte) []byte {
	body := le.AppendUint32(nil, allocHint)
	body = le.AppendUint16(body, 0)
	body = append(body, 0, 0)
	return buildPDU(PacketResponse, flags, callID, append(body, stub...))
}

// buildFault returns a FAULT PDU with status.
func buildFault(callID, status uint32) []byte {
	body := le.AppendUint32(nil, 0)
	body = le.AppendUint16(body, 0)
	body = append(body, 0, 0)
	body = le.AppendUint32(body, status)
	body = le.AppendUint32(body, 0)
	return buildPDU(PacketFault, FlagFirstFrag|FlagLastFrag|FlagDidNotExecute, callID, body)
}

// tshare is a share for buildShareEnum; nil name or remark is a NULL pointer.
type tshare struct {
	name, remark *string
	typ          uint32
}

func sp(s string) *string { return &s }

// shareEnumStub describes a NetrShareEnum response stub for buildShareEnum.
type shareEnumStub struct {
	level         uint32
	nullContainer bool
	nullBuffer    bool
	shares        []tshare
	total         uint32
	resume        *uint32
	werr          uint32
}

func appendWString(b []byte, s string) []byte {
	u := wire.AppendUTF16LE(nil, s)
	u = append(u, 0, 0)
	n := uint32(len(u) / 2)
	b = le.AppendUint32(b, n)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, n)
	b = append(b, u...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// buildShareEnum marshals s as NDR20 the way MS-SRVS 3.1.4.8 lays it out.
func buildShareEnum(s shareEnumStub) []byte {
	b := le.AppendUint32(nil, s.level)
	b = le.AppendUint32(b, s.level)
	if s.nullContainer {
		b = le.AppendUint32(b, 0)
	} else {
		b = le.AppendUint32(b, 0x00020000)
		b = le.AppendUint32(b, uint32(len(s.shares)))
		if s.nullBuffer {
			b = le.AppendUint32(b, 0)
		} else {
			b = le.AppendUint32(b, 0x00020004)
			b = le.AppendUint32(b, uint32(len(s.shares)))
			ref := uint32(0x00020008)
			ptr := func(p *string) {
				if p == nil {
					b = le.AppendUint32(b, 0)
					return
				}
				b = le.AppendUint32(b, ref)
				ref += 4
			}
			for _, sh := range s.shares {
				ptr(sh.name)
				b = le.AppendUint32(b, sh.typ)
				ptr(sh.remark)
			}
			for _, sh := range s.shares {
				if sh.name != nil {
					b = appendWString(b, *sh.name)
				}
				if sh.remark != nil {
					b = appendWString(b, *sh.remark)
				}
			}
		}
	}
	b = le.AppendUint32(b, s.total)
	if s.resume == nil {
		b = le.AppendUint32(b, 0)
	} else {
		b = le.AppendUint32(b, 0x00030000)
		b = le.AppendUint32(b, *s.resume)
	}
	return le.AppendUint32(b, s.werr)
}

// expectTruncationsFail checks that validate rejects every proper prefix of b.
func expectTruncationsFail(t *testing.T, b []byte, validate func([]byte) error) {
	t.Helper()
	for i := range len(b) {
		if err := validate(b[:i:i]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", i, len(b))
		}
	}
}

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

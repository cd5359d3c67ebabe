package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Helpers shared by the message codec tests of this package.

// testResponse builds a whole SMB2 response message: a header for cmd followed by body.
func testResponse(cmd Command, body []byte) []byte {
	h := Header{Command: cmd, Flags: FlagServerToRedir, Credits: 1, MessageID: 7, SessionID: 0x1122334455667788}
	msg := h.AppendTo(make([]byte, 0, HeaderSize+len(body)))
	return append(msg, body...)
}

// testRequest encodes a request body after a header, as a transport would, and returns the
// whole message and the body.
func testRequest(t testing.TB, cmd Command, req interface {
	Size() int
	AppendTo([]byte) []byte
}) (msg, body []byte) {
	t.Helper()
	h := Header{Command: cmd, Credits: 1}
	msg = h.AppendTo(nil)
	msg = req.AppendTo(msg)
	body = msg[HeaderSize:]
	if len(body) != req.Size() {
		t.Fatalf("Size() = %d, AppendTo wrote %d bytes", req.Size(), len(body))
	}
	// Appending after existing bytes must give the same encoding (offsets are body-relative).
	prefixed := req.AppendTo([]byte("prefix!"))
	if !bytes.Equal(prefixed[7:], body) {
		t.Fatalf("AppendTo after a 7-byte prefix differs from AppendTo after the header")
	}
	return msg, body
}

// expectTruncationsFail checks validate fails, without panicking, on every proper prefix of msg.
func expectTruncationsFail(t *testing.T, msg []byte, validate func([]byte) error) {
	t.Helper()
	for n := 0; n < len(msg); n++ {
		// Copy so that a read past len (but within cap) would be caught by the race/asan
		// tooling and never silently succeed.
		p := append([]byte(nil), msg[:n]...)
		if err := validate(p); err == nil {
			t.Fatalf("validate accepted a message truncated to %d of %d bytes", n, len(msg))
		}
	}
	if err := validate(msg); err != nil {
		t.Fatalf("validate rejected the whole message: %v", err)
	}
}

// expectErr fails unless err wraps target.
func expectErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func le16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func le64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

// negResp describes a NEGOTIATE response for the tests to build.
type negResp struct {
	secMode                  uint16
	dialect                  Dialect
	guid                     GUID
	caps                     uint32
	maxTransact, maxR, maxW  uint32
	systemTime, startTime    uint64
	secBuf                   []byte
	contexts                 []NegotiateContext
	countOverride            int // if non-zero, NegotiateContextCount to write
	ctxOffOverride           int // if non-zero, NegotiateContextOffset to write
	secOffOverride           int // if non-zero, SecurityBufferOffset to write
	padLastContextTo8        bool
	secBufLenOverride        int
	structureSizeOverride    uint16
	wrongCommand             bool        // send it as a SESSION_SETUP response
	contextDataLenOverridden map[int]int // context index -> DataLength to write
}

func (s *negResp) build() []byte {
	le := binary.LittleEndian
	body := make([]byte, 64, 256)
	ss := uint16(65)
	if s.structureSizeOverride != 0 {
		ss = s.structureSizeOverride
	}
	le.PutUint16(body[0:], ss)
	le.PutUint16(body[2:], s.secMode)
	le.PutUint16(body[4:], uint16(s.dialect))
	copy(body[8:24], s.guid[:])
	le.PutUint32(body[24:], s.caps)
	le.PutUint32(body[28:], s.maxTransact)
	le.PutUint32(body[32:], s.maxR)
	le.PutUint32(body[36:], s.maxW)
	le.PutUint64(body[40:], s.systemTime)
	le.PutUint64(body[48:], s.startTime)
	secOff := HeaderSize + 64
	if len(s.secBuf) > 0 {
		le.PutUint16(body[56:], uint16(secOff))
	}
	if s.secOffOverride != 0 {
		le.PutUint16(body[56:], uint16(s.secOffOverride))
	}
	le.PutUint16(body[58:], uint16(len(s.secBuf)))
	if s.secBufLenOverride != 0 {
		le.PutUint16(body[58:], uint16(s.secBufLenOverride))
	}
	body = append(body, s.secBuf...)
	if len(s.contexts) > 0 {
		body = smb2AppendPad8(body, 0)
		le.PutUint32(body[60:], uint32(HeaderSize+len(body)))
		le.PutUint16(body[6:], uint16(len(s.contexts)))
		for i, c := range s.contexts {
			if i > 0 {
				body = smb2AppendPad8(body, 0)
			}
			dl := len(c.Data)
			if v, ok := s.contextDataLenOverridden[i]; ok {
				dl = v
			}
			body = le.AppendUint16(body, c.Type)
			body = le.AppendUint16(body, uint16(dl))
			body = le.AppendUint32(body, 0)
			body = append(body, c.Data...)
		}
		if s.padLastContextTo8 {
			body = smb2AppendPad8(body, 0)
		}
	}
	if s.countOverride != 0 {
		le.PutUint16(body[6:], uint16(s.countOverride))
	}
	if s.ctxOffOverride != 0 {
		le.PutUint32(body[60:], uint32(s.ctxOffOverride))
	}
	cmd := CmdNegotiate
	if s.wrongCommand {
		cmd = CmdSessionSetup
	}
	return testResponse(cmd, body)
}

func ctxData(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case uint16:
			b = binary.LittleEndian.AppendUint16(b, v)
		case uint32:
			b = binary.LittleEndian.AppendUint32(b, v)
		case []byte:
			b = append(b, v...)
		default:
			panic("ctxData: unsupported part")
		}
	}
	return b
}

var testGUID = GUID{0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}

func fullNegResp() *negResp {
	salt := bytes.Repeat([]byte{0x5a}, 32)
	return &negResp{
		secMode: NegotiateSigningEnabled | NegotiateSigningRequired, dialect: Dialect311, guid: testGUID,
		caps: CapDFS | CapLeasing | CapLargeMTU | CapEncryption, maxTransact: 8 << 20, maxR: 8 << 20, maxW: 4 << 20,
		systemTime: 133000000000000000, startTime: 0,
		secBuf: []byte("\x60\x48\x06\x06\x2b\x06\x01\x05\x05\x02 spnego-ish"),
		contexts: []NegotiateContext{
			{NegotiateContextPreauthIntegrity, ctxData(uint16(1), uint16(32), HashSHA512, salt)},
			{NegotiateContextEncryption, ctxData(uint16(1), CipherAES256GCM)},
			{NegotiateContextSigning, ctxData(uint16(1), SigningAESGMAC)},
			{NegotiateContextCompression, ctxData(uint16(2), uint16(0), CompressionFlagChained, CompressionLZ77, CompressionPatternV1)},
			{NegotiateContextRDMATransform, ctxData(uint16(1), uint16(0), uint32(0), RDMATransformEncryption)},
			{NegotiateContextTransport, ctxData(TransportAcceptTransportLevelSecurity)},
			{NegotiateContextPOSIX, bytes.Repeat([]byte{0x93}, 16)},
		},
	}
}

func TestDialectString(t *testing.T) {
	for d, want := range map[Dialect]string{
		Dialect202: "2.0.2", Dialect210: "2.1", Dialect300: "3.0", Dialect302: "3.0.2", Dialect311: "3.1.1",
		DialectWildcard: "2.???", 0x0222: "0x0222", 0: "0x0000",
	} {
		if got := d.String(); got != want {
			t.Errorf("Dialect(0x%04x).String() = %q, want %q", uint16(d), got, want)
		}
	}
}

func TestGUIDString(t *testing.T) {
	// MS-DTYP 2.3.4: Data1..Data3 little-endian on the wire, Data4 in byte order.
	if got, want := testGUID.String(), "12345678-9abc-def0-0123-456789abcdef"; got != want {
		t.Fatalf("GUID.String() = %q, want %q", got, want)
	}
	if got := (GUID{}).String(); got != "00000000-0000-0000-0000-000000000000" {
		t.Fatalf("zero GUID = %q", got)
	}
	if !(GUID{}).IsZero() || testGUID.IsZero() {
		t.Fatal("IsZero wrong")
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = AppendGUID(buf[:0], testGUID) }); n != 0 {
		t.Fatalf("AppendGUID allocates %v times", n)
	}
}

// parsedNegotiateRequest is a test-only decoder of the NEGOTIATE request (MS-SMB2 2.2.3).
type parsedNegotiateRequest struct {
	dialects    []Dialect
	secMode     uint16
	caps        uint32
	guid        GUID
	ctxOff      uint32
	ctxCount    int
	startTime   uint64
	contexts    []NegotiateContext
	ctxOffsets  []int
	hashes      []uint16
	salt        []byte
	ciphers     []uint16
	signing     []uint16
	compression []uint16
	compFlags   uint32
	netname     string
	end         int // offset just past the last context
}

func listOf(l Uint16List) []uint16 {
	out := make([]uint16, l.Len())
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}

func parseNegotiateRequest(t *testing.T, msg []byte) parsedNegotiateRequest {
	t.Helper()
	b := msg[HeaderSize:]
	if s := le16(b, 0); s != 36 {
		t.Fatalf("StructureSize %d", s)
	}
	var p parsedNegotiateRequest
	n := int(le16(b, 2))
	p.secMode = le16(b, 4)
	if r := le16(b, 6); r != 0 {
		t.Fatalf("Reserved %d", r)
	}
	p.caps = le32(b, 8)
	copy(p.guid[:], b[12:28])
	p.ctxOff = le32(b, 28)
	p.ctxCount = int(le16(b, 32))
	p.startTime = le64(b, 28)
	for i := 0; i < n; i++ {
		p.dialects = append(p.dialects, Dialect(le16(b, 36+2*i)))
	}
	if p.ctxCount == 0 {
		return p
	}
	// Walk the list by hand (independently of NegotiateContextIter): every context must start
	// 8-byte aligned right after the previous one.
	off := int(p.ctxOff)
	for i := 0; i < p.ctxCount; i++ {
		if i > 0 {
			off = smb2Align8(off)
		}
		if off+8 > len(msg) {
			t.Fatalf("context %d header at %d past the end (%d)", i, off, len(msg))
		}
		dl := int(le16(msg, off+2))
		if off+8+dl > len(msg) {
			t.Fatalf("context %d data past the end", i)
		}
		c := NegotiateContext{Type: le16(msg, off), Data: msg[off+8 : off+8+dl]}
		p.contexts = append(p.contexts, c)
		p.ctxOffsets = append(p.ctxOffsets, off)
		off += 8 + dl
		p.end = off
		switch c.Type {
		case NegotiateContextPreauthIntegrity:
			h, s, err := ParsePreauthIntegrityCapabilities(c.Data)
			if err != nil {
				t.Fatal(err)
			}
			p.hashes, p.salt = listOf(h), s
		case NegotiateContextEncryption:
			l, err := ParseEncryptionCapabilities(c.Data)
			if err != nil {
				t.Fatal(err)
			}
			p.ciphers = listOf(l)
		case NegotiateContextSigning:
			l, err := ParseSigningCapabilities(c.Data)
			if err != nil {
				t.Fatal(err)
			}
			p.signing = listOf(l)
		case NegotiateContextCompression:
			f, l, err := ParseCompressionCapabilities(c.Data)
			if err != nil {
				t.Fatal(err)
			}
			p.compFlags, p.compression = f, listOf(l)
		case NegotiateContextNetname:
			p.netname = DecodeUTF16LE(ParseNetnameContext(c.Data))
		default:
			t.Fatalf("unexpected context type 0x%04x", c.Type)
		}
	}
	return p
}

func eqList[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testSalt() (s [32]byte) {
	for i := range s {
		s[i] = byte(i * 7)
	}
	return s
}

func TestNegotiateRequestDefaultRoundTrip(t *testing.T) {
	req := DefaultNegotiateRequest(testGUID, testSalt())
	req.NetName = "fileserver.example"
	msg, body := testRequest(t, CmdNegotiate, &req)
	p := parseNegotiateRequest(t, msg)

	if !eqList(p.dialects, []Dialect{Dialect202, Dialect210, Dialect300, Dialect302, Dialect311}) {
		t.Errorf("dialects %v", p.dialects)
	}
	if p.secMode != NegotiateSigningEnabled || p.caps != req.Capabilities || p.guid != testGUID {
		t.Errorf("secMode %x caps %x guid %v", p.secMode, p.caps, p.guid)
	}
	// 36 fixed + 10 dialect bytes = 46, padded to 48, plus the header.
	if p.ctxOff != HeaderSize+48 || p.ctxOff%8 != 0 {
		t.Errorf("NegotiateContextOffset %d, want %d", p.ctxOff, HeaderSize+48)
	}
	if body[46] != 0 || body[47] != 0 {
		t.Errorf("padding before the context list is not zero")
	}
	if p.ctxCount != 5 || len(p.contexts) != 5 {
		t.Fatalf("context count %d, decoded %d", p.ctxCount, len(p.contexts))
	}
	wantTypes := []uint16{NegotiateContextPreauthIntegrity, NegotiateContextEncryption, NegotiateContextSigning,
		NegotiateContextCompression, NegotiateContextNetname}
	for i, c := range p.contexts {
		if c.Type != wantTypes[i] {
			t.Errorf("context %d type 0x%04x, want 0x%04x", i, c.Type, wantTypes[i])
		}
		if p.ctxOffsets[i]%8 != 0 {
			t.Errorf("context %d at offset %d, not 8-byte aligned", i, p.ctxOffsets[i])
		}
	}
	salt := testSalt()
	if !eqList(p.hashes, []uint16{HashSHA512}) || !bytes.Equal(p.salt, salt[:]) {
		t.Errorf("preauth hashes %v salt %x", p.hashes, p.salt)
	}
	if !eqList(p.ciphers, []uint16{CipherAES128GCM, CipherAES128CCM, CipherAES256GCM, CipherAES256CCM}) {
		t.Errorf("ciphers %v", p.ciphers)
	}
	if !eqList(p.signing, []uint16{SigningAESGMAC, SigningAESCMAC, SigningHMACSHA256}) {
		t.Errorf("signing %v", p.signing)
	}
	if !eqList(p.compression, []uint16{CompressionLZNT1, CompressionLZ77, CompressionLZ77Huffman, CompressionPatternV1}) || p.compFlags != 0 {
		t.Errorf("compression %v flags %d", p.compression, p.compFlags)
	}
	if p.netname != "fileserver.example" {
		t.Errorf("netname %q", p.netname)
	}
	// No padding after the last context.
	if p.end != len(msg) {
		t.Errorf("last context ends at %d, message at %d", p.end, len(msg))
	}
}

func TestNegotiateRequestFieldOffsets(t *testing.T) {
	req := NegotiateRequest{
		Dialects: []Dialect{Dialect311}, SecurityMode: NegotiateSigningRequired, Capabilities: 0xa5a5a5a5,
		ClientGUID: testGUID, Salt: testSalt(), Ciphers: []uint16{CipherAES128CCM},
	}
	_, b := testRequest(t, CmdNegotiate, &req)
	// MS-SMB2 2.2.3 offsets within the body.
	checks := []struct {
		name string
		off  int
		got  uint64
		want uint64
	}{
		{"StructureSize", 0, uint64(le16(b, 0)), 36},
		{"DialectCount", 2, uint64(le16(b, 2)), 1},
		{"SecurityMode", 4, uint64(le16(b, 4)), uint64(NegotiateSigningRequired)},
		{"Capabilities", 8, uint64(le32(b, 8)), 0xa5a5a5a5},
		{"NegotiateContextOffset", 28, uint64(le32(b, 28)), HeaderSize + 40},
		{"NegotiateContextCount", 32, uint64(le16(b, 32)), 2},
		{"Dialects[0]", 36, uint64(le16(b, 36)), 0x0311},
		// first context at body offset 40: type, length, then data
		{"ctx0 type", 40, uint64(le16(b, 40)), 1},
		{"ctx0 DataLength", 42, uint64(le16(b, 42)), 38},
		{"ctx0 HashAlgorithmCount", 48, uint64(le16(b, 48)), 1},
		{"ctx0 SaltLength", 50, uint64(le16(b, 50)), 32},
		{"ctx0 HashAlgorithms[0]", 52, uint64(le16(b, 52)), 1},
		// 40+8+38 = 86 -> next context at 88
		{"ctx1 type", 88, uint64(le16(b, 88)), 2},
		{"ctx1 DataLength", 90, uint64(le16(b, 90)), 4},
		{"ctx1 CipherCount", 96, uint64(le16(b, 96)), 1},
		{"ctx1 Ciphers[0]", 98, uint64(le16(b, 98)), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s at body offset %d = %#x, want %#x", c.name, c.off, c.got, c.want)
		}
	}
	if !bytes.Equal(b[12:28], testGUID[:]) {
		t.Errorf("ClientGuid at 12..28 = %x", b[12:28])
	}
	if len(b) != 100 {
		t.Errorf("body %d bytes, want 100", len(b))
	}
}

func TestNegotiateRequestWithout311(t *testing.T) {
	for _, dialects := range [][]Dialect{{Dialect202}, {Dialect300, Dialect302}, nil} {
		req := DefaultNegotiateRequest(testGUID, testSalt())
		req.Dialects = dialects
		req.NetName = "ignored"
		msg, b := testRequest(t, CmdNegotiate, &req)
		if len(b) != 36+2*len(dialects) {
			t.Fatalf("%v: body %d bytes", dialects, len(b))
		}
		p := parseNegotiateRequest(t, msg)
		if p.startTime != 0 || len(p.contexts) != 0 || !eqList(p.dialects, dialects) {
			t.Fatalf("%v: start time %d, %d contexts, dialects %v", dialects, p.startTime, len(p.contexts), p.dialects)
		}
	}
}

func TestNegotiateRequestSingleDialectSingleCipher(t *testing.T) {
	for _, cipher := range []uint16{CipherAES128CCM, CipherAES128GCM, CipherAES256CCM, CipherAES256GCM} {
		req := DefaultNegotiateRequest(testGUID, testSalt())
		req.Dialects = req.Dialects[4:5]
		req.Ciphers = []uint16{cipher}
		req.SigningAlgorithms = nil
		req.CompressionAlgorithms = nil
		msg, _ := testRequest(t, CmdNegotiate, &req)
		p := parseNegotiateRequest(t, msg)
		if !eqList(p.dialects, []Dialect{Dialect311}) || !eqList(p.ciphers, []uint16{cipher}) {
			t.Fatalf("dialects %v ciphers %v", p.dialects, p.ciphers)
		}
		if len(p.contexts) != 2 || p.signing != nil || p.compression != nil {
			t.Fatalf("contexts %d signing %v compression %v", len(p.contexts), p.signing, p.compression)
		}
	}
}

func TestNegotiateRequestDefaultsAreIndependent(t *testing.T) {
	a := DefaultNegotiateRequest(testGUID, testSalt())
	a.Ciphers[0] = 0x7777
	a.Dialects[0] = 0x0999
	b := DefaultNegotiateRequest(testGUID, testSalt())
	if b.Ciphers[0] != CipherAES128GCM || b.Dialects[0] != Dialect202 {
		t.Fatal("DefaultNegotiateRequest shares list storage between calls")
	}
}

func TestNegotiateRequestCaps(t *testing.T) {
	req := DefaultNegotiateRequest(testGUID, testSalt())
	many := make([]uint16, 100)
	req.Ciphers = many
	req.NetName = strings.Repeat("\U0001F600", 200) // 800 UTF-16 bytes
	msg, _ := testRequest(t, CmdNegotiate, &req)
	p := parseNegotiateRequest(t, msg)
	if len(p.ciphers) != MaxNegotiateListLen {
		t.Errorf("ciphers %d, want capped to %d", len(p.ciphers), MaxNegotiateListLen)
	}
	if got := UTF16Len(p.netname); got > MaxNetNameBytes || got != 512 || strings.ContainsRune(p.netname, '\uFFFD') {
		t.Errorf("netname cut to %d bytes (%q...)", got, p.netname[:8])
	}
}

func TestNegotiateRequestAllocs(t *testing.T) {
	req := DefaultNegotiateRequest(testGUID, testSalt())
	req.NetName = "server"
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(200, func() { buf = req.AppendTo(buf[:0]); _ = req.Size() }); n != 0 {
		t.Fatalf("NegotiateRequest encode allocates %v times", n)
	}
}

func TestNegotiateResponseAccessors(t *testing.T) {
	spec := fullNegResp()
	r := NegotiateResponse(spec.build())
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.SecurityMode() != 3 || !r.SigningEnabled() || !r.SigningRequired() {
		t.Errorf("security mode %d", r.SecurityMode())
	}
	if r.DialectRevision() != Dialect311 || r.NegotiateContextCount() != 7 {
		t.Errorf("dialect %v count %d", r.DialectRevision(), r.NegotiateContextCount())
	}
	if r.ServerGUID() != testGUID || r.Capabilities() != spec.caps {
		t.Errorf("guid %v caps %x", r.ServerGUID(), r.Capabilities())
	}
	if r.MaxTransactSize() != spec.maxTransact || r.MaxReadSize() != spec.maxR || r.MaxWriteSize() != spec.maxW {
		t.Errorf("max sizes %d %d %d", r.MaxTransactSize(), r.MaxReadSize(), r.MaxWriteSize())
	}
	if r.SystemTime() != spec.systemTime || r.ServerStartTime() != 0 {
		t.Errorf("times %d %d", r.SystemTime(), r.ServerStartTime())
	}
	if _, ok := FiletimeToTime(r.ServerStartTime()); ok {
		t.Errorf("a zero ServerStartTime must convert as unknown")
	}
	if !bytes.Equal(r.SecurityBuffer(), spec.secBuf) {
		t.Errorf("security buffer %q", r.SecurityBuffer())
	}
	var c NegotiateContexts
	if err := r.Contexts(&c); err != nil {
		t.Fatal(err)
	}
	for _, ty := range []uint16{NegotiateContextPreauthIntegrity, NegotiateContextEncryption, NegotiateContextSigning,
		NegotiateContextCompression, NegotiateContextRDMATransform, NegotiateContextTransport} {
		if !c.Has(ty) {
			t.Errorf("context %s not recorded", NegotiateContextTypeName(ty))
		}
	}
	if c.Has(NegotiateContextNetname) || c.Has(NegotiateContextPOSIX) || c.Unknown != 1 {
		t.Errorf("present %b unknown %d", c.Present, c.Unknown)
	}
	if c.PreauthHash != HashSHA512 || c.PreauthSaltLen != 32 || c.Cipher != CipherAES256GCM || c.SigningAlgorithm != SigningAESGMAC {
		t.Errorf("preauth %d/%d cipher %d signing %d", c.PreauthHash, c.PreauthSaltLen, c.Cipher, c.SigningAlgorithm)
	}
	if c.CompressionFlags != CompressionFlagChained || c.NCompression != 2 || c.Compression[0] != CompressionLZ77 || c.Compression[1] != CompressionPatternV1 {
		t.Errorf("compression %x %v", c.CompressionFlags, c.Compression[:c.NCompression])
	}
	if c.NRDMATransforms != 1 || c.RDMATransforms[0] != RDMATransformEncryption || c.TransportFlags != 1 {
		t.Errorf("rdma %v transport %x", c.RDMATransforms[:c.NRDMATransforms], c.TransportFlags)
	}
	// The iterator yields the contexts in order, POSIX included.
	it := r.ContextList()
	var nc NegotiateContext
	var types []uint16
	for it.Next(&nc) {
		types = append(types, nc.Type)
	}
	if it.Err() != nil || len(types) != 7 || types[6] != NegotiateContextPOSIX {
		t.Errorf("iterated %v, err %v", types, it.Err())
	}
}

func TestNegotiateResponseTrailingPadTolerated(t *testing.T) {
	spec := fullNegResp()
	spec.padLastContextTo8 = true
	if err := NegotiateResponse(spec.build()).Validate(); err != nil {
		t.Fatal(err)
	}
	spec.padLastContextTo8 = false
	spec.contexts = spec.contexts[:1] // ends unaligned (8+38 bytes)
	r := NegotiateResponse(spec.build())
	if len(r)%8 == 0 {
		t.Fatal("test message unexpectedly aligned")
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestNegotiateResponseOlderDialect(t *testing.T) {
	spec := fullNegResp()
	spec.dialect = Dialect210
	spec.contexts = nil
	spec.countOverride = 0xffff // Reserved before 3.1.1: ignored
	spec.ctxOffOverride = 0x7fffffff
	r := NegotiateResponse(spec.build())
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	var c NegotiateContexts
	c.Present = 0xff
	if err := r.Contexts(&c); err != nil || c.Present != 0 {
		t.Fatalf("contexts of 2.1: %v, present %b", err, c.Present)
	}
	// No security buffer at all is fine too.
	spec.secBuf = nil
	if err := NegotiateResponse(spec.build()).Validate(); err != nil || NegotiateResponse(spec.build()).SecurityBuffer() != nil {
		t.Fatal("empty security buffer rejected or not nil")
	}
}

func TestNegotiateResponseTruncated(t *testing.T) {
	expectTruncationsFail(t, fullNegResp().build(), func(b []byte) error { return NegotiateResponse(b).Validate() })
}

func TestNegotiateResponseHostile(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *negResp)
		want   error
	}{
		{"context count 0xffff", func(s *negResp) { s.countOverride = 0xffff }, ErrTooLarge},
		{"context count one too many", func(s *negResp) { s.countOverride = len(s.contexts) + 1 }, ErrBadOffset},
		{"context offset past end", func(s *negResp) { s.ctxOffOverride = 0x10000 }, ErrBadOffset},
		{"context offset 0xffffffff", func(s *negResp) { s.ctxOffOverride = -1 }, ErrBadOffset},
		{"context offset inside fixed part", func(s *negResp) { s.ctxOffOverride = 100 }, ErrBadOffset},
		{"context data length past end", func(s *negResp) {
			s.contextDataLenOverridden = map[int]int{len(s.contexts) - 1: 0xffff}
		}, ErrBadOffset},
		{"security buffer offset < 128", func(s *negResp) { s.secOffOverride = 64 + 63 }, ErrBadOffset},
		{"security buffer offset 0 with length", func(s *negResp) { s.secOffOverride = 0 + 1 }, ErrBadOffset},
		{"security buffer length past end", func(s *negResp) { s.secBufLenOverride = 0xffff }, ErrBadOffset},
		{"security buffer offset past end", func(s *negResp) { s.secOffOverride = 0xfff0 }, ErrBadOffset},
		{"structure size", func(s *negResp) { s.structureSizeOverride = 9 }, ErrBadStructureSize},
		{"wrong command", func(s *negResp) { s.wrongCommand = true }, ErrBadCommand},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := fullNegResp()
			c.mutate(s)
			expectErr(t, NegotiateResponse(s.build()).Validate(), c.want, c.name)
		})
	}
	msg := fullNegResp().build()
	msg[0] = 0xff
	expectErr(t, NegotiateResponse(msg).Validate(), ErrBadProtocol, "smb1 protocol id")
	expectErr(t, NegotiateResponse(nil).Validate(), ErrShort, "nil")
}

func TestNegotiateContextDecodersHostile(t *testing.T) {
	if _, _, err := ParsePreauthIntegrityCapabilities([]byte{1, 0, 32}); !errors.Is(err, ErrShort) {
		t.Errorf("short preauth: %v", err)
	}
	if _, _, err := ParsePreauthIntegrityCapabilities(ctxData(uint16(0xffff), uint16(0), HashSHA512)); !errors.Is(err, ErrBadOffset) {
		t.Errorf("preauth hash count overflow: %v", err)
	}
	if _, _, err := ParsePreauthIntegrityCapabilities(ctxData(uint16(1), uint16(0xffff), HashSHA512)); !errors.Is(err, ErrBadOffset) {
		t.Errorf("preauth salt overflow: %v", err)
	}
	if _, err := ParseEncryptionCapabilities(ctxData(uint16(2), CipherAES128GCM)); !errors.Is(err, ErrBadOffset) {
		t.Errorf("cipher count overflow: %v", err)
	}
	if _, err := ParseEncryptionCapabilities([]byte{1}); !errors.Is(err, ErrShort) {
		t.Errorf("short encryption: %v", err)
	}
	if _, err := ParseSigningCapabilities(ctxData(uint16(3))); !errors.Is(err, ErrBadOffset) {
		t.Errorf("signing overflow: %v", err)
	}
	if _, _, err := ParseCompressionCapabilities(ctxData(uint16(1), uint16(0), uint32(0))); !errors.Is(err, ErrBadOffset) {
		t.Errorf("compression overflow: %v", err)
	}
	if _, err := ParseRDMATransformCapabilities(ctxData(uint16(1), uint16(0))); !errors.Is(err, ErrShort) {
		t.Errorf("rdma short: %v", err)
	}
	if _, err := ParseTransportCapabilities([]byte{1, 0}); !errors.Is(err, ErrShort) {
		t.Errorf("transport short: %v", err)
	}
	if got := ParseNetnameContext([]byte{'a', 0, 'b', 0, 0, 0, 9}); string(got) != "a\x00b\x00" {
		t.Errorf("netname %q", got)
	}
	// A malformed known context makes Contexts fail, while Validate (framing only) passes.
	s := fullNegResp()
	s.contexts[1].Data = ctxData(uint16(5), CipherAES128GCM)
	r := NegotiateResponse(s.build())
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	var c NegotiateContexts
	expectErr(t, r.Contexts(&c), ErrBadOffset, "bad cipher count")
}

func TestNegotiateContextsFirstWinsAndCaps(t *testing.T) {
	s := fullNegResp()
	many := []any{uint16(12), uint16(0), uint32(0)}
	for i := 0; i < 12; i++ {
		many = append(many, uint16(i))
	}
	s.contexts = []NegotiateContext{
		{NegotiateContextEncryption, ctxData(uint16(1), CipherAES128CCM)},
		{NegotiateContextEncryption, ctxData(uint16(1), CipherAES256GCM)},
		{NegotiateContextCompression, ctxData(many...)},
		{NegotiateContextEncryption, ctxData(uint16(0))},
	}
	r := NegotiateResponse(s.build())
	var c NegotiateContexts
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := r.Contexts(&c); err != nil {
		t.Fatal(err)
	}
	if c.Cipher != CipherAES128CCM || c.NCompression != 8 || c.Compression[7] != 7 {
		t.Fatalf("cipher %d compression %v", c.Cipher, c.Compression[:c.NCompression])
	}
}

func TestNegotiateResponseAllocs(t *testing.T) {
	r := NegotiateResponse(fullNegResp().build())
	var c NegotiateContexts
	var sink uint64
	n := testing.AllocsPerRun(200, func() {
		if r.Validate() != nil {
			panic("invalid")
		}
		g := r.ServerGUID()
		sink += uint64(r.SecurityMode()) + uint64(r.DialectRevision()) + uint64(g[0]) + uint64(r.Capabilities()) +
			uint64(r.MaxTransactSize()) + uint64(r.MaxReadSize()) + uint64(r.MaxWriteSize()) + r.SystemTime() +
			r.ServerStartTime() + uint64(len(r.SecurityBuffer())) + uint64(r.NegotiateContextCount())
		if r.Contexts(&c) != nil {
			panic("contexts")
		}
	})
	if n != 0 {
		t.Fatalf("NegotiateResponse decode allocates %v times", n)
	}
	_ = sink
}

func BenchmarkNegotiateRequestAppend(b *testing.B) {
	req := DefaultNegotiateRequest(testGUID, testSalt())
	req.NetName = "fileserver"
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = req.AppendTo(buf[:0])
	}
}

func BenchmarkNegotiateResponseDecode(b *testing.B) {
	r := NegotiateResponse(fullNegResp().build())
	var c NegotiateContexts
	b.ReportAllocs()
	for b.Loop() {
		if r.Validate() != nil || r.Contexts(&c) != nil {
			b.Fatal("invalid")
		}
	}
}

func FuzzNegotiateResponse(f *testing.F) {
	f.Add(fullNegResp().build())
	s := fullNegResp()
	s.dialect = Dialect302
	s.contexts = nil
	f.Add(s.build())
	s = fullNegResp()
	s.padLastContextTo8 = true
	f.Add(s.build())
	for _, name := range []string{"samba-4.17-negotiate-311.bin", "samba-4.17-negotiate-210.bin"} {
		if raw, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NegotiateResponse(data)
		if r.Validate() != nil {
			return
		}
		_ = r.SecurityMode() + uint16(r.DialectRevision()) + r.NegotiateContextCount()
		_ = r.ServerGUID().String()
		_ = r.Capabilities() + r.MaxTransactSize() + r.MaxReadSize() + r.MaxWriteSize()
		_ = r.SystemTime() + r.ServerStartTime()
		sb := r.SecurityBuffer()
		if len(sb) != int(le16(data, HeaderSize+58)) {
			t.Fatalf("security buffer %d bytes, field says %d", len(sb), le16(data, HeaderSize+58))
		}
		var c NegotiateContexts
		_ = r.Contexts(&c)
		if c.NCompression > len(c.Compression) || c.NRDMATransforms > len(c.RDMATransforms) {
			t.Fatal("counts exceed arrays")
		}
		it := r.ContextList()
		var nc NegotiateContext
		n := 0
		for it.Next(&nc) {
			n++
			_, _, _ = ParsePreauthIntegrityCapabilities(nc.Data)
			_, _ = ParseEncryptionCapabilities(nc.Data)
			_, _ = ParseSigningCapabilities(nc.Data)
			_, _, _ = ParseCompressionCapabilities(nc.Data)
			_, _ = ParseRDMATransformCapabilities(nc.Data)
			_, _ = ParseTransportCapabilities(nc.Data)
			_ = ParseNetnameContext(nc.Data)
		}
		if it.Err() != nil {
			t.Fatalf("Validate passed but iteration failed: %v", it.Err())
		}
		if r.DialectRevision() == Dialect311 && n != int(r.NegotiateContextCount()) {
			t.Fatalf("iterated %d of %d contexts", n, r.NegotiateContextCount())
		}
	})
}

func TestNegotiateResponseSambaGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "samba-4.17-negotiate-311.bin"))
	if err != nil {
		t.Fatal(err)
	}
	r := NegotiateResponse(raw)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	var h Header
	if err := DecodeHeader(raw, &h); err != nil || h.Status != StatusSuccess || h.Flags&FlagServerToRedir == 0 {
		t.Fatalf("header: %v status %v flags %x", err, h.Status, h.Flags)
	}
	if r.DialectRevision() != Dialect311 || r.ServerGUID().IsZero() || !r.SigningEnabled() || r.SigningRequired() {
		t.Fatalf("dialect %v guid %v security mode %x", r.DialectRevision(), r.ServerGUID(), r.SecurityMode())
	}
	// Samba 4.17 fills the GUID with its lower-cased NetBIOS name.
	if g := r.ServerGUID(); !bytes.HasPrefix(g[:], []byte("smbsweepneg")) {
		t.Errorf("server GUID %x", g[:])
	}
	if names := CapabilityNames(nil, r.Capabilities()); !slices.Equal(names, []string{"DFS", "LEASING", "LARGE_MTU"}) {
		t.Errorf("capabilities %v", names)
	}
	if r.MaxReadSize() != 8<<20 || r.MaxWriteSize() != 8<<20 || r.MaxTransactSize() != 8<<20 {
		t.Errorf("max sizes %d %d %d", r.MaxTransactSize(), r.MaxReadSize(), r.MaxWriteSize())
	}
	if _, ok := FiletimeToTime(r.SystemTime()); !ok {
		t.Errorf("system time %d", r.SystemTime())
	}
	if _, ok := FiletimeToTime(r.ServerStartTime()); ok {
		t.Errorf("Samba sends ServerStartTime 0, got %d", r.ServerStartTime())
	}
	if sb := r.SecurityBuffer(); len(sb) != 74 || sb[0] != 0x60 {
		t.Errorf("security buffer %d bytes", len(sb))
	}
	var c NegotiateContexts
	if err := r.Contexts(&c); err != nil {
		t.Fatal(err)
	}
	if !c.Has(NegotiateContextPreauthIntegrity) || HashAlgorithmName(c.PreauthHash) != "SHA-512" || c.PreauthSaltLen != 32 {
		t.Errorf("preauth %v hash %d salt %d", c.Has(NegotiateContextPreauthIntegrity), c.PreauthHash, c.PreauthSaltLen)
	}
	offered := DefaultNegotiateRequest(GUID{}, [32]byte{})
	if !c.Has(NegotiateContextEncryption) || !slices.Contains(offered.Ciphers, c.Cipher) {
		t.Errorf("cipher %s not among those offered", CipherName(c.Cipher))
	}
	if c.Cipher != CipherAES128GCM || !c.Has(NegotiateContextSigning) || c.SigningAlgorithm != SigningAESGMAC {
		t.Errorf("cipher %s signing %s", CipherName(c.Cipher), SigningAlgorithmName(c.SigningAlgorithm))
	}
	if c.Has(NegotiateContextCompression) || c.Unknown != 0 || r.NegotiateContextCount() != 3 {
		t.Errorf("present %b unknown %d count %d", c.Present, c.Unknown, r.NegotiateContextCount())
	}

	raw, err = os.ReadFile(filepath.Join("testdata", "samba-4.17-negotiate-210.bin"))
	if err != nil {
		t.Fatal(err)
	}
	r = NegotiateResponse(raw)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.DialectRevision() != Dialect210 || r.DialectRevision().String() != "2.1" || r.Contexts(&c) != nil || c.Present != 0 {
		t.Fatalf("2.1 reply: dialect %v contexts %b", r.DialectRevision(), c.Present)
	}
}

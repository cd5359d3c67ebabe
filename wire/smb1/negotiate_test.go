package smb1

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smbsweep/smbsweep/wire"
)

// parseDialects reads a NEGOTIATE request body back into its dialect strings, independently
// of the encoder, following MS-CIFS 2.2.4.52.1.
func parseDialects(t *testing.T, body []byte) []string {
	t.Helper()
	if len(body) < 3 || body[0] != 0 {
		t.Fatalf("body % x: want WordCount 0 and a ByteCount", body)
	}
	bc := int(binary.LittleEndian.Uint16(body[1:]))
	if bc != len(body)-3 {
		t.Fatalf("ByteCount %d, %d bytes follow", bc, len(body)-3)
	}
	var out []string
	for rest := body[3:]; len(rest) > 0; {
		if rest[0] != 0x02 {
			t.Fatalf("buffer format 0x%02x", rest[0])
		}
		end := bytes.IndexByte(rest[1:], 0)
		if end < 0 {
			t.Fatalf("unterminated dialect % x", rest)
		}
		out = append(out, string(rest[1:1+end]))
		rest = rest[2+end:]
	}
	return out
}

func TestProbeNegotiate(t *testing.T) {
	msg := AppendProbeNegotiate(nil)
	if len(msg) != ProbeNegotiateSize {
		t.Fatalf("len %d, ProbeNegotiateSize %d", len(msg), ProbeNegotiateSize)
	}
	var h Header
	if err := DecodeHeader(msg, &h); err != nil {
		t.Fatal(err)
	}
	want := Header{Command: CommandNegotiate, Flags: 0x18, Flags2: 0xc801, PIDLow: 0xfeff}
	if h != want {
		t.Fatalf("header %+v, want %+v", h, want)
	}
	if h.IsReply() {
		t.Fatal("request has the reply flag")
	}
	d := parseDialects(t, msg[HeaderSize:])
	if len(d) != 1 || d[0] != "NT LM 0.12" {
		t.Fatalf("dialects %q", d)
	}
	// Appends after existing content, as the transport does after the NetBIOS header.
	framed := AppendProbeNegotiate(wire.AppendNetBIOSHeader(nil, ProbeNegotiateSize))
	if !bytes.Equal(framed[wire.NetBIOSHeaderSize:], msg) {
		t.Fatal("append after a prefix changed the message")
	}
}

func TestNegotiateRequestRoundTrip(t *testing.T) {
	for _, dialects := range [][]string{
		{DialectNTLM012},
		{"PC NETWORK PROGRAM 1.0", "LANMAN1.0", "Windows for Workgroups 3.1a", "LM1.2X002", "LANMAN2.1", "NT LM 0.12"},
		{"NT LM 0.12", "SMB 2.002", "SMB 2.???"},
	} {
		r := NegotiateRequest{Dialects: dialects}
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		body := r.AppendTo([]byte("prefix"))
		if string(body[:6]) != "prefix" {
			t.Fatal("prefix overwritten")
		}
		body = body[6:]
		if len(body) != r.Size() {
			t.Fatalf("encoded %d bytes, Size %d", len(body), r.Size())
		}
		got := parseDialects(t, body)
		if strings.Join(got, "|") != strings.Join(dialects, "|") {
			t.Fatalf("got %q want %q", got, dialects)
		}
		h := NegotiateRequestHeader(3)
		msg := AppendNegotiateMessage(nil, &h, &r)
		if !bytes.Equal(msg[HeaderSize:], body) || len(msg) != HeaderSize+r.Size() {
			t.Fatal("AppendNegotiateMessage differs from header + body")
		}
	}
}

func TestNegotiateRequestValidate(t *testing.T) {
	for name, d := range map[string][]string{
		"none":      nil,
		"empty":     {""},
		"nul":       {"NT LM\x000.12"},
		"non-ascii": {"NT LM 0.12é"},
		"too long":  {strings.Repeat("x", 40000), strings.Repeat("y", 40000)},
	} {
		r := NegotiateRequest{Dialects: d}
		if err := r.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %d dialects", name, len(d))
		}
	}
}

// ntFields are the NT LAN Manager response parameters (MS-CIFS 2.2.4.52.2).
type ntFields struct {
	dialect      uint16
	securityMode byte
	maxMpx       uint16
	maxVcs       uint16
	maxBuffer    uint32
	maxRaw       uint32
	sessionKey   uint32
	caps         uint32
	systemTime   uint64
	timeZone     int16
	challengeLen byte
}

// words encodes the 34 parameter bytes, FILETIME as LowDateTime then HighDateTime.
func (f ntFields) words() []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, f.dialect)
	b = append(b, f.securityMode)
	b = le.AppendUint16(b, f.maxMpx)
	b = le.AppendUint16(b, f.maxVcs)
	b = le.AppendUint32(b, f.maxBuffer)
	b = le.AppendUint32(b, f.maxRaw)
	b = le.AppendUint32(b, f.sessionKey)
	b = le.AppendUint32(b, f.caps)
	b = le.AppendUint32(b, uint32(f.systemTime))
	b = le.AppendUint32(b, uint32(f.systemTime>>32))
	b = le.AppendUint16(b, uint16(f.timeZone))
	return append(b, f.challengeLen)
}

// buildResponse encodes a NEGOTIATE reply: header, WordCount = len(words)/2, words, ByteCount,
// data.
func buildResponse(status uint32, flags2 uint16, words, data []byte) []byte {
	h := Header{Command: CommandNegotiate, Status: Status(status), Flags: FlagsReply, Flags2: flags2, PIDLow: 0xfeff}
	b := h.AppendTo(nil)
	b = append(b, byte(len(words)/2))
	b = append(b, words...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

var testGUID = [16]byte{0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8}

func extResponse(blob []byte) ([]byte, ntFields) {
	f := ntFields{
		dialect: 0, securityMode: 0x0f, maxMpx: 50, maxVcs: 1, maxBuffer: 16644, maxRaw: 65536,
		sessionKey: 0xdeadbeef, caps: 0x8080f3fc, systemTime: 0x01dd7982f212c005, timeZone: -60,
	}
	data := append(append([]byte(nil), testGUID[:]...), blob...)
	return buildResponse(0, 0xc801, f.words(), data), f
}

func utf16z(s string) []byte { return append(wire.AppendUTF16LE(nil, s), 0, 0) }

func checkNT(t *testing.T, r NegotiateResponse, f ntFields) {
	t.Helper()
	if !r.NTLanManager() || r.WordCount() != 17 {
		t.Fatalf("word count %d", r.WordCount())
	}
	if r.DialectIndex() != f.dialect || r.SecurityMode() != f.securityMode || r.MaxMpxCount() != f.maxMpx ||
		r.MaxNumberVcs() != f.maxVcs || r.MaxBufferSize() != f.maxBuffer || r.MaxRawSize() != f.maxRaw ||
		r.SessionKey() != f.sessionKey || r.Capabilities() != f.caps || r.SystemTime() != f.systemTime ||
		r.ServerTimeZone() != f.timeZone || r.ChallengeLength() != f.challengeLen {
		t.Fatalf("fields differ: got dialect %d mode %#x mpx %d vcs %d buf %d raw %d key %#x caps %#x time %#x tz %d cl %d; want %+v",
			r.DialectIndex(), r.SecurityMode(), r.MaxMpxCount(), r.MaxNumberVcs(), r.MaxBufferSize(),
			r.MaxRawSize(), r.SessionKey(), r.Capabilities(), r.SystemTime(), r.ServerTimeZone(),
			r.ChallengeLength(), f)
	}
}

func TestNegotiateResponseExtendedRoundTrip(t *testing.T) {
	blob := []byte{0x60, 0x03, 0x06, 0x01, 0x00}
	for _, b := range [][]byte{blob, nil} {
		msg, f := extResponse(b)
		r := NegotiateResponse(msg)
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		checkNT(t, r, f)
		if !r.ExtendedSecurity() || !r.DialectAccepted() || r.Err() != nil {
			t.Fatalf("ext %v accepted %v err %v", r.ExtendedSecurity(), r.DialectAccepted(), r.Err())
		}
		if !r.SigningEnabled() || !r.SigningRequired() {
			t.Fatal("signing bits of SecurityMode 0x0f not reported")
		}
		if r.ServerGUID() != testGUID {
			t.Fatalf("guid % x", r.ServerGUID())
		}
		if !bytes.Equal(r.SecurityBlob(), b) {
			t.Fatalf("blob % x want % x", r.SecurityBlob(), b)
		}
		if r.Challenge() != nil || r.DomainName() != nil || r.ServerName() != nil {
			t.Fatal("non-extended fields reported in the extended form")
		}
	}
}

func TestNegotiateResponseNonExtended(t *testing.T) {
	challenge := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	f := ntFields{dialect: 0, securityMode: 0x03, maxMpx: 10, maxVcs: 1, maxBuffer: 4356, maxRaw: 65536,
		caps: 0x0000e3fd, systemTime: 0x01d9000000000000, timeZone: 120, challengeLen: 8}
	// An OEM server: one that does not announce CAP_UNICODE (with it, the names are UTF-16
	// whatever Flags2 says; see TestGoldenSambaNT1NonExtended).
	oem := f.caps &^ CapUnicode
	cases := []struct {
		name           string
		flags2         uint16
		data           []byte
		domain, server string
		caps           uint32 // 0: f.caps
	}{
		{"unicode unpadded", 0xc001, concat(challenge, utf16z("WORKGROUP"), utf16z("FILESRV")), "WORKGROUP", "FILESRV", 0},
		{"unicode padded", 0xc001, concat(challenge, []byte{0}, utf16z("WORKGROUP"), utf16z("FILESRV")), "WORKGROUP", "FILESRV", 0},
		{"unicode domain only", 0xc001, concat(challenge, utf16z("DOM")), "DOM", "", 0},
		{"unicode empty domain", 0xc001, concat(challenge, utf16z(""), utf16z("SRV")), "", "SRV", 0},
		{"unicode non-ascii", 0xc001, concat(challenge, utf16z("DÖMÄIN"), utf16z("サーバ")), "DÖMÄIN", "サーバ", 0},
		{"unicode unterminated", 0xc001, concat(challenge, wire.AppendUTF16LE(nil, "DOM")), "DOM", "", 0},
		{"oem", 0x4001, concat(challenge, []byte("WORKGROUP\x00FILESRV\x00")), "WORKGROUP", "FILESRV", oem},
		{"oem high bytes", 0x4001, concat(challenge, []byte("D\x99M\x00")), "D\uFFFDM", "", oem},
		{"oem unterminated", 0x4001, concat(challenge, []byte("DOM")), "DOM", "", oem},
		{"no names", 0xc001, challenge, "", "", 0},
		// Flags2 without Unicode, CAP_UNICODE announced: UTF-16 names (as Samba sends them).
		{"cap unicode, flags2 oem", 0x4001, concat(challenge, utf16z("JESSIE"), utf16z("TEST")), "JESSIE", "TEST", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := f
			if c.caps != 0 {
				f.caps = c.caps
			}
			r := NegotiateResponse(buildResponse(0, c.flags2, f.words(), c.data))
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
			checkNT(t, r, f)
			if r.ExtendedSecurity() || r.ServerGUID() != ([16]byte{}) || r.SecurityBlob() != nil {
				t.Fatal("extended fields reported in the non-extended form")
			}
			if !bytes.Equal(r.Challenge(), challenge) {
				t.Fatalf("challenge % x", r.Challenge())
			}
			if got := string(r.AppendDomainName(nil)); got != c.domain {
				t.Fatalf("domain %q want %q", got, c.domain)
			}
			if got := string(r.AppendServerName(nil)); got != c.server {
				t.Fatalf("server %q want %q", got, c.server)
			}
			if r.Unicode() != (c.flags2&Flags2Unicode != 0 || f.caps&CapUnicode != 0) {
				t.Fatalf("Unicode() %v for Flags2 %#x, capabilities %#x", r.Unicode(), c.flags2, f.caps)
			}
		})
	}
}

func concat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestNegotiateResponseOtherForms(t *testing.T) {
	// Error reply with NT status, no parameters (MS-CIFS 2.2.4.52.2: WordCount 0).
	r := NegotiateResponse(buildResponse(uint32(wire.StatusNotSupported), 0xc001, nil, nil))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Err() != wire.StatusNotSupported || r.Status().NTStatus() != wire.StatusNotSupported {
		t.Fatalf("Err %v", r.Err())
	}
	if r.DialectIndex() != NoDialect || r.DialectAccepted() || r.NTLanManager() || r.Capabilities() != 0 {
		t.Fatal("error reply reports a dialect or NT fields")
	}

	// Error reply in DOS form (ERRSRV/ERRerror) with junk parameters: still decodable.
	r = NegotiateResponse(buildResponse(0x00010002, 0x0001, []byte{1, 2, 3, 4, 5, 6}, []byte{9}))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	var de DOSError
	if !errors.As(r.Err(), &de) || de.Class != ErrClassServer || de.Code != 1 || r.DialectAccepted() {
		t.Fatalf("DOS error: %v", r.Err())
	}

	// No dialect accepted: WordCount 1, DialectIndex 0xFFFF.
	r = NegotiateResponse(buildResponse(0, 0xc003, []byte{0xff, 0xff}, nil))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.DialectIndex() != NoDialect || r.DialectAccepted() || r.Err() != nil {
		t.Fatalf("dialect %#x accepted %v", r.DialectIndex(), r.DialectAccepted())
	}

	// LAN Manager form: dialect index only, NT fields zero.
	words := make([]byte, 26)
	words[0], words[2] = 0, 0x03
	r = NegotiateResponse(buildResponse(0, 0, words, []byte("key\x00")))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.DialectIndex() != 0 || !r.DialectAccepted() || r.NTLanManager() || r.SecurityMode() != 0 ||
		r.SystemTime() != 0 || r.Challenge() != nil || r.DomainName() != nil || len(r.Bytes()) != 4 {
		t.Fatal("LAN Manager form mis-read")
	}
}

func TestNegotiateResponseHostile(t *testing.T) {
	ext, _ := extResponse([]byte{0x60, 0x00})
	nonExt := buildResponse(0, 0xc001, ntFields{challengeLen: 8}.words(), concat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, utf16z("D")))
	errReply := buildResponse(uint32(wire.StatusAccessDenied), 0xc001, nil, nil)
	noDialect := buildResponse(0, 0xc003, []byte{0xff, 0xff}, nil)

	// Truncation at every length must fail, never panic.
	for _, msg := range [][]byte{ext, nonExt, errReply, noDialect} {
		for n := 0; n < len(msg); n++ {
			if err := NegotiateResponse(msg[:n]).Validate(); err == nil {
				t.Fatalf("truncated to %d of %d bytes: Validate accepted", n, len(msg))
			}
		}
		if err := NegotiateResponse(msg).Validate(); err != nil {
			t.Fatal(err)
		}
	}

	mutate := func(msg []byte, f func(b []byte)) NegotiateResponse {
		b := append([]byte(nil), msg...)
		f(b)
		return NegotiateResponse(b)
	}
	le := binary.LittleEndian
	tests := []struct {
		name string
		r    NegotiateResponse
		want error
	}{
		{"smb2 protocol", mutate(ext, func(b []byte) { b[0] = 0xfe }), wire.ErrBadProtocol},
		{"other command", mutate(ext, func(b []byte) { b[4] = 0x73 }), wire.ErrBadCommand},
		{"no reply flag", mutate(ext, func(b []byte) { b[9] &^= FlagsReply }), wire.ErrMalformed},
		{"word count 18", mutate(ext, func(b []byte) { b[32] = 18 }), wire.ErrBadOffset},
		{"word count 16", mutate(ext, func(b []byte) { b[32] = 16 }), wire.ErrBadOffset},
		{"word count 16 in bounds", NegotiateResponse(buildResponse(0, 0xc001, make([]byte, 32), nil)), wire.ErrBadStructureSize},
		{"word count 2 in bounds", NegotiateResponse(buildResponse(0, 0xc001, make([]byte, 4), nil)), wire.ErrBadStructureSize},
		{"word count 255", mutate(ext, func(b []byte) { b[32] = 255 }), wire.ErrShort},
		{"word count 17 on short reply", mutate(noDialect, func(b []byte) { b[32] = 17 }), wire.ErrShort},
		{"word count 0 success", NegotiateResponse(buildResponse(0, 0xc001, nil, nil)), wire.ErrMalformed},
		{"byte count past end", mutate(ext, func(b []byte) { le.PutUint16(b[67:], uint16(len(b)-69+1)) }), wire.ErrBadOffset},
		{"byte count max", mutate(ext, func(b []byte) { le.PutUint16(b[67:], 0xffff) }), wire.ErrBadOffset},
		{"guid cut", mutate(ext, func(b []byte) { le.PutUint16(b[67:], 15) }), wire.ErrBadOffset},
		{"challenge length past end", mutate(nonExt, func(b []byte) { b[66] = byte(len(b) - 69 + 1) }), wire.ErrBadOffset},
		{"challenge length 255", mutate(nonExt, func(b []byte) { b[66] = 255 }), wire.ErrBadOffset},
	}
	for _, tc := range tests {
		if err := tc.r.Validate(); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}

	// A challenge that consumes all of ByteCount leaves empty names, not a panic.
	r := mutate(nonExt, func(b []byte) { b[66] = byte(le.Uint16(b[67:])) })
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.DomainName() != nil || r.ServerName() != nil || len(r.Challenge()) != int(r.ChallengeLength()) {
		t.Fatal("names after a full-length challenge")
	}
	// Trailing bytes after SMB_Data are ignored, and never reach the views.
	r = NegotiateResponse(append(append([]byte(nil), ext...), 0xaa, 0xbb))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.SecurityBlob(), []byte{0x60, 0x00}) {
		t.Fatalf("blob % x includes trailing bytes", r.SecurityBlob())
	}
}

func TestAppendString(t *testing.T) {
	if got := string(AppendString(nil, []byte{'A', 0, 0x00, 0xd8}, true)); got != "A\uFFFD" {
		t.Fatalf("unpaired surrogate: %q", got)
	}
	if got := string(AppendString(nil, []byte{'A', 0, 'B'}, true)); got != "A\uFFFD" {
		t.Fatalf("odd byte: %q", got)
	}
	if got := AppendString(nil, []byte{0x80, 'x', 0xff}, false); !utf8.Valid(got) || string(got) != "\uFFFDx\uFFFD" {
		t.Fatalf("oem: %q", got)
	}
}

func TestAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendProbeNegotiate(buf[:0]) }); n != 0 {
		t.Errorf("AppendProbeNegotiate: %v allocs", n)
	}
	h := NegotiateRequestHeader(1)
	req := NegotiateRequest{Dialects: []string{"LANMAN2.1", DialectNTLM012}}
	if n := testing.AllocsPerRun(100, func() { buf = AppendNegotiateMessage(buf[:0], &h, &req) }); n != 0 {
		t.Errorf("AppendNegotiateMessage: %v allocs", n)
	}
	var hdr Header
	if n := testing.AllocsPerRun(100, func() { _ = DecodeHeader(buf, &hdr) }); n != 0 {
		t.Errorf("DecodeHeader: %v allocs", n)
	}
	ext, _ := extResponse([]byte{0x60, 0x00})
	nonExt := buildResponse(0, 0xc001, ntFields{challengeLen: 8}.words(), concat(make([]byte, 8), utf16z("DOMAIN"), utf16z("SERVER")))
	names := make([]string, 0, 32)
	for _, msg := range [][]byte{ext, nonExt} {
		r := NegotiateResponse(msg)
		n := testing.AllocsPerRun(100, func() {
			if r.Validate() != nil {
				panic("invalid")
			}
			readAll(r)
			buf = r.AppendDomainName(buf[:0])
			buf = r.AppendServerName(buf)
			names = AppendCapabilityNames(names[:0], r.Capabilities())
		})
		if n != 0 {
			t.Errorf("Validate and accessors: %v allocs", n)
		}
	}
}

var sink uint64

// readAll calls every accessor once.
func readAll(r NegotiateResponse) {
	g := r.ServerGUID()
	sink += uint64(r.Status()) + uint64(r.Flags2()) + uint64(r.WordCount()) + uint64(len(r.Bytes())) +
		uint64(r.DialectIndex()) + uint64(r.SecurityMode()) + uint64(r.MaxMpxCount()) +
		uint64(r.MaxNumberVcs()) + uint64(r.MaxBufferSize()) + uint64(r.MaxRawSize()) +
		uint64(r.SessionKey()) + uint64(r.Capabilities()) + r.SystemTime() +
		uint64(r.ServerTimeZone()) + uint64(r.ChallengeLength()) + uint64(g[0]) +
		uint64(len(r.SecurityBlob())) + uint64(len(r.Challenge())) + uint64(len(r.DomainName())) +
		uint64(len(r.ServerName()))
	if r.DialectAccepted() || r.NTLanManager() || r.ExtendedSecurity() || r.SigningEnabled() ||
		r.SigningRequired() || r.Unicode() || r.UsesNTStatus() {
		sink++
	}
}

func BenchmarkAppendProbeNegotiate(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf = AppendProbeNegotiate(buf[:0])
	}
}

func BenchmarkDecodeHeader(b *testing.B) {
	b.ReportAllocs()
	msg, _ := extResponse(nil)
	var h Header
	for b.Loop() {
		if err := DecodeHeader(msg, &h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNegotiateResponse(b *testing.B) {
	b.ReportAllocs()
	msg, _ := extResponse(make([]byte, 74))
	r := NegotiateResponse(msg)
	for b.Loop() {
		if err := r.Validate(); err != nil {
			b.Fatal(err)
		}
		readAll(r)
	}
}

func BenchmarkNegotiateResponseNames(b *testing.B) {
	b.ReportAllocs()
	r := NegotiateResponse(buildResponse(0, 0xc001, ntFields{challengeLen: 8}.words(),
		concat(make([]byte, 8), utf16z("WORKGROUP"), utf16z("FILESERVER01"))))
	buf := make([]byte, 0, 64)
	for b.Loop() {
		if err := r.Validate(); err != nil {
			b.Fatal(err)
		}
		buf = r.AppendDomainName(buf[:0])
		buf = r.AppendServerName(buf)
	}
}

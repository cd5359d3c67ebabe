package ntlmssp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

func TestFlagNames(t *testing.T) {
	if got := specFlagsChallenge.String(); got != "UNICODE|OEM|SIGN|SEAL|NTLM|ALWAYS_SIGN|TARGET_TYPE_SERVER|EXTENDED_SESSIONSECURITY|TARGET_INFO|VERSION|128|KEY_EXCH|56" {
		t.Errorf("names %q", got)
	}
	if got := string((FlagAnonymous | 0x00000008 | 0x10000000).AppendNames([]byte("x="))); got != "x=0x00000008|ANONYMOUS|0x10000000" {
		t.Errorf("reserved bits %q", got)
	}
	if Flags(0).String() != "0" || !DefaultNegotiateFlags.Has(FlagUnicode|FlagNTLM) || DefaultNegotiateFlags.Has(FlagSign) {
		t.Error("Has/String")
	}
	for i := 0; i < 32; i++ {
		if n := Flags(1 << i).String(); n == "" || strings.Contains(n, "|") {
			t.Errorf("bit %d: %q", i, n)
		}
	}
}

func TestNegotiateRoundTrip(t *testing.T) {
	for _, n := range []Negotiate{
		DefaultNegotiate(),
		{Flags: FlagUnicode | FlagNTLM},
		{Flags: DefaultNegotiateFlags, Domain: "WORKGROUP", Workstation: "SCANNER", Version: Version{10, 0, 20348, 15}},
		{Flags: FlagNTLM, Domain: "Dömäin"},
	} {
		b := n.AppendTo(nil)
		if len(b) != n.Size() {
			t.Errorf("Size %d, encoded %d", n.Size(), len(b))
		}
		m := NegotiateMessage(b)
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
		if MessageTypeOf(b) != MessageNegotiate {
			t.Errorf("type %v", MessageTypeOf(b))
		}
		wantFlags := n.Flags
		if n.Domain != "" {
			wantFlags |= FlagOEMDomainSupplied
		}
		if n.Workstation != "" {
			wantFlags |= FlagOEMWorkstationSupplied
		}
		if m.Flags() != wantFlags {
			t.Errorf("flags %v, want %v", m.Flags(), wantFlags)
		}
		if want := strings.ReplaceAll(strings.ReplaceAll(n.Domain, "ö", "?"), "ä", "?"); string(m.Domain()) != want {
			t.Errorf("domain %q, want %q", m.Domain(), want)
		}
		if string(m.Workstation()) != n.Workstation {
			t.Errorf("workstation %q", m.Workstation())
		}
		if v, ok := m.Version(); ok != n.Flags.Has(FlagVersion) || (ok && v != n.Version) {
			t.Errorf("version %v %v", v, ok)
		}
	}
	// The default message: 40 bytes, no payload, the documented flags.
	d := DefaultNegotiate()
	b := d.AppendTo(nil)
	if len(b) != 40 || binary.LittleEndian.Uint32(b[12:]) != uint32(DefaultNegotiateFlags) {
		t.Errorf("default negotiate % x", b)
	}
}

func TestChallengeBuilderRoundTrip(t *testing.T) {
	ti := AppendAVPairString(nil, AvNbDomainName, "CORP")
	ti = AppendAVPairString(ti, AvNbComputerName, "FS01")
	ti = AppendAVPairString(ti, AvDnsDomainName, "corp.example")
	ti = AppendAVPairString(ti, AvDnsComputerName, "fs01.corp.example")
	ti = AppendAVPairString(ti, AvDnsTreeName, "example")
	ti = AppendAVTimestamp(ti, 0x01d9e8a7c3b4a000)
	ti = AppendAVFlags(ti, AvFlagConstrained)
	ti = AppendAVEOL(ti)
	for _, flags := range []Flags{DefaultNegotiateFlags | FlagTargetTypeServer, FlagUnicode | FlagNTLM | FlagTargetInfo} {
		cb := ChallengeBuilder{
			Flags:           flags,
			ServerChallenge: [8]byte{1, 2, 3, 4, 5, 6, 7, 8},
			TargetName:      u16("CORP"),
			TargetInfo:      ti,
			Version:         Version{10, 0, 20348, 15},
		}
		b := cb.AppendTo(nil)
		if len(b) != cb.Size() {
			t.Errorf("Size %d, encoded %d", cb.Size(), len(b))
		}
		c := Challenge(b)
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if c.Flags() != flags || c.ServerChallenge() != cb.ServerChallenge || !bytes.Equal(c.TargetName(), cb.TargetName) ||
			!bytes.Equal(c.TargetInfo(), ti) {
			t.Errorf("fields differ")
		}
		if v, ok := c.Version(); ok != flags.Has(FlagVersion) || (ok && v != cb.Version) {
			t.Errorf("version %v %v", v, ok)
		}
		var info AVInfo
		if err := c.AVInfo(&info); err != nil {
			t.Fatal(err)
		}
		if wire.DecodeUTF16LE(info.DnsComputerName) != "fs01.corp.example" || wire.DecodeUTF16LE(info.DnsTreeName) != "example" ||
			!info.HasTimestamp || info.Timestamp != 0x01d9e8a7c3b4a000 || !info.HasFlags || info.Flags != AvFlagConstrained || info.Pairs != 7 {
			t.Errorf("av info %+v", info)
		}
	}
}

// patched returns a copy of b with the size-byte little-endian field at offset at set to v.
func patched(b []byte, at int, v uint32, size int) []byte {
	c := bytes.Clone(b)
	if size == 2 {
		binary.LittleEndian.PutUint16(c[at:], uint16(v))
	} else {
		binary.LittleEndian.PutUint32(c[at:], v)
	}
	return c
}

func TestChallengeHostile(t *testing.T) {
	good := unhex(t, specChallengeHex)
	for _, c := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, wire.ErrShort},
		{"31 bytes", good[:31], wire.ErrShort},
		{"signature", append([]byte("NTLMSSQ\x00"), good[8:]...), wire.ErrBadProtocol},
		{"type 3", patched(good, 8, 3, 4), wire.ErrMalformed},
		{"target name into header", patched(good, 16, 40, 4), wire.ErrBadOffset},
		{"target name past end", patched(good, 16, uint32(len(good)-2), 4), wire.ErrBadOffset},
		{"target name offset overflow", patched(good, 16, 0xffffffff, 4), wire.ErrBadOffset},
		{"target name length past end", patched(good, 12, 0xffff, 2), wire.ErrBadOffset},
		{"target info into header", patched(good, 44, 8, 4), wire.ErrBadOffset},
		{"target info past end", patched(good, 40, 37, 2), wire.ErrBadOffset},
		{"target info offset overflow", patched(good, 44, 0xfffffff0, 4), wire.ErrBadOffset},
		{"truncated payload", good[:len(good)-1], wire.ErrBadOffset},
	} {
		err := Challenge(c.msg).Validate()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Every strict prefix fails: the TargetInfo payload runs to the last byte.
	for n := 0; n < len(good); n++ {
		if err := Challenge(good[:n]).Validate(); err == nil {
			t.Errorf("prefix of %d bytes validated", n)
		}
	}
	// An empty field may carry any offset.
	c := patched(patched(good, 12, 0, 2), 16, 0xffffffff, 4)
	if err := Challenge(c).Validate(); err != nil || Challenge(c).TargetName() != nil {
		t.Errorf("empty target name with stray offset: %v", err)
	}
	// VERSION set but the payload starts at byte 48: no Version field, and 48 is legal.
	c = patched(good, 16, 48, 4)
	if err := Challenge(c).Validate(); err != nil {
		t.Fatal(err)
	}
	if _, ok := Challenge(c).Version(); ok {
		t.Error("version reported where the payload begins")
	}
	// VERSION not set: no Version even though the bytes are there.
	c = patched(good, 20, uint32(specFlagsChallenge&^FlagVersion), 4)
	if _, ok := Challenge(c).Version(); ok {
		t.Error("version without the flag")
	}
	// The 32-byte minimal (pre-TargetInfo) form has no target info.
	old := append(bytes.Clone(good[:32]), u16("OLD")...)
	binary.LittleEndian.PutUint32(old[16:], 32)
	binary.LittleEndian.PutUint16(old[12:], 6)
	if err := Challenge(old).Validate(); err != nil || Challenge(old).TargetInfo() != nil {
		t.Errorf("old form: %v", err)
	}
}

func TestAVPairsHostile(t *testing.T) {
	var info AVInfo
	// A loop of zero-length pairs stops at the cap.
	loop := bytes.Repeat([]byte{byte(AvSingleHost), 0, 0, 0}, 10000)
	if err := DecodeAVInfo(loop, &info); !errors.Is(err, wire.ErrTooLarge) || info.Pairs != MaxAVPairs {
		t.Errorf("loop: %v after %d pairs", err, info.Pairs)
	}
	// Exactly the cap, then EOL, is fine.
	capped := append(bytes.Repeat([]byte{0x77, 0, 0, 0}, MaxAVPairs), 0, 0, 0, 0)
	if err := DecodeAVInfo(capped, &info); err != nil || info.Pairs != MaxAVPairs {
		t.Errorf("cap: %v %d", err, info.Pairs)
	}
	name := AppendAVPairString(nil, AvNbComputerName, "FIRST")
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"length past end", append(bytes.Clone(name), 2, 0, 0xff, 0xff, 'x'), wire.ErrBadOffset},
		{"cut header", append(bytes.Clone(name), 2, 0), wire.ErrShort},
		{"cut header 3", append(bytes.Clone(name), 2, 0, 1), wire.ErrShort},
		{"timestamp of 4 bytes", AppendAVPair(bytes.Clone(name), AvTimestamp, []byte{1, 2, 3, 4}), wire.ErrMalformed},
		{"flags of 8 bytes", AppendAVPair(bytes.Clone(name), AvFlags, make([]byte, 8)), wire.ErrMalformed},
	} {
		err := DecodeAVInfo(c.b, &info)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if wire.DecodeUTF16LE(info.NbComputerName) != "FIRST" {
			t.Errorf("%s: pairs before the bad one lost", c.name)
		}
	}
	// Duplicates: the first wins. No EOL: tolerated. Bytes after EOL: ignored. Unknown ids: skipped.
	b := AppendAVPairString(nil, AvNbDomainName, "ONE")
	b = AppendAVPair(b, 0x1234, []byte("unknown"))
	b = AppendAVPairString(b, AvNbDomainName, "TWO")
	b = AppendAVPair(b, AvNbComputerName, nil)
	b = AppendAVPairString(b, AvNbComputerName, "LATE")
	if err := DecodeAVInfo(b, &info); err != nil {
		t.Fatal(err)
	}
	if wire.DecodeUTF16LE(info.NbDomainName) != "ONE" || info.NbComputerName == nil || len(info.NbComputerName) != 0 || info.Pairs != 5 {
		t.Errorf("duplicates: %+v", info)
	}
	b = AppendAVEOL(b[:0])
	b = append(b, 0xff, 0xff, 0xff)
	if err := DecodeAVInfo(b, &info); err != nil || info.Pairs != 0 {
		t.Errorf("after EOL: %v %+v", err, info)
	}
	if err := DecodeAVInfo(nil, &info); err != nil || info.Pairs != 0 {
		t.Errorf("empty: %v", err)
	}
	if AVID(0x42).String() != "MsvAv_0x42" || AvTimestamp.String() != "MsvAvTimestamp" {
		t.Error("AVID names")
	}
}

func TestAnonymousAuthenticate(t *testing.T) {
	negotiated := DefaultNegotiateFlags & (specFlagsChallenge | FlagKeyExch)
	a := AnonymousAuthenticate(negotiated | FlagKeyExch)
	if !a.Flags.Has(FlagAnonymous) || a.Flags.Has(FlagKeyExch) || a.Flags&^FlagAnonymous != negotiated&^FlagKeyExch {
		t.Errorf("flags %v", a.Flags)
	}
	b := a.AppendTo(nil)
	if len(b) != a.Size() {
		t.Errorf("Size %d, encoded %d", a.Size(), len(b))
	}
	m := AuthenticateMessage(b)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.LmChallengeResponse(), []byte{0}) || m.NtChallengeResponse() != nil || m.User() != nil ||
		m.Domain() != nil || m.Workstation() != nil || m.EncryptedRandomSessionKey() != nil {
		t.Errorf("anonymous payload: lm %x nt %x user %x", m.LmChallengeResponse(), m.NtChallengeResponse(), m.User())
	}
	if v, ok := m.Version(); !ok || v != DefaultVersion {
		t.Errorf("version %v %v", v, ok)
	}
	if len(b) != MICOffset+1 {
		t.Errorf("length %d", len(b))
	}
}

func TestAuthenticateRoundTrip(t *testing.T) {
	for _, a := range []Authenticate{
		{Flags: FlagUnicode | FlagNTLM, User: "bob", Domain: "CORP", Workstation: "WS"},
		{Flags: DefaultNegotiateFlags | FlagKeyExch, LmChallengeResponse: make([]byte, 24), NtChallengeResponse: bytes.Repeat([]byte{9}, 300),
			User: "Ünïcødé 🎉", Domain: "", EncryptedRandomSessionKey: bytes.Repeat([]byte{5}, 16),
			Version: Version{1, 2, 3, 15}, MIC: [16]byte{1, 2, 3}, IncludeMIC: true},
		{Flags: FlagUnicode, IncludeMIC: true}, // MIC without VERSION still reserves the Version field
	} {
		b := a.AppendTo(nil)
		if len(b) != a.Size() {
			t.Errorf("Size %d, encoded %d", a.Size(), len(b))
		}
		m := AuthenticateMessage(b)
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
		if m.Flags() != a.Flags || wire.DecodeUTF16LE(m.User()) != a.User || wire.DecodeUTF16LE(m.Domain()) != a.Domain ||
			wire.DecodeUTF16LE(m.Workstation()) != a.Workstation || !bytes.Equal(m.LmChallengeResponse(), a.LmChallengeResponse) ||
			!bytes.Equal(m.NtChallengeResponse(), a.NtChallengeResponse) || !bytes.Equal(m.EncryptedRandomSessionKey(), a.EncryptedRandomSessionKey) {
			t.Errorf("fields differ: %+v", a)
		}
		mic, ok := m.MIC()
		if ok != a.IncludeMIC || (ok && mic != a.MIC) {
			t.Errorf("MIC %x %v", mic, ok)
		}
		if v, ok := m.Version(); ok != a.Flags.Has(FlagVersion) || (ok && v != a.Version) {
			t.Errorf("version %v %v", v, ok)
		}
		if a.IncludeMIC {
			// MIC sits at offset 72 and the payload starts at 88.
			if !bytes.Equal(b[MICOffset:MICOffset+16], a.MIC[:]) {
				t.Errorf("MIC bytes at 72: %x", b[72:88])
			}
			if err := PutMIC(b, [16]byte{0xee}); err != nil || b[MICOffset] != 0xee {
				t.Errorf("PutMIC: %v", err)
			}
		} else if err := PutMIC(b, [16]byte{}); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("PutMIC into a message without a MIC field: %v", err)
		}
	}
}

func TestAuthenticateCheck(t *testing.T) {
	a := Authenticate{Flags: FlagUnicode, NtChallengeResponse: make([]byte, MaxFieldLen)}
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	a.User = strings.Repeat("u", MaxFieldLen/2+1)
	if err := a.Check(); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("long user: %v", err)
	}
	// AppendTo cuts instead: the message stays self-consistent.
	m := AuthenticateMessage(a.AppendTo(nil))
	if err := m.Validate(); err != nil || len(m.User()) != MaxFieldLen-1 || len(m) != a.Size() {
		t.Errorf("cut: %v %d", err, len(m.User()))
	}
}

func TestAuthenticateHostile(t *testing.T) {
	good := unhex(t, specAuthenticateHex)
	for n := 0; n < len(good); n++ {
		if err := AuthenticateMessage(good[:n]).Validate(); err == nil {
			t.Errorf("prefix of %d bytes validated", n)
		}
	}
	for _, at := range []int{authLmAt, authNtAt, authDomainAt, authUserAt, authWorkstationAt, authKeyAt} {
		if err := AuthenticateMessage(patched(good, at+4, 10, 4)).Validate(); !errors.Is(err, wire.ErrBadOffset) {
			t.Errorf("field at %d into header: %v", at, err)
		}
		if err := AuthenticateMessage(patched(good, at+4, 0xffffffff, 4)).Validate(); !errors.Is(err, wire.ErrBadOffset) {
			t.Errorf("field at %d offset overflow: %v", at, err)
		}
		if err := AuthenticateMessage(patched(good, at, 0xffff, 2)).Validate(); !errors.Is(err, wire.ErrBadOffset) {
			t.Errorf("field at %d length: %v", at, err)
		}
	}
	if err := AuthenticateMessage(patched(good, 8, 2, 4)).Validate(); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("type: %v", err)
	}
}

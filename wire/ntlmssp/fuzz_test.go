package ntlmssp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

// isSentinel reports whether err wraps one of the wire sentinels, as every decoder error must.
func isSentinel(err error) bool {
	for _, s := range []error{wire.ErrShort, wire.ErrBadOffset, wire.ErrBadProtocol, wire.ErrTooLarge, wire.ErrMalformed} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func FuzzChallenge(f *testing.F) {
	f.Add(unhex(f, specChallengeHex))
	f.Add(readHexFile(f, "windows-2008r2-challenge.hex"))
	cb := ChallengeBuilder{Flags: DefaultNegotiateFlags, TargetName: u16("X"), TargetInfo: AppendAVEOL(AppendAVTimestamp(nil, 5))}
	f.Add(cb.AppendTo(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Challenge(b)
		err := c.Validate()
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		tn, ti := c.TargetName(), c.TargetInfo()
		v, hasV := c.Version()
		var info AVInfo
		avErr := c.AVInfo(&info)
		if avErr != nil && !isSentinel(avErr) {
			t.Fatalf("av error without sentinel: %v", avErr)
		}
		// Re-encoding the decoded fields gives a message that decodes to the same fields.
		re := ChallengeBuilder{Flags: c.Flags(), ServerChallenge: c.ServerChallenge(), TargetName: tn, TargetInfo: ti, Version: v}
		if !hasV {
			re.Flags &^= FlagVersion
		}
		c2 := Challenge(re.AppendTo(nil))
		if err := c2.Validate(); err != nil {
			t.Fatalf("re-encoded challenge invalid: %v", err)
		}
		v2, hasV2 := c2.Version()
		if c2.Flags() != re.Flags || c2.ServerChallenge() != re.ServerChallenge || !bytes.Equal(c2.TargetName(), tn) ||
			!bytes.Equal(c2.TargetInfo(), ti) || hasV2 != hasV || v2 != v {
			t.Fatal("round trip changed the fields")
		}
	})
}

func FuzzAVPairs(f *testing.F) {
	ch := Challenge(readHexFile(f, "windows-2008r2-challenge.hex"))
	f.Add(bytes.Clone(ch.TargetInfo()))
	f.Add(unhex(f, specTargetInfoHex))
	f.Add(bytes.Repeat([]byte{8, 0, 0, 0}, 70))
	f.Add([]byte{7, 0, 4, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		var info AVInfo
		err := DecodeAVInfo(b, &info)
		if err != nil && !isSentinel(err) {
			t.Fatalf("error without sentinel: %v", err)
		}
		if info.Pairs > MaxAVPairs {
			t.Fatalf("%d pairs", info.Pairs)
		}
		// The iterator and the decoder agree, and every value is a view inside b.
		it := NewAVPairIter(b)
		var p AVPair
		n := 0
		for it.Next(&p) {
			n++
			if len(p.Value) > 0 && !within(b, p.Value) {
				t.Fatal("value outside the list")
			}
		}
		if err == nil && (n != info.Pairs || it.Err() != nil) {
			t.Fatalf("iterator %d pairs (%v), decoder %d", n, it.Err(), info.Pairs)
		}
		// Re-encoding the pairs read gives the same list up to where it stopped.
		if it.Err() == nil {
			var re []byte
			it = NewAVPairIter(b)
			for it.Next(&p) {
				re = AppendAVPair(re, p.ID, p.Value)
			}
			if !bytes.Equal(re, b[:it.Offset()]) {
				t.Fatal("re-encoded pairs differ")
			}
		}
	})
}

// within reports whether sub lies inside b's backing array range.
func within(b, sub []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i := 0; i+len(sub) <= len(b); i++ {
		if &b[i] == &sub[0] {
			return true
		}
	}
	return false
}

func FuzzAuthenticate(f *testing.F) {
	f.Add(unhex(f, specAuthenticateHex), "User", "Domain", []byte("nt"), uint32(DefaultNegotiateFlags), true)
	f.Add(readHexFile(f, "windows7-authenticate-mic.hex"), "", "", []byte(nil), uint32(0), false)
	anon := AnonymousAuthenticate(DefaultNegotiateFlags)
	f.Add(anon.AppendTo(nil), "ü🎉", "\xff", make([]byte, 40), uint32(FlagUnicode), false)
	f.Fuzz(func(t *testing.T, raw []byte, user, domain string, nt []byte, flags uint32, mic bool) {
		// Decoding arbitrary bytes.
		m := AuthenticateMessage(raw)
		if err := m.Validate(); err != nil {
			if !isSentinel(err) {
				t.Fatalf("error without sentinel: %v", err)
			}
		} else {
			for _, fld := range [][]byte{m.LmChallengeResponse(), m.NtChallengeResponse(), m.Domain(), m.User(), m.Workstation(), m.EncryptedRandomSessionKey()} {
				if len(fld) > 0 && !within(raw, fld) {
					t.Fatal("field outside the message")
				}
			}
			_, _ = m.MIC()
			_, _ = m.Version()
		}
		// Encoding arbitrary fields round-trips.
		a := Authenticate{Flags: Flags(flags), LmChallengeResponse: raw, NtChallengeResponse: nt, User: user, Domain: domain,
			Workstation: user + domain, IncludeMIC: mic, MIC: [16]byte{byte(len(raw))}, Version: Version{1, 2, 3, 4}}
		b := a.AppendTo(nil)
		if len(b) != a.Size() {
			t.Fatalf("Size %d, encoded %d", a.Size(), len(b))
		}
		d := AuthenticateMessage(b)
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if a.Check() == nil {
			if !bytes.Equal(d.User(), wire.AppendUTF16LE(nil, user)) || !bytes.Equal(d.Domain(), wire.AppendUTF16LE(nil, domain)) ||
				!bytes.Equal(d.LmChallengeResponse(), raw) || !bytes.Equal(d.NtChallengeResponse(), nt) || d.Flags() != a.Flags {
				t.Fatal("round trip changed the fields")
			}
		}
		got, ok := d.MIC()
		if ok != mic {
			t.Fatalf("MIC present %v, want %v", ok, mic)
		}
		if mic && got != a.MIC {
			t.Fatal("MIC changed")
		}
	})
}

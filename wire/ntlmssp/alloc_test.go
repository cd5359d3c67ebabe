package ntlmssp

import "testing"

func TestEncodeAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	neg := DefaultNegotiate()
	named := Negotiate{Flags: DefaultNegotiateFlags, Domain: "WORKGROUP", Workstation: "SCANNER"}
	anon := AnonymousAuthenticate(DefaultNegotiateFlags)
	full := Authenticate{Flags: DefaultNegotiateFlags, LmChallengeResponse: make([]byte, 24), NtChallengeResponse: make([]byte, 200),
		Domain: "CORP", User: "alice", Workstation: "WS", EncryptedRandomSessionKey: make([]byte, 16), IncludeMIC: true}
	cb := ChallengeBuilder{Flags: DefaultNegotiateFlags, TargetName: u16("CORP"), TargetInfo: AppendAVEOL(AppendAVPairString(nil, AvNbDomainName, "CORP"))}
	for name, f := range map[string]func(){
		"Negotiate":        func() { buf = neg.AppendTo(buf[:0]) },
		"Negotiate/names":  func() { buf = named.AppendTo(buf[:0]) },
		"Authenticate":     func() { buf = anon.AppendTo(buf[:0]) },
		"Authenticate/MIC": func() { buf = full.AppendTo(buf[:0]) },
		"ChallengeBuilder": func() { buf = cb.AppendTo(buf[:0]) },
		"AVPairs": func() {
			buf = AppendAVPairString(buf[:0], AvDnsComputerName, "fs01.corp.example")
			buf = AppendAVTimestamp(buf, 1)
			buf = AppendAVEOL(AppendAVFlags(buf, 2))
		},
		"FlagNames": func() { buf = DefaultNegotiateFlags.AppendNames(buf[:0]) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocs", name, n)
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	ch := Challenge(readHexFile(t, "windows-2008r2-challenge.hex"))
	auth := AuthenticateMessage(readHexFile(t, "windows7-authenticate-mic.hex"))
	negBytes := DefaultNegotiate()
	neg := NegotiateMessage(negBytes.AppendTo(nil))
	var info AVInfo
	var sink int
	n := testing.AllocsPerRun(100, func() {
		if ch.Validate() != nil || ch.AVInfo(&info) != nil {
			panic("invalid")
		}
		sc := ch.ServerChallenge()
		v, _ := ch.Version()
		sink += int(ch.Flags()) + len(ch.TargetName()) + len(ch.TargetInfo()) + int(sc[0]) + int(v.ProductBuild)
		it := NewAVPairIter(ch.TargetInfo())
		var p AVPair
		for it.Next(&p) {
			sink += len(p.Value)
		}
	})
	if n != 0 {
		t.Errorf("Challenge decode: %v allocs", n)
	}
	n = testing.AllocsPerRun(100, func() {
		if auth.Validate() != nil || neg.Validate() != nil {
			panic("invalid")
		}
		mic, _ := auth.MIC()
		v, _ := auth.Version()
		sink += len(auth.NtChallengeResponse()) + len(auth.LmChallengeResponse()) + len(auth.User()) + len(auth.Domain()) +
			len(auth.Workstation()) + len(auth.EncryptedRandomSessionKey()) + int(mic[0]) + int(v.ProductMajor) + int(auth.Flags()) +
			len(neg.Domain()) + len(neg.Workstation()) + int(neg.Flags())
	})
	if n != 0 {
		t.Errorf("Authenticate/Negotiate decode: %v allocs", n)
	}
	_ = sink
}

func BenchmarkNegotiateAppendTo(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	n := DefaultNegotiate()
	for b.Loop() {
		buf = n.AppendTo(buf[:0])
	}
}

func BenchmarkAuthenticateAppendTo(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 1024)
	a := Authenticate{Flags: DefaultNegotiateFlags, LmChallengeResponse: make([]byte, 24), NtChallengeResponse: make([]byte, 300),
		Domain: "CORP", User: "alice", Workstation: "WS", EncryptedRandomSessionKey: make([]byte, 16), IncludeMIC: true}
	for b.Loop() {
		buf = a.AppendTo(buf[:0])
	}
}

func BenchmarkChallengeDecode(b *testing.B) {
	b.ReportAllocs()
	ch := Challenge(readHexFile(b, "windows-2008r2-challenge.hex"))
	var info AVInfo
	for b.Loop() {
		if ch.Validate() != nil || ch.AVInfo(&info) != nil {
			b.Fatal("invalid")
		}
		_, _ = ch.Version()
	}
}

func BenchmarkAuthenticateDecode(b *testing.B) {
	b.ReportAllocs()
	m := AuthenticateMessage(readHexFile(b, "windows7-authenticate-mic.hex"))
	for b.Loop() {
		if m.Validate() != nil {
			b.Fatal("invalid")
		}
		_, _ = m.MIC()
	}
}

package hostile

import (
	"bytes"
	"sort"
	"sync"
	"time"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
)

// Case is one named hostile server of the catalog.
type Case struct {
	Name  string
	About string
	New   func() Handler
}

// Huge is the length or count the "16 MiB" cases claim.
const Huge = 0xFFFFFF

// NTLMAhead is how far the clock-ntlm-ahead case's NTLM timestamp runs ahead of its SystemTime.
const NTLMAhead = 530 * time.Second

// SlowLogonDelay is how long the slow-logon case waits before answering the AUTHENTICATE.
const SlowLogonDelay = 2 * time.Second

// Cases returns the catalog, sorted by name. Every case has a test in probes/hostile_test.go
// saying what smbsweep must record for it.
func Cases() []Case {
	cs := []Case{
		// Not SMB at all.
		{"tarpit", "accepts, reads, never answers", Tarpit},
		{"slowloris", "answers a valid NEGOTIATE one byte per second", func() Handler {
			return Slowloris(append(netbios(len(Capture(CapNegotiate))), Capture(CapNegotiate)...), time.Second)
		}},
		{"http-banner", "an HTTP server answers 400 and closes", func() Handler { return Banner([]byte(HTTPResponse), false) }},
		{"tls-banner", "a TLS terminator answers with a ServerHello and an alert", func() Handler { return Banner(TLSServerHello, false) }},
		{"garbage", "4 KiB of random bytes, then close", func() Handler { return Garbage(7, 4096) }},
		{"framed-garbage", "a correct NetBIOS header around random bytes", func() Handler { return FramedGarbage(11, 512) }},
		{"netbios-length-0", "an empty NetBIOS session message", func() Handler { return NetBIOSLength(0, nil) }},
		{"netbios-length-16m", "a NetBIOS header claiming 0xFFFFFF bytes, then 4 KiB", func() Handler {
			return NetBIOSLength(Huge, randomBytes(3, 4096))
		}},
		{"netbios-length-short", "a header announcing 1000 bytes, 100 bytes of a NEGOTIATE, close", func() Handler {
			return NetBIOSLength(1000, Capture(CapNegotiate)[:100])
		}},
		{"reset-on-accept", "RST right after the handshake", ResetOnAccept},

		// SMB2 header and NEGOTIATE body bent.
		{"smb2-header-structure-size", "NEGOTIATE reply whose header StructureSize is 65", negotiateMutation(PutU16(HeaderStructSize, 65))},
		{"smb2-protocol-id", "NEGOTIATE reply whose protocol id is 'XSMB'", negotiateMutation(PutU32(0, 0x424d5358))},
		{"smb2-transform-protocol-id", "NEGOTIATE reply with the TRANSFORM protocol id 0xFD 'SMB'", negotiateMutation(PutU32(0, wire.ProtocolSMB2Transform))},
		{"negotiate-body-structure-size", "NEGOTIATE body StructureSize 64 instead of 65", negotiateMutation(PutU16(BodyStructureSize, 64))},
		{"negotiate-secbuf-offset", "security buffer offset past the end", negotiateMutation(PutU16(NegSecBufOffset, 0xfff0))},
		{"negotiate-secbuf-length", "security buffer length 0xFFFF", negotiateMutation(PutU16(NegSecBufLength, 0xffff))},
		{"negotiate-context-offset", "negotiate context offset 0xFFFFFFF0", negotiateMutation(PutU32(NegContextOffset, 0xfffffff0))},
		{"negotiate-context-count", "negotiate context count 0xFFFF", negotiateMutation(PutU16(NegContextCount, 0xffff))},
		{"negotiate-context-count-plus-one", "one negotiate context more than the reply holds", negotiateMutation(func(b []byte) []byte {
			return PutU16(NegContextCount, le.Uint16(b[NegContextCount:])+1)(b)
		})},
		{"negotiate-context-length", "first negotiate context claims 0xFFFF data bytes", negotiateMutation(func(b []byte) []byte {
			return PutU16(int(le.Uint32(b[NegContextOffset:]))+2, 0xffff)(b)
		})},

		{"no-common-cipher", "3.1.1 NEGOTIATE replies whose ENCRYPTION_CAPABILITIES context names cipher 0 (no common cipher)", negotiateMutationSMB1Refused(NoCommonCipher)},

		// The dedicated SMB1 connection (NT LM 0.12 accepted, as Samba with server min protocol NT1).
		{"smb1-enabled", "SMB1 NEGOTIATE accepted (the NT1 capture)", smb1Case(func(b []byte) []byte { return b })},
		{"smb1-byte-count", "SMB1 NEGOTIATE reply whose ByteCount (0xFFFF) runs past the end", smb1Case(PutU16(smb1ByteCount, 0xffff))},
		{"smb1-word-count", "SMB1 NEGOTIATE reply whose WordCount (255) runs past the end", smb1Case(func(b []byte) []byte {
			b[smb1WordCount] = 0xff
			return b
		})},
		{"smb1-lanman-index-3", "SMB1 NEGOTIATE reply in the LAN Manager form (WordCount 13) selecting dialect index 3 of the one offered", smb1Case(func(b []byte) []byte {
			return LANMANForm(b, 3)
		})},
		{"smb1-names-cap-unicode", "non-extended SMB1 NEGOTIATE acceptance, Flags2 without UNICODE, CAP_UNICODE and UTF-16 names (Samba's reply to a non-Unicode client)", func() Handler {
			return steps(map[Step]Responder{StepSMB1: func(*Request) Action {
				return Action{Reply: [][]byte{Capture(CapSMB1NonExtended)}}
			}})()
		}},

		// NTLM and SPNEGO bent inside an otherwise valid logon.
		{"ntlm-avpair-past-end", "an AV pair whose length runs past the target info", ntlmCase(func() []byte {
			ti := ntlmssp.AppendAVPairString(nil, ntlmssp.AvNbDomainName, "SWEEP")
			ti = ntlmssp.AppendAVPair(ti, ntlmssp.AvNbComputerName, []byte("AB"))
			le.PutUint16(ti[len(ti)-4:], 0x7fff) // 2 bytes follow, 0x7fff claimed
			return BuildChallenge(ti)
		})},
		{"ntlm-targetinfo-loop", "2000 AV pairs and no MsvAvEOL", ntlmCase(func() []byte {
			var ti []byte
			for range 2000 {
				ti = ntlmssp.AppendAVPairString(ti, ntlmssp.AvNbComputerName, "LOOP")
			}
			return BuildChallenge(ti)
		})},
		{"ntlm-targetinfo-offset", "target info offset outside the CHALLENGE", ntlmCase(func() []byte {
			return PutU32(44, 0xfffffff0)(BuildChallenge(TargetInfo(SambaNames())))
		})},
		{"spnego-non-minimal", "NegTokenResp with non-minimal DER lengths", spnegoCase(DERNonMinimal)},
		{"spnego-indefinite", "NegTokenResp with indefinite BER lengths", spnegoCase(DERIndefinite)},

		// DCE/RPC on \srvsvc.
		{"rpc-frag-length-long", "RESPONSE whose frag_length exceeds the bytes present", rpcCase(func(pdu []byte) []byte {
			return PutU16(8, uint16(len(pdu)+1000))(pdu)
		})},
		{"rpc-frag-length-short", "RESPONSE whose frag_length (10) is shorter than its header", rpcCase(PutU16(8, 10))},
		{"ndr-huge-count", "NetrShareEnum claiming 0xFFFFFF entries", stubCase(nil, func(stub []byte) []byte {
			stub = PutU32(StubEntriesRead, Huge)(stub)
			return PutU32(StubMaxCount, Huge)(stub)
		})},
		{"ndr-huge-string", "a share name claiming 0xFFFFFF characters", stubCase([]ShareInfo{{Name: "x", Remark: "y"}}, func(stub []byte) []byte {
			const name = 24 + 12 // fixed part, one entry
			stub = PutU32(name, Huge)(stub)
			return PutU32(name+8, Huge)(stub)
		})},

		// DCE/RPC BIND answered badly: every pipe's BIND gets the same answer.
		{"rpc-bind-garbage", "every pipe answers a BIND with 64 random bytes in a valid IOCTL reply", steps(map[Step]Responder{StepBind: func(r *Request) Action {
			return Reply(IoctlReply(r, wire.StatusSuccess, randomBytes(13, 64)))
		}})},
		{"rpc-bind-nak", "every pipe answers a BIND with a BIND_NAK (protocol_version_not_supported)", steps(map[Step]Responder{StepBind: func(r *Request) Action {
			return Reply(IoctlReply(r, wire.StatusSuccess, BindNak(rpcCallID(r.Msg), 4)))
		}})},

		// Resets after each stage.
		{"rst-negotiate", "RST instead of the NEGOTIATE reply (and the SMB1 one)", steps(map[Step]Responder{StepNegotiate: ResetAt, StepSMB1: ResetAt})},
		{"rst-session-setup-1", "RST instead of the NTLM CHALLENGE", steps(map[Step]Responder{StepSessionSetup1: ResetAt})},
		{"rst-session-setup-2", "RST instead of the logon result", steps(map[Step]Responder{StepSessionSetup2: ResetAt})},
		{"rst-tree-connect", "RST instead of the TREE_CONNECT reply", steps(map[Step]Responder{StepTreeConnect: ResetAt})},
		{"rst-ioctl", "RST instead of the IOCTL carrying the SRVSVC bind", steps(map[Step]Responder{StepBind: ResetAt})},

		// Valid but awkward.
		{"slow-logon", "answers the AUTHENTICATE after 2 s (failed-logon delay of current Windows)", steps(map[Step]Responder{StepSessionSetup2: Delayed(SlowLogonDelay)})},
		{"clock-zero", "SystemTime 0 and no NTLM timestamp", func() Handler {
			n := SambaNames()
			n.Timestamp = 0
			s := &SMB{Challenge: BuildChallenge(TargetInfo(n)), Steps: map[Step]Responder{
				StepNegotiate: Mutate(func(b []byte) []byte { return PutU64(NegServerStart, 0)(PutU64(NegSystemTime, 0)(b)) }),
			}}
			return s.Handler()
		}},
		{"clock-ntlm-ahead", "SystemTime now, NTLM timestamp 530 s ahead of it (as a macOS server's)", func() Handler {
			n := SambaNames()
			n.Timestamp = wire.TimeToFiletime(time.Now().Add(NTLMAhead))
			s := &SMB{Challenge: BuildChallenge(TargetInfo(n)), Steps: map[Step]Responder{
				StepNegotiate: Mutate(func(b []byte) []byte { return PutU64(NegSystemTime, wire.TimeToFiletime(time.Now()))(b) }),
			}}
			return s.Handler()
		}},
		{"clock-ntlm-only", "SystemTime 0, NTLM timestamp now", func() Handler {
			s := &SMB{Challenge: BuildChallenge(TargetInfo(SambaNames())), Steps: map[Step]Responder{
				StepNegotiate: Mutate(PutU64(NegSystemTime, 0)),
			}}
			return s.Handler()
		}},
		{"shares-split-fragment", "700 shares in 4280-byte fragments on a pipe that does not keep message boundaries: the IOCTL reply is cut mid-fragment (BUFFER_OVERFLOW), READ brings the rest", func() Handler {
			return SplitShareList(ManyShares(700), 4280).Handler()
		}},
		{"hostile-strings", "NTLM names and share names with ANSI escapes, newlines and formulas", func() Handler {
			return HostileStrings().Handler()
		}},
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs
}

// Lookup returns the catalog case called name.
func Lookup(name string) (Case, bool) {
	for _, c := range Cases() {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}

// negotiateMutation bends the NEGOTIATE reply; the SMB1 connection is closed unanswered (as
// Windows does with SMB1 disabled), so nothing valid ever reaches the client.
func negotiateMutation(f func([]byte) []byte) func() Handler {
	return steps(map[Step]Responder{StepNegotiate: Mutate(f), StepSMB1: CloseAt})
}

// negotiateMutationSMB1Refused bends every NEGOTIATE reply (the dialects stage's too) and
// refuses SMB1 as default Samba does.
func negotiateMutationSMB1Refused(f func([]byte) []byte) func() Handler {
	return steps(map[Step]Responder{StepNegotiate: Mutate(f)})
}

// NoCommonCipher sets the cipher of the ENCRYPTION_CAPABILITIES context of a 3.1.1 NEGOTIATE
// reply to 0, what a server sends when it shares no cipher with the client (MS-SMB2
// 3.3.5.4: CipherCount 1, Ciphers[0] 0). Other replies are returned unchanged.
func NoCommonCipher(b []byte) []byte {
	if len(b) < NegContextOffset+4 {
		return b
	}
	off := int(le.Uint32(b[NegContextOffset:]))
	for n := int(le.Uint16(b[NegContextCount:])); n > 0 && off+8 <= len(b); n-- {
		typ, length := le.Uint16(b[off:]), int(le.Uint16(b[off+2:]))
		if typ == wire.NegotiateContextEncryption && length >= 4 && off+8+4 <= len(b) {
			le.PutUint16(b[off+8:], 1)
			le.PutUint16(b[off+10:], 0)
			return b
		}
		off += (8 + length + 7) &^ 7
	}
	return b
}

func steps(m map[Step]Responder) func() Handler {
	return func() Handler { return (&SMB{Steps: m}).Handler() }
}

// Offsets in the captured SMB1 NT1 NEGOTIATE reply (MS-CIFS 2.2.4.52.2): WordCount after the
// 32-byte header, ByteCount after the 17 words.
const (
	smb1WordCount = 32
	smb1ByteCount = 32 + 1 + 2*17
)

// LANMANForm turns the captured NT-form SMB1 NEGOTIATE reply b into the LAN Manager form
// (MS-CIFS 2.2.4.52.2, WordCount 13) selecting dialect index: the header and SMB_Data as
// captured, the first 13 parameter words kept with DialectIndex set, the last 4 dropped.
func LANMANForm(b []byte, index uint16) []byte {
	const lanmanWords = 13
	out := append([]byte(nil), b[:smb1WordCount+1+2*lanmanWords]...)
	out[smb1WordCount] = lanmanWords
	le.PutUint16(out[smb1WordCount+1:], index)
	return append(out, b[smb1ByteCount:]...)
}

// smb1Case answers the SMB1 NEGOTIATE with the captured NT1 acceptance bent by f (the SMB2
// connection behaves).
func smb1Case(f func([]byte) []byte) func() Handler {
	return steps(map[Step]Responder{StepSMB1: func(*Request) Action {
		return Action{Reply: [][]byte{f(Capture(CapSMB1NT1))}}
	}})
}

// ntlmCase sends challenge() as the NTLM CHALLENGE.
func ntlmCase(challenge func() []byte) func() Handler {
	return func() Handler { return (&SMB{Challenge: challenge()}).Handler() }
}

// spnegoCase wraps a valid CHALLENGE in a NegTokenResp whose lengths follow style.
func spnegoCase(style DERStyle) func() Handler {
	return func() Handler {
		tok := NegTokenRespChallenge(BuildChallenge(TargetInfo(SambaNames())), style)
		return (&SMB{Steps: map[Step]Responder{StepSessionSetup1: func(r *Request) Action {
			return Reply(SessionSetupReply(r, wire.StatusMoreProcessingRequired, DefaultSessionID, 0, tok))
		}}}).Handler()
	}
}

// rpcCase bends the NetrShareEnum RESPONSE PDU.
func rpcCase(f func(pdu []byte) []byte) func() Handler {
	return steps(map[Step]Responder{StepRPC: Mutate(func(ioctl []byte) []byte {
		const out = wire.HeaderSize + 48
		pdu := f(bytes.Clone(ioctl[out:]))
		return append(ioctl[:out:out], pdu...)
	})})
}

// stubCase answers NetrShareEnum with the stub of shares (nil: the captured list's names)
// bent by f, in one well-formed fragment.
func stubCase(shares []ShareInfo, f func(stub []byte) []byte) func() Handler {
	if shares == nil {
		shares = SambaShares()
	}
	return steps(map[Step]Responder{StepRPC: func(r *Request) Action {
		stub := f(NetShareEnumStub(shares, 0))
		return Reply(IoctlReply(r, wire.StatusSuccess, ResponseFragments(rpcCallID(r.Msg), stub, 0)))
	}})
}

// SambaShares is the share list of the NetrShareEnum capture.
func SambaShares() []ShareInfo {
	return []ShareInfo{
		{Name: "public", Type: 0, Remark: "Öffentlich – café ☕"},
		{Name: "emoji😀", Type: 0, Remark: "non-BMP share name"},
		{Name: "hidden$", Type: 0, Remark: ""},
		{Name: "IPC$", Type: 0x80000003, Remark: "IPC Service (Samba 4.17.12-Debian)"},
	}
}

// ManyShares returns n disk shares named share0000, share0001, ... with 60-character remarks.
func ManyShares(n int) []ShareInfo {
	out := make([]ShareInfo, n)
	for i := range out {
		name := []byte("share0000")
		for j, v := len(name)-1, i; j >= 5; j, v = j-1, v/10 {
			name[j] = byte('0' + v%10)
		}
		out[i] = ShareInfo{Name: string(name), Remark: "a remark long enough to make the share list span fragments"}
	}
	return out
}

// SplitShareList is a server whose \srvsvc pipe behaves as a byte stream rather than in message
// mode (Samba and Windows keep each RESPONSE fragment a message; a server may not): RESPONSE
// fragments of at most maxFrag bytes, the FSCTL_PIPE_TRANSCEIVE reply carrying the first
// MaxOutputResponse bytes with STATUS_BUFFER_OVERFLOW (usually ending inside a fragment), and
// READs returning the rest.
func SplitShareList(shares []ShareInfo, maxFrag int) *SMB {
	var mu sync.Mutex
	pending := map[int][]byte{} // per connection: pipe bytes not yet read
	s := &SMB{Shares: shares}
	s.Steps = map[Step]Responder{
		StepRPC: func(r *Request) Action {
			data := ResponseFragments(rpcCallID(r.Msg), NetShareEnumStub(shares, 0), maxFrag-24)
			n := min(len(data), int(ioctlMaxOutput(r.Msg)))
			mu.Lock()
			pending[r.Conn] = data[n:]
			mu.Unlock()
			st := wire.StatusSuccess
			if n < len(data) {
				st = wire.StatusBufferOverflow
			}
			return Reply(IoctlReply(r, st, data[:n]))
		},
		StepRead: func(r *Request) Action {
			mu.Lock()
			data := pending[r.Conn]
			n := min(len(data), int(readLength(r.Msg)))
			pending[r.Conn] = data[n:]
			mu.Unlock()
			if n == 0 {
				return Reply(ErrorReply(r, wire.StatusPipeEmpty))
			}
			st := wire.StatusSuccess
			if n < len(data) {
				st = wire.StatusBufferOverflow
			}
			return Reply(ReadReply(r, st, data[:n]))
		},
	}
	return s
}

// ioctlMaxOutput returns MaxOutputResponse of an IOCTL request.
func ioctlMaxOutput(msg []byte) uint32 {
	if len(msg) < wire.HeaderSize+48 {
		return 0
	}
	return le.Uint32(msg[wire.HeaderSize+44:])
}

// readLength returns Length of a READ request.
func readLength(msg []byte) uint32 {
	if len(msg) < wire.HeaderSize+8 {
		return 0
	}
	return le.Uint32(msg[wire.HeaderSize+4:])
}

// Hostile strings a server controls, for terminal and spreadsheet safety tests.
var (
	EvilComputer = "\x1b[2J\x1b[31mPWNED\x1b[0m"                 // clear screen, red text
	EvilDomain   = "CORP\r\n127.0.0.9:445  SMB 3.1.1  fake:line" // a forged output line
	EvilDNS      = "=cmd|' /C calc'!A0"                          // DDE formula
	EvilShares   = []ShareInfo{
		{Name: "=cmd|' /C calc'!A0", Remark: "+SUM(1,2)"},
		{Name: "\x1b]0;owned\x07title", Remark: "@evil"},
		{Name: "line\nbreak", Remark: "-2+3"},
		{Name: "csi\u009b31mred", Remark: "\u202eright-to-left"},
		{Name: "\tTAB", Remark: " =1+1"},
	}
)

// HostileStrings is a well-behaved server whose NTLM names and share names are EvilComputer,
// EvilDomain, EvilDNS and EvilShares.
func HostileStrings() *SMB {
	n := SambaNames()
	n.NbComputer, n.NbDomain, n.DNSComputer, n.DNSDomain = EvilComputer, EvilDomain, EvilDNS, EvilDomain
	return &SMB{Challenge: BuildChallenge(TargetInfo(n)), Shares: EvilShares}
}

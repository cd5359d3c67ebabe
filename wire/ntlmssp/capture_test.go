//go:build capture

package ntlmssp_test

// Golden capture of a whole anonymous NTLMSSP-in-SPNEGO logon against a real Samba smbd, and a
// check of the credentialed NTLMv2 logon (part of `make goldens`):
//
//	SMBSWEEP_REQUIRE_SAMBA=1 go test -tags capture -count=1 -run Capture -v ./wire/ntlmssp
//
// needs root and Samba (it fails without them: capture tests are opt-in by build tag).
// internal/testing/sambatest starts one smbd on a free loopback address, with sambatest.TestUser in its
// passdb. See testdata/README.md.

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
	"github.com/smbsweep/smbsweep/wire/spnego"
)

func TestCaptureSambaNTLMSSP(t *testing.T) {
	fleet, err := sambatest.StartFleet(t.Context(), sambatest.Options{NoWarmUp: true, RemoveOnStop: true, Configs: []sambatest.Config{
		{Name: "ntlmssp", NetBIOSName: "SMBSWEEPNTLM", Global: []string{"server signing = auto"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopFleet(t, fleet) })
	addr := fleet.Servers[0].AddrPort().String()
	t.Run("NullSession", func(t *testing.T) { captureNullSession(t, addr) })
	t.Run("NTLMv2", func(t *testing.T) { checkNTLMv2(t, addr) })
}

// captureNullSession runs NEGOTIATE and the two SESSION_SETUP round trips with smbsweep's own
// tokens, checks that Samba grants the null session (STATUS_SUCCESS) and writes the three
// security buffers Samba sent to testdata/.
func captureNullSession(t *testing.T, addr string) {
	c := dialSMB2(t, addr)
	// NEGOTIATE: the reply's security buffer is the NegTokenInit2 hint.
	nreq := negotiateRequest(wire.Dialect202, wire.Dialect210, wire.Dialect300, wire.Dialect302)
	nr := wire.NegotiateResponse(c.expect(wire.CmdNegotiate, &nreq, wire.StatusSuccess))
	if err := nr.Validate(); err != nil {
		t.Fatal(err)
	}
	hint := nr.SecurityBuffer()
	save(t, "samba-4.17-negotiate-spnego.bin", hint)
	if tok, err := spnego.DecodeNegTokenInit(hint); err != nil || !tok.Contains(spnego.OIDNTLMSSP) {
		t.Fatalf("hint: %v", err)
	}

	// SESSION_SETUP 1: SPNEGO NegTokenInit carrying the NTLM NEGOTIATE.
	neg := ntlmssp.DefaultNegotiate()
	sreq := wire.SessionSetupRequest{SecurityMode: uint8(wire.NegotiateSigningEnabled), SecurityBuffer: spnego.AppendNegTokenInit(nil, neg.AppendTo(nil))}
	sr := wire.SessionSetupResponse(c.expect(wire.CmdSessionSetup, &sreq, wire.StatusMoreProcessingRequired))
	if err := sr.Validate(); err != nil {
		t.Fatal(err)
	}
	save(t, "samba-4.17-session-setup-challenge.bin", sr.SecurityBuffer())
	resp, err := spnego.DecodeNegTokenResp(sr.SecurityBuffer())
	if err != nil {
		t.Fatal(err)
	}
	ch := ntlmssp.Challenge(resp.ResponseToken)
	if err := ch.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Logf("challenge flags %v", ch.Flags())

	// SESSION_SETUP 2: the anonymous AUTHENTICATE in a NegTokenResp.
	auth := ntlmssp.AnonymousAuthenticate(ch.Flags() & neg.Flags)
	sreq.SecurityBuffer = spnego.AppendNegTokenResp(nil, auth.AppendTo(nil), nil)
	sr = wire.SessionSetupResponse(c.expect(wire.CmdSessionSetup, &sreq, wire.StatusSuccess))
	if err := sr.Validate(); err != nil {
		t.Fatal(err)
	}
	// Samba 4.17 grants the anonymous logon with SessionFlags 0 (neither IS_NULL nor IS_GUEST),
	// so the flags alone cannot tell a null session; the status can.
	t.Logf("session flags 0x%04x", sr.SessionFlags())
	save(t, "samba-4.17-session-setup-accept.bin", sr.SecurityBuffer())
}

// checkNTLMv2 logs on as sambatest.TestUser the way the credentialed stage does: NTLMv2 with
// KEY_EXCH, with and without a MIC, and with a wrong password and a corrupted MIC, which Samba
// must refuse; with a MIC, the logon completes only with the SPNEGO mechListMIC too, and
// Samba's own mechListMIC is verified. It writes nothing.
func checkNTLMv2(t *testing.T, addr string) {
	for _, c := range []struct {
		name        string
		password    string
		mic         bool
		mechListMIC bool
		corrupt     bool
		want        wire.NTStatus
	}{
		{"password", sambatest.TestPassword, false, false, false, wire.StatusSuccess},
		// With the MIC (MsvAvFlags announcing it makes this "new SPNEGO"), Samba checks it and
		// then also wants the SPNEGO mechListMIC.
		{"password+MIC without mechListMIC", sambatest.TestPassword, true, false, false, wire.StatusMoreProcessingRequired},
		{"password+MIC+mechListMIC", sambatest.TestPassword, true, true, false, wire.StatusSuccess},
		{"wrong password", "wrong", false, false, false, 0xc000006d},            // STATUS_LOGON_FAILURE
		{"corrupted MIC", sambatest.TestPassword, true, true, true, 0xc000000d}, // STATUS_INVALID_PARAMETER
	} {
		t.Run(c.name, func(t *testing.T) {
			st, flags := ntlmv2Logon(t, addr, sambatest.TestUser, c.password, c.mic, c.mechListMIC, c.corrupt)
			t.Logf("status %v, session flags 0x%04x", st, flags)
			if st != c.want {
				t.Errorf("status %v, want %v", st, c.want)
			}
		})
	}
}

// ntlmv2Logon runs NEGOTIATE and both SESSION_SETUP round trips with a password and returns the
// final status and session flags.
func ntlmv2Logon(t *testing.T, addr, user, password string, mic, mechListMIC, corrupt bool) (wire.NTStatus, uint16) {
	c := dialSMB2(t, addr)
	nreq := negotiateRequest(wire.Dialect210, wire.Dialect300)
	if nr := wire.NegotiateResponse(c.expect(wire.CmdNegotiate, &nreq, wire.StatusSuccess)); nr.Validate() != nil {
		t.Fatal("negotiate")
	}
	neg := ntlmssp.Negotiate{Flags: ntlmssp.DefaultNegotiateFlags | ntlmssp.FlagKeyExch | ntlmssp.FlagSign, Version: ntlmssp.DefaultVersion}
	negBytes := neg.AppendTo(nil)
	sreq := wire.SessionSetupRequest{SecurityMode: uint8(wire.NegotiateSigningEnabled), SecurityBuffer: spnego.AppendNegTokenInit(nil, negBytes)}
	resp, err := spnego.DecodeNegTokenResp(wire.SessionSetupResponse(c.expect(wire.CmdSessionSetup, &sreq, wire.StatusMoreProcessingRequired)).SecurityBuffer())
	if err != nil {
		t.Fatal(err)
	}
	ch := ntlmssp.Challenge(resp.ResponseToken)
	if err := ch.Validate(); err != nil {
		t.Fatal(err)
	}
	var info ntlmssp.AVInfo
	if err := ch.AVInfo(&info); err != nil {
		t.Fatal(err)
	}
	domain := wire.DecodeUTF16LE(info.NbDomainName)
	p := ntlmcrypto.NTLMv2Auth{User: user, Domain: domain, Workstation: "SMBSWEEP", ResponseKeyNT: ntlmcrypto.NTOWFv2(password, user, domain),
		Time: wire.TimeToFiletime(time.Now()), IncludeMIC: mic}
	_, _ = rand.Read(p.ClientChallenge[:])
	_, _ = rand.Read(p.ExportedSessionKey[:])
	flags := ch.Flags() & neg.Flags
	auth, exported, err := p.AppendAuthenticate(nil, flags, negBytes, ch)
	if err != nil {
		t.Fatal(err)
	}
	if corrupt {
		auth[ntlmssp.MICOffset] ^= 0xff
	}
	// mechListMIC: GSS_GetMIC of the mechTypes the client sent, with the client's keys.
	mechTypes := spnego.NTLMMechTypeList()
	der := mechTypes.AppendDER(nil)
	var listMIC []byte
	if mechListMIC {
		s, err := ntlmcrypto.NewSigner(flags, exported, true)
		if err != nil {
			t.Fatal(err)
		}
		listMIC = s.Sign(nil, der)
	}
	sreq.SecurityBuffer = spnego.AppendNegTokenResp(nil, auth, listMIC)
	reply, st := c.call(wire.CmdSessionSetup, &sreq)
	if st != wire.StatusSuccess && st != wire.StatusMoreProcessingRequired {
		return st, 0
	}
	sr := wire.SessionSetupResponse(reply)
	if err := sr.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := spnego.DecodeNegTokenResp(sr.SecurityBuffer())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("negState %v (present %v), response token %d bytes, mechListMIC %x", r.NegState, r.HasNegState, len(r.ResponseToken), r.MechListMIC)
	if r.MechListMIC != nil {
		// Samba's mechListMIC over the same list, with the server's keys.
		s, err := ntlmcrypto.NewSigner(flags, exported, false)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Verify(der, r.MechListMIC) {
			t.Error("Samba's mechListMIC does not verify")
		}
	}
	return st, sr.SessionFlags()
}

func save(t *testing.T, name string, b []byte) {
	t.Helper()
	t.Logf("%s: %d bytes\n%s", name, len(b), hex.Dump(b))
	if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// stopFleet stops the test's smbd instance and reports one that would not stop.
func stopFleet(t *testing.T, f *sambatest.Fleet) {
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
}

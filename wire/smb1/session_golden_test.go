package smb1

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
	"github.com/smbsweep/smbsweep/wire/spnego"
)

// Golden replies of Samba 4.17.12 to the session layer, captured by session_capture_test.go
// (see testdata/README.md). Each test checks what the capture script asked for.

func sessionGolden(t testing.TB, step string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "samba-4.17-smb1-"+step+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sessionGoldenSteps lists every capture, for the fuzz seeds and the allocation test.
var sessionGoldenSteps = []string{
	"session-setup-challenge", "session-setup-ext", "session-setup-anonymous", "session-setup-nt-guest",
	"tree-connect-error", "tree-connect-disk", "tree-connect-ipc", "nt-create", "nt-create-error",
	"nt-create-pipe", "read-andx", "close", "write-andx", "find-first2", "find-next2", "find-next2-2", "find-next2-end",
	"query-path-info", "peek-named-pipe", "transact-nmpipe", "negotiate-nt",
}

func TestGoldenSessionSetupExtended(t *testing.T) {
	ch := SessionSetupResponse(sessionGolden(t, "session-setup-challenge"))
	if err := ch.Validate(); err != nil {
		t.Fatal(err)
	}
	if !ch.MoreProcessingRequired() || !ch.Extended() || ch.UID() == 0 {
		t.Fatalf("challenge round: status %v extended %v uid %d", ch.Err(), ch.Extended(), ch.UID())
	}
	tok, err := spnego.ResponseMechToken(ch.SecurityBlob())
	if err != nil {
		t.Fatal(err)
	}
	if err := ntlmssp.Challenge(tok).Validate(); err != nil {
		t.Fatal(err)
	}
	if got := string(ch.AppendNativeOS(nil)); got != "Windows 6.1" {
		t.Errorf("native os %q", got)
	}

	r := SessionSetupResponse(sessionGolden(t, "session-setup-ext"))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Err() != nil || !r.Extended() || r.Guest() || r.UID() != ch.UID() {
		t.Fatalf("final: %v extended %v guest %v uid %d", r.Err(), r.Extended(), r.Guest(), r.UID())
	}
	if n := len(r.SecurityBlob()); n != 29 { // NegTokenResp accept-completed with mechListMIC
		t.Errorf("security blob %d bytes", n)
	}
	for _, c := range []struct{ got, want string }{
		{string(r.AppendNativeOS(nil)), "Windows 6.1"},
		{string(r.AppendNativeLanMan(nil)), "Samba 4.17.12-Debian"},
		{string(r.AppendPrimaryDomain(nil)), "SMBSWEEP"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if r.Reply().AndXCommand() != CommandNoAndX {
		t.Errorf("andx command %#x", r.Reply().AndXCommand())
	}

	a := SessionSetupResponse(sessionGolden(t, "session-setup-anonymous"))
	if err := a.Validate(); err != nil || a.Err() != nil {
		t.Fatalf("anonymous: %v, %v", err, a.Err())
	}
	if !bytes.Equal(a.NativeOS(), r.NativeOS()) {
		t.Errorf("anonymous native os % x", a.NativeOS())
	}
}

// TestGoldenSessionSetupNT is the NT LM 0.12 form: a NEGOTIATE without extended security,
// then a guest logon; the reply's strings follow a pad byte.
func TestGoldenSessionSetupNT(t *testing.T) {
	n := NegotiateResponse(sessionGolden(t, "negotiate-nt"))
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	if n.ExtendedSecurity() || len(n.Challenge()) != 8 {
		t.Fatalf("extended %v challenge % x", n.ExtendedSecurity(), n.Challenge())
	}
	if d := string(n.AppendDomainName(nil)); d != "SMBSWEEP" {
		t.Errorf("domain %q", d)
	}
	r := SessionSetupResponse(sessionGolden(t, "session-setup-nt-guest"))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Extended() || !r.Guest() || r.SecurityBlob() != nil || r.Err() != nil {
		t.Fatalf("extended %v guest %v", r.Extended(), r.Guest())
	}
	if os, lm, dom := string(r.AppendNativeOS(nil)), string(r.AppendNativeLanMan(nil)), string(r.AppendPrimaryDomain(nil)); os != "Windows 6.1" || lm != "Samba 4.17.12-Debian" || dom != "SMBSWEEP" {
		t.Errorf("strings %q %q %q", os, lm, dom)
	}
}

func TestGoldenTreeConnect(t *testing.T) {
	d := TreeConnectResponse(sessionGolden(t, "tree-connect-disk"))
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Err() != nil || d.TID() == 0 || !d.Extended() {
		t.Fatalf("disk: %v tid %d", d.Err(), d.TID())
	}
	if s, fs := string(d.Service()), string(d.AppendNativeFileSystem(nil)); s != "A:" || fs != "NTFS" {
		t.Errorf("service %q fs %q", s, fs)
	}
	if m, ok := d.MaximalAccess(); !ok || m != 0x001f01ff { // FILE_ALL_ACCESS for the owner
		t.Errorf("maximal access %#x %v", m, ok)
	}
	if d.OptionalSupport()&SupportSearchBits == 0 {
		t.Errorf("optional support %#x", d.OptionalSupport())
	}
	i := TreeConnectResponse(sessionGolden(t, "tree-connect-ipc"))
	if err := i.Validate(); err != nil {
		t.Fatal(err)
	}
	if s, fs := string(i.Service()), i.NativeFileSystem(); s != "IPC" || len(fs) != 0 {
		t.Errorf("ipc service %q fs % x", s, fs)
	}
	e := TreeConnectResponse(sessionGolden(t, "tree-connect-error"))
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	if e.Err() != wire.NTStatus(0xc00000cc) || e.TID() != 0 || e.Extended() || e.Service() != nil {
		t.Fatalf("error reply: %v", e.Err())
	}
}

func TestGoldenFiles(t *testing.T) {
	c := NTCreateResponse(sessionGolden(t, "nt-create"))
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Err() != nil || c.FID() == 0 || c.EndOfFile() != 16 || c.Directory() || c.CreateAction() != 1 ||
		c.ResourceType() != ResourceDisk || c.ExtFileAttributes() != 0x80 {
		t.Fatalf("create: fid %d eof %d action %d attrs %#x", c.FID(), c.EndOfFile(), c.CreateAction(), c.ExtFileAttributes())
	}
	p := NTCreateResponse(sessionGolden(t, "nt-create-pipe"))
	if err := p.Validate(); err != nil || p.ResourceType() != ResourceMessagePipe {
		t.Fatalf("pipe: %v type %d", err, p.ResourceType())
	}
	e := NTCreateResponse(sessionGolden(t, "nt-create-error"))
	if err := e.Validate(); err != nil || e.Err() != wire.StatusObjectNameNotFound || e.FID() != 0 {
		t.Fatalf("missing file: %v, %v", err, e.Err())
	}
	r := ReadAndXResponse(sessionGolden(t, "read-andx"))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if string(r.Data()) != "hello over SMB1\n" {
		t.Fatalf("read %q", r.Data())
	}
	w := WriteAndXResponse(sessionGolden(t, "write-andx"))
	if err := w.Validate(); err != nil || w.Count() != 18 {
		t.Fatalf("write: %v count %d", err, w.Count())
	}
	cl := CloseResponse(sessionGolden(t, "close"))
	if err := cl.Validate(); err != nil || cl.Err() != nil {
		t.Fatalf("close: %v %v", err, cl.Err())
	}
}

// TestGoldenFind pages through page\* (". .. a b c d-😀 e") with SearchCount 2: FIND_FIRST2,
// then three FIND_NEXT2, the last with one entry and EndOfSearch.
func TestGoldenFind(t *testing.T) {
	var names []string
	steps := []string{"find-first2", "find-next2", "find-next2-2", "find-next2-end"}
	for i, step := range steps {
		r := TransactionResponse(sessionGolden(t, step))
		if err := r.Validate(CommandTransaction2); err != nil {
			t.Fatal(err)
		}
		if int(r.TotalDataCount()) != len(r.Data()) || int(r.TotalParameterCount()) != len(r.Parameters()) {
			t.Fatalf("%s: single-fragment totals %d/%d", step, r.TotalDataCount(), r.TotalParameterCount())
		}
		var p FindReplyParams
		if err := DecodeFindReplyParams(r.Parameters(), i == 0, &p); err != nil {
			t.Fatal(err)
		}
		last := i == len(steps)-1
		if want := map[bool]uint16{false: 2, true: 1}[last]; p.SearchCount != want || p.EndOfSearch != last {
			t.Fatalf("%s: %+v", step, p)
		}
		it := NewFindEntryIter(r.Data(), InfoFindFileBothDirectory, r.Reply().Unicode())
		var e FindEntry
		n := 0
		for it.Next(&e) {
			names = append(names, string(e.AppendName(nil, true)))
			n++
		}
		if it.Err() != nil || n != int(p.SearchCount) {
			t.Fatalf("%s: %d entries, %v", step, n, it.Err())
		}
	}
	want := map[string]bool{".": true, "..": true, "a.txt": true, "b.txt": true, "c.txt": true, "d-\U0001F600.txt": true, "e.txt": true}
	for _, n := range names {
		if !want[n] {
			t.Errorf("unexpected or repeated name %q", n)
		}
		delete(want, n)
	}
	if len(want) != 0 {
		t.Fatalf("missing %v from %q", want, names)
	}
}

func TestGoldenQueryPathInfo(t *testing.T) {
	r := TransactionResponse(sessionGolden(t, "query-path-info"))
	if err := r.Validate(CommandTransaction2); err != nil {
		t.Fatal(err)
	}
	f := FileAllInfo(r.Data())
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if f.EndOfFile() != 4 || f.Directory() || f.NumberOfLinks() != 1 || f.ExtFileAttributes() != 0x80 {
		t.Fatalf("eof %d dir %v links %d attrs %#x", f.EndOfFile(), f.Directory(), f.NumberOfLinks(), f.ExtFileAttributes())
	}
	if n := string(AppendString(nil, f.FileName(), true)); n != `\page\d-`+"\U0001F600"+`.txt` {
		t.Errorf("name %q", n)
	}
}

func TestGoldenPipes(t *testing.T) {
	p := TransactionResponse(sessionGolden(t, "peek-named-pipe"))
	if err := p.Validate(CommandTransaction); err != nil {
		t.Fatal(err)
	}
	// MS17-010: a patched server refuses PeekNamedPipe on FID 0 with INVALID_HANDLE.
	if p.Err() != wire.NTStatus(0xc0000008) || p.Data() != nil {
		t.Fatalf("peek: %v", p.Err())
	}
	r := TransactionResponse(sessionGolden(t, "transact-nmpipe"))
	if err := r.Validate(CommandTransaction); err != nil {
		t.Fatal(err)
	}
	d := r.Data()
	if r.Err() != nil || len(d) != 68 || d[0] != 5 || d[2] != 12 || r.SetupCount() != 0 {
		t.Fatalf("bind_ack % x", d)
	}
	if !bytes.Contains(d, []byte(`\pipe\srvsvc`)) {
		t.Errorf("secondary address missing: % x", d)
	}
}

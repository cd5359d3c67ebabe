package wire

import (
	"os"
	"path/filepath"
	"testing"
)

// Golden tests over messages captured from Samba 4.17 by `make goldens` (probes/capture_test.go;
// testdata/README.md). Each asserts what the captured server's configuration determines.

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("golden file missing (run make goldens): %v", err)
	}
	return b
}

func goldenHeader(t *testing.T, msg []byte, cmd Command, st NTStatus) Header {
	t.Helper()
	var h Header
	if err := DecodeHeader(msg, &h); err != nil {
		t.Fatal(err)
	}
	if h.Command != cmd || h.Status != st || h.Flags&FlagServerToRedir == 0 {
		t.Fatalf("header: command %s status %s flags %#x, want %s %s", h.Command, h.Status, h.Flags, cmd, st)
	}
	return h
}

func TestGoldenSambaNegotiateByConfig(t *testing.T) {
	for file, want := range map[string]struct {
		dialect  Dialect
		required bool
	}{
		"samba-default-negotiate.bin": {Dialect311, false},
		"samba-smb2_10-negotiate.bin": {Dialect210, false},
		"samba-nonull-negotiate.bin":  {Dialect311, false},
	} {
		msg := golden(t, file)
		goldenHeader(t, msg, CmdNegotiate, StatusSuccess)
		r := NegotiateResponse(msg)
		if err := r.Validate(); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if r.DialectRevision() != want.dialect || r.SigningRequired() != want.required || !r.SigningEnabled() {
			t.Errorf("%s: dialect %s signing req %v", file, r.DialectRevision(), r.SigningRequired())
		}
		if r.ServerStartTime() != 0 {
			t.Errorf("%s: Samba sends ServerStartTime 0, got %d", file, r.ServerStartTime())
		}
		if len(r.SecurityBuffer()) == 0 {
			t.Errorf("%s: no SPNEGO hint", file)
		}
	}
}

func TestGoldenSambaSessionSetup(t *testing.T) {
	msg := golden(t, "samba-default-session-setup-more-processing-required.bin")
	h := goldenHeader(t, msg, CmdSessionSetup, StatusMoreProcessingRequired)
	if h.SessionID == 0 {
		t.Error("first SESSION_SETUP response must assign a SessionId")
	}
	r := SessionSetupResponse(msg)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if buf := r.SecurityBuffer(); len(buf) < 100 || buf[0] != 0xa1 {
		t.Errorf("security buffer is not a SPNEGO NegTokenResp ([1] 0xa1): % x", buf[:min(len(buf), 8)])
	}

	msg = golden(t, "samba-default-session-setup.bin")
	goldenHeader(t, msg, CmdSessionSetup, StatusSuccess)
	r = SessionSetupResponse(msg)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	// Samba marks an anonymous logon with neither IS_GUEST nor IS_NULL in SMB2 SessionFlags.
	if got := SessionFlagNames(nil, r.SessionFlags()); len(got) != 0 {
		t.Errorf("anonymous session flags %v", got)
	}

	msg = golden(t, "samba-encrypt-session-setup-access-denied.bin")
	goldenHeader(t, msg, CmdSessionSetup, StatusAccessDenied)
	if err := ErrorResponse(msg).Validate(); err != nil {
		t.Errorf("error body: %v", err)
	}
}

func TestGoldenSambaTreeConnect(t *testing.T) {
	for file, want := range map[string]struct {
		st        NTStatus
		shareType uint8
	}{
		"samba-default-tree-connect.bin":                 {StatusSuccess, ShareTypePipe},
		"samba-default-tree-connect2.bin":                {StatusSuccess, ShareTypeDisk},
		"samba-nonull-tree-connect-access-denied.bin":    {StatusAccessDenied, 0},
		"samba-nonull-tree-connect-bad-network-name.bin": {StatusBadNetworkName, 0},
	} {
		msg := golden(t, file)
		h := goldenHeader(t, msg, CmdTreeConnect, want.st)
		if want.st != StatusSuccess {
			if err := ErrorResponse(msg).Validate(); err != nil {
				t.Errorf("%s: %v", file, err)
			}
			continue
		}
		r := TreeConnectResponse(msg)
		if err := r.Validate(); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if h.TreeID == 0 || r.ShareType() != want.shareType || r.MaximalAccess() == 0 {
			t.Errorf("%s: tree %d type %d access %#x", file, h.TreeID, r.ShareType(), r.MaximalAccess())
		}
	}
}

// The default server's public share holds docs/manual.txt: 64 lines of "public manual line\n".
const goldenManualSize = 64 * 19 // len("public manual line\n") == 19

func TestGoldenSambaCreateQueryClose(t *testing.T) {
	msg := golden(t, "samba-default-create.bin")
	goldenHeader(t, msg, CmdCreate, StatusSuccess)
	c := CreateResponse(msg)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.CreateAction() != CreateActionOpened || c.EndOfFile() != goldenManualSize || c.FileAttributes()&FileAttributeDirectory != 0 {
		t.Errorf("create: action %d eof %d attrs %#x", c.CreateAction(), c.EndOfFile(), c.FileAttributes())
	}
	if c.FileID() == (FileID{}) {
		t.Error("zero FileId")
	}
	lw, ok := FiletimeToTime(c.LastWriteTime())
	if !ok || lw.Year() < 2020 {
		t.Errorf("last write time %v", lw)
	}

	msg = golden(t, "samba-default-query-info.bin") // FileBasicInformation
	goldenHeader(t, msg, CmdQueryInfo, StatusSuccess)
	q := QueryInfoResponse(msg)
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	basic := FileBasicInformation(q.OutputBuffer())
	if err := basic.Validate(); err != nil {
		t.Fatal(err)
	}
	if basic.LastWriteTime() != c.LastWriteTime() || basic.FileAttributes() != c.FileAttributes() {
		t.Errorf("basic info disagrees with CREATE: %d/%d %#x/%#x", basic.LastWriteTime(), c.LastWriteTime(), basic.FileAttributes(), c.FileAttributes())
	}

	msg = golden(t, "samba-default-query-info2.bin") // FileStandardInformation
	q = QueryInfoResponse(msg)
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	std := FileStandardInformation(q.OutputBuffer())
	if err := std.Validate(); err != nil {
		t.Fatal(err)
	}
	if std.EndOfFile() != goldenManualSize || std.Directory() || std.NumberOfLinks() != 1 || std.AllocationSize() < int64(goldenManualSize) {
		t.Errorf("standard info: eof %d dir %v links %d alloc %d", std.EndOfFile(), std.Directory(), std.NumberOfLinks(), std.AllocationSize())
	}

	msg = golden(t, "samba-default-close.bin")
	goldenHeader(t, msg, CmdClose, StatusSuccess)
	if err := CloseResponse(msg).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestGoldenSambaZeroAlloc(t *testing.T) {
	create := CreateResponse(golden(t, "samba-default-create.bin"))
	tree := TreeConnectResponse(golden(t, "samba-default-tree-connect.bin"))
	ss := SessionSetupResponse(golden(t, "samba-default-session-setup-more-processing-required.bin"))
	n := testing.AllocsPerRun(100, func() {
		if create.Validate() != nil || tree.Validate() != nil || ss.Validate() != nil {
			t.Fatal("validate")
		}
		_ = create.EndOfFile() + uint64(tree.MaximalAccess()) + uint64(len(ss.SecurityBuffer()))
	})
	if n != 0 {
		t.Fatalf("%v allocs decoding captured messages", n)
	}
}

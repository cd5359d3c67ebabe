package hostile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Captured Samba 4.17 replies, read from the testdata directories of the wire packages (see the
// README.md next to each file for how they were captured). The valid parts of every hostile
// reply come from these bytes.
const (
	CapNegotiate         = "wire/testdata/samba-default-negotiate.bin"
	CapNegotiate210      = "wire/testdata/samba-4.17-negotiate-210.bin"
	CapSessionSetupMore  = "wire/testdata/samba-default-session-setup-more-processing-required.bin"
	CapSessionSetupDone  = "wire/testdata/samba-default-session-setup.bin"
	CapTreeConnect       = "wire/testdata/samba-default-tree-connect.bin"
	CapCreate            = "wire/testdata/samba-default-create.bin"
	CapClose             = "wire/testdata/samba-default-close.bin"
	CapChallenge         = "wire/ntlmssp/testdata/samba-default-challenge.bin"
	CapNegTokenResp      = "wire/spnego/testdata/samba-default-negtokenresp-challenge.bin"
	CapBindAck           = "wire/dcerpc/testdata/samba-4.17-bind-ack.bin"
	CapNetShareEnum      = "wire/dcerpc/testdata/samba-4.17-netshareenum-response.bin"
	CapSMB1Disabled      = "wire/smb1/testdata/samba-4.17-smb1-disabled-negotiate.bin"
	CapSMB1NT1           = "wire/smb1/testdata/samba-4.17-nt1-negotiate.bin"
	CapSMB1NonExtended   = "wire/smb1/testdata/samba-4.17-nt1-negotiate-non-extended.bin"
	modulePath           = "module github.com/smbsweep/smbsweep"
	maxCaptureFileLength = 1 << 16
)

var captures struct {
	once sync.Once
	root string
	err  error
	mu   sync.Mutex
	data map[string][]byte
}

// repoRoot finds the module root by walking up from the working directory (tests run in their
// package directory) to the go.mod of github.com/smbsweep/smbsweep.
func repoRoot() (string, error) {
	captures.once.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			captures.err = err
			return
		}
		for {
			b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && bytes.Contains(b, []byte(modulePath)) {
				captures.root = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				captures.err = fmt.Errorf("hostile: no go.mod of %q above the working directory", modulePath)
				return
			}
			dir = parent
		}
	})
	return captures.root, captures.err
}

// Capture returns a copy of the captured file at path (relative to the module root, one of the
// Cap* constants). It panics when the file cannot be read: the captures are part of the
// repository, so a missing one is a broken checkout, not a test outcome.
func Capture(path string) []byte {
	captures.mu.Lock()
	defer captures.mu.Unlock()
	if b, ok := captures.data[path]; ok {
		return bytes.Clone(b)
	}
	root, err := repoRoot()
	if err != nil {
		panic(err)
	}
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
	if err != nil {
		panic(fmt.Sprintf("hostile: capture %s: %v", path, err))
	}
	if len(b) > maxCaptureFileLength {
		panic(fmt.Sprintf("hostile: capture %s is %d bytes, more than a capture should be", path, len(b)))
	}
	if captures.data == nil {
		captures.data = map[string][]byte{}
	}
	captures.data[path] = b
	return bytes.Clone(b)
}

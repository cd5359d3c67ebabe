// Package smb1only starts, once per test binary, a small Samba fleet of SMB1-only servers
// for the tests of the credentialed commands over SMB1 (client, cmd/smbsweep, daemon): smbd
// with "server min protocol = NT1" and "server max protocol = NT1", so that it answers the
// SMB1 NEGOTIATE and closes the connection on an SMB2 one, once with signing "auto" and once
// with "server signing = mandatory"; and a third that speaks both (for -smb1 and -ports
// tests). The private share of each holds the fixtures of issue
// 13: a 5 000-entry directory, a 5 GiB sparse file, names outside the BMP and a 3 MiB file.
//
// internal/sambatest waits for every server to answer an SMB2 NEGOTIATE before it returns,
// so the servers start with SMB2 enabled and lose it by a configuration reload (SIGHUP) once
// they are up; Start checks that an SMB2 NEGOTIATE is then refused and an SMB1 one answered.
package smb1only

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
)

// Instance names.
const (
	Plain   = "nt1"     // SMB1 only, signing auto
	Signing = "nt1sign" // SMB1 only, signing mandatory
	Dual    = "nt1dual" // SMB1 and SMB2/3 (min protocol NT1), signing auto
)

// Fixtures in the private share (sambatest.SharePrivate) of every instance.
const (
	ManyDir    = "many"
	ManyCount  = 5000
	SparseName = "sparse-5g.bin"
	SparseSize = 5 << 30
	BigName    = "big-3m.bin"
	BigSize    = 3 << 20
	UniDir     = "uni"
	EmojiName  = "smile-\U0001F600.txt"
	CJKName    = "\U00020000-ext-b.txt"
	EmojiText  = "emoji \U0001F600 content\n"
)

// BigContent is the 3 MiB file's content: a pattern that differs at every 4-byte word.
func BigContent() []byte {
	b := make([]byte, BigSize)
	for i := 0; i < len(b); i += 4 {
		v := uint32(i / 4 * 2654435761)
		binary.LittleEndian.PutUint32(b[i:], v)
	}
	return b
}

var fleet struct {
	once sync.Once
	f    *sambatest.Fleet
	err  error
	skip bool
}

// Require returns the fleet, starting it on first use; it skips the test when Samba or root
// is missing (fails with sambatest.EnvRequire=1).
func Require(t testing.TB) *sambatest.Fleet {
	t.Helper()
	fleet.once.Do(func() { fleet.f, fleet.skip, fleet.err = start() })
	if fleet.err != nil {
		if fleet.skip && os.Getenv(sambatest.EnvRequire) != "1" {
			t.Skipf("%v (set %s=1 to make this a failure)", fleet.err, sambatest.EnvRequire)
		}
		t.Fatalf("SMB1-only Samba fleet: %v", fleet.err)
	}
	return fleet.f
}

// Stop stops the fleet if it was started; call it from TestMain after m.Run.
func Stop() error {
	if fleet.f == nil {
		return nil
	}
	return fleet.f.Stop()
}

func start() (*sambatest.Fleet, bool, error) {
	if err := sambatest.SambaAvailable(); err != nil {
		return nil, true, err
	}
	if os.Geteuid() != 0 {
		return nil, true, errors.New("the Samba fleet needs root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nt1 := []string{"server min protocol = NT1", "map to guest = Bad User"}
	f, err := sambatest.StartFleet(ctx, sambatest.Options{NoWarmUp: true, RemoveOnStop: os.Getenv(sambatest.EnvKeep) != "1",
		Configs: []sambatest.Config{
			{Name: Plain, Global: nt1, Shares: sambatest.StandardShares()},
			{Name: Signing, Global: append(nt1, "server signing = mandatory"), Shares: sambatest.StandardShares()},
			{Name: Dual, Global: nt1, Shares: sambatest.StandardShares()},
		}})
	if err != nil {
		return nil, false, err
	}
	for _, s := range f.Servers {
		if err := fixtures(s); err != nil {
			_ = f.Stop()
			return nil, false, err
		}
		if s.Name == Dual {
			continue
		}
		if err := smb1Only(ctx, s); err != nil {
			_ = f.Stop()
			return nil, false, err
		}
	}
	return f, false, nil
}

// smb1Only adds "server max protocol = NT1" to the server's configuration, makes smbd reload
// it, and waits until an SMB2 NEGOTIATE is refused while an SMB1 one is answered.
func smb1Only(ctx context.Context, s *sambatest.Server) error {
	conf, err := os.ReadFile(s.ConfPath)
	if err != nil {
		return err
	}
	const minLine = "\tserver min protocol = NT1\n"
	if !strings.Contains(string(conf), minLine) {
		return fmt.Errorf("%s: no %q line", s.ConfPath, strings.TrimSpace(minLine))
	}
	conf = []byte(strings.Replace(string(conf), minLine, minLine+"\tserver max protocol = NT1\n", 1))
	if err := os.WriteFile(s.ConfPath, conf, 0o644); err != nil {
		return err
	}
	if err := syscall.Kill(s.PID, syscall.SIGHUP); err != nil {
		return fmt.Errorf("reloading smbd %d: %w", s.PID, err)
	}
	var last error
	for {
		smb2, err2 := answersSMB2(ctx, s.AddrPort())
		smb1, err1 := answersSMB1(ctx, s.AddrPort())
		if !smb2 && smb1 {
			return nil
		}
		last = fmt.Errorf("SMB2 answered %v (%v), SMB1 answered %v (%v)", smb2, err2, smb1, err1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not become SMB1-only after the reload: %v", s, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// exchange sends one framed message and returns the first 5 bytes of the reply's SMB header
// (protocol id and command), or the read error.
func exchange(ctx context.Context, ap netip.AddrPort, msg []byte) ([]byte, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", ap.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(msg)))
	if _, err := c.Write(append(frame, msg...)); err != nil {
		return nil, err
	}
	var hdr [9]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	return hdr[4:], nil
}

// answersSMB2 sends an SMB2 NEGOTIATE (dialect 2.0.2) and reports whether an SMB2 reply came.
func answersSMB2(ctx context.Context, ap netip.AddrPort) (bool, error) {
	le := binary.LittleEndian
	m := []byte{0xFE, 'S', 'M', 'B'}
	m = le.AppendUint16(m, 64)
	m = append(m, make([]byte, 58)...)
	m = le.AppendUint16(m, 36) // StructureSize
	m = le.AppendUint16(m, 1)  // DialectCount
	m = le.AppendUint16(m, 1)  // SecurityMode
	m = append(m, make([]byte, 2+4+16+8)...)
	m = le.AppendUint16(m, 0x202)
	h, err := exchange(ctx, ap, m)
	return err == nil && string(h[:4]) == "\xfeSMB", err
}

// answersSMB1 sends an SMB1 NEGOTIATE offering NT LM 0.12 and reports whether an SMB1 reply
// came.
func answersSMB1(ctx context.Context, ap netip.AddrPort) (bool, error) {
	m := []byte{0xFF, 'S', 'M', 'B', 0x72}
	m = append(m, make([]byte, 4)...)          // status
	m = append(m, 0x18)                        // flags
	m = append(m, 0x01, 0xC8)                  // flags2: long names, NT status, unicode
	m = append(m, make([]byte, 12+2+2+2+2)...) // PIDHigh, signature, reserved, TID, PID, UID
	m = append(m, 1, 0)                        // MID
	m = append(m, 0)                           // WordCount
	dialect := append([]byte{0x02}, "NT LM 0.12\x00"...)
	m = binary.LittleEndian.AppendUint16(m, uint16(len(dialect)))
	m = append(m, dialect...)
	h, err := exchange(ctx, ap, m)
	return err == nil && string(h[:4]) == "\xffSMB", err
}

// fixtures creates the files in the private share, owned by the test user.
func fixtures(s *sambatest.Server) error {
	root := s.SharePath(sambatest.SharePrivate)
	if root == "" {
		return fmt.Errorf("%s has no private share", s.Name)
	}
	u, err := user.Lookup(sambatest.TestUser)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	many := filepath.Join(root, ManyDir)
	if err := os.MkdirAll(many, 0o755); err != nil {
		return err
	}
	for i := range ManyCount {
		if err := os.WriteFile(filepath.Join(many, fmt.Sprintf("file-%05d.txt", i)), nil, 0o644); err != nil {
			return err
		}
	}
	sparse := filepath.Join(root, SparseName)
	if err := os.WriteFile(sparse, nil, 0o644); err != nil {
		return err
	}
	if err := os.Truncate(sparse, SparseSize); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, BigName), BigContent(), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(root, UniDir), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, UniDir, EmojiName), []byte(EmojiText), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, UniDir, CJKName), []byte("ext b\n"), 0o644); err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

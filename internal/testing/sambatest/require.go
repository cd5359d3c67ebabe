package sambatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// EnvRequire, when "1", turns a missing Samba into a test failure instead of
// a skip (make test and CI set it).
const EnvRequire = "SMBSWEEP_REQUIRE_SAMBA"

// EnvKeep, when "1", keeps the shared fleet's directory after the tests even
// when they pass.
const EnvKeep = "SMBSWEEP_KEEP_FLEET"

var (
	shared struct {
		once  sync.Once
		fleet *Fleet
		err   error
		skip  bool
	}
	mainActive atomic.Bool
)

// Main is the TestMain of a package whose tests call Require:
//
//	func TestMain(m *testing.M) { sambatest.Main(m) }
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the tests, then stops the shared fleet if one was started. The
// fleet directory is removed when the tests passed (unless EnvKeep is set)
// and kept, with its path printed, when they failed.
func Run(m *testing.M) int {
	mainActive.Store(true)
	code := m.Run()
	if f := shared.fleet; f != nil {
		keep := code != 0 || os.Getenv(EnvKeep) == "1"
		f.opts.RemoveOnStop = !keep
		if err := f.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "sambatest: stopping the fleet: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		if keep {
			fmt.Fprintf(os.Stderr, "sambatest: fleet directory kept: %s\n", f.Dir)
		}
	}
	return code
}

// Require returns the fleet shared by all tests of this test binary,
// starting it on first use. When Samba is missing or this is not root it
// skips the test, or fails it when EnvRequire=1. The package's TestMain must
// call Main or Run, which stop the fleet after the tests.
func Require(t testing.TB) *Fleet {
	t.Helper()
	if !mainActive.Load() {
		t.Fatal("sambatest.Require: the package's TestMain must call sambatest.Main(m) (or Run) so the fleet is stopped after the tests")
	}
	shared.once.Do(func() {
		shared.fleet, shared.skip, shared.err = startShared()
	})
	if shared.err != nil {
		if shared.skip && os.Getenv(EnvRequire) != "1" {
			t.Skipf("%v (set %s=1 to make this a failure)", shared.err, EnvRequire)
		}
		t.Fatalf("Samba test fleet unavailable: %v", shared.err)
	}
	return shared.fleet
}

// startShared starts the shared fleet; skip tells whether the failure is an
// environment that simply lacks Samba (or root).
func startShared() (*Fleet, bool, error) {
	if !supported {
		return nil, true, errUnsupported
	}
	if err := SambaAvailable(); err != nil {
		return nil, true, err
	}
	if os.Geteuid() != 0 {
		return nil, true, errors.New("sambatest: the Samba fleet needs root (smbd switches users and binds port 445)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f, err := StartFleet(ctx, Options{})
	return f, false, err
}

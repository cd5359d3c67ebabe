package daemon

import (
	"fmt"
	"os"
	"testing"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/internal/testing/smb1only"
)

func TestMain(m *testing.M) {
	code := sambatest.Run(m)
	if err := smb1only.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the SMB1-only fleet:", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

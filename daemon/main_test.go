package daemon

import (
	"testing"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
)

func TestMain(m *testing.M) { sambatest.Main(m) }

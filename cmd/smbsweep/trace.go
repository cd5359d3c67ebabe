package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// tracer writes every SMB message to DIR/<ip>_<port>/<seq>-<conn>-<sent|recv>-<command>.bin,
// for debugging and for capturing golden files from real servers (make goldens).
type tracer struct {
	dir string
	mu  sync.Mutex
	seq map[string]int
}

func newTracer(dir string) (*tracer, error) {
	if err := output.MkdirAll(dir, true); err != nil {
		return nil, err
	}
	return &tracer{dir: dir, seq: map[string]int{}}, nil
}

func (t *tracer) trace(target probes.Target, conn string, dir transport.Direction, msg []byte) {
	host := strings.NewReplacer(":", "_", "[", "", "]", "").Replace(target.String())
	t.mu.Lock()
	n := t.seq[host]
	t.seq[host] = n + 1
	t.mu.Unlock()
	way := "sent"
	if dir == transport.Received {
		way = "recv"
	}
	name := fmt.Sprintf("%03d-%s-%s-%s.bin", n, conn, way, messageName(msg))
	hdir := filepath.Join(t.dir, host)
	if err := output.MkdirAll(hdir, true); err != nil {
		return
	}
	if fh, err := output.OpenFile(filepath.Join(hdir, name), os.O_WRONLY|os.O_TRUNC, true); err == nil {
		_, _ = fh.Write(msg)
		fh.Close()
	}
}

// messageName names a message by its protocol and command, e.g. smb2-NEGOTIATE or smb1-0x72.
func messageName(msg []byte) string {
	if len(msg) < 16 {
		return "short"
	}
	switch binary.LittleEndian.Uint32(msg) {
	case wire.ProtocolSMB2:
		return "smb2-" + wire.Command(binary.LittleEndian.Uint16(msg[12:])).String()
	case wire.ProtocolSMB1:
		return fmt.Sprintf("smb1-0x%02x", msg[4])
	}
	return "other"
}

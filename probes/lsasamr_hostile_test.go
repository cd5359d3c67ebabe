package probes_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/hostile"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/dcerpc"
)

// sambaStub returns the stub of a captured Samba LSA/SAMR reply (wire/dcerpc/testdata).
func sambaStub(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "wire", "dcerpc", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ra dcerpc.Reassembler
	ra.Reset(make([]byte, 0, 64<<10), binary.LittleEndian.Uint32(b[12:]), 1<<20)
	if _, err := ra.Write(b); err != nil || !ra.Done() {
		t.Fatalf("%s: %v", name, err)
	}
	return ra.Stub()
}

// ioctlIn returns the input buffer of an SMB2 IOCTL request.
func ioctlIn(msg []byte) []byte {
	const body = wire.HeaderSize
	if len(msg) < body+32 {
		return nil
	}
	off, n := binary.LittleEndian.Uint32(msg[body+24:]), binary.LittleEndian.Uint32(msg[body+28:])
	if uint64(off)+uint64(n) > uint64(len(msg)) {
		return nil
	}
	return msg[off : off+n]
}

// lsaServer is a scripted SMB server whose \lsarpc and \samr answer as Samba did (the captured
// replies), except where stubs overrides the reply stub of an (interface, opnum) or bindGarbage
// answers the BIND of an interface with garbage.
type lsaServer struct {
	mu          sync.Mutex
	iface       map[int]string // per connection: the interface of the last BIND ("lsa", "samr")
	stubs       map[string][]byte
	bindGarbage string
}

func (l *lsaServer) smb(t *testing.T) *hostile.SMB {
	defaults := map[string][]byte{
		"lsa/44":     sambaStub(t, "samba-4.17-lsa-lsaropenpolicy2-response.bin"),
		"lsa/7":      sambaStub(t, "samba-4.17-lsa-lsarqueryinformationpolicy-response.bin"),
		"lsa/15":     sambaStub(t, "samba-4.17-lsa-lsarlookupsids-response.bin"),
		"lsa/0":      sambaStub(t, "samba-4.17-lsa-lsarclose-response.bin"),
		"samr/57":    sambaStub(t, "samba-4.17-samr-samrconnect2-response.bin"),
		"samr/6":     sambaStub(t, "samba-4.17-samr-samrenumeratedomainsinsamserver-response.bin"),
		"samr/5":     sambaStub(t, "samba-4.17-samr-samrlookupdomaininsamserver-response.bin"),
		"samr/7":     sambaStub(t, "samba-4.17-samr-samropendomain-response.bin"),
		"samr/1":     sambaStub(t, "samba-4.17-samr-samrclosehandle-response.bin"),
		"samr/46/1":  sambaStub(t, "samba-4.17-samr-samrqueryinformationdomain2-response.bin"),
		"samr/46/12": sambaStub(t, "samba-4.17-samr-samrqueryinformationdomain2-2-response.bin"),
	}
	faultPDU, err := os.ReadFile(filepath.Join("..", "wire", "dcerpc", "testdata", "samba-4.17-lsa-lsarqueryinformationpolicy2-fault.bin"))
	if err != nil {
		t.Fatal(err)
	}
	l.iface = map[int]string{}
	return &hostile.SMB{Steps: map[hostile.Step]hostile.Responder{
		hostile.StepBind: func(r *hostile.Request) hostile.Action {
			in := ioctlIn(r.Msg)
			name := ""
			if len(in) >= 52 {
				switch {
				case bytes.Equal(in[32:52], dcerpc.LSARPCSyntax.AppendTo(nil)):
					name = "lsa"
				case bytes.Equal(in[32:52], dcerpc.SAMRSyntax.AppendTo(nil)):
					name = "samr"
				}
			}
			l.mu.Lock()
			l.iface[r.Conn] = name
			l.mu.Unlock()
			if name != "" && name == l.bindGarbage {
				return hostile.Reply(hostile.IoctlReply(r, wire.StatusSuccess, bytes.Repeat([]byte{0x05, 0xff}, 40)))
			}
			return r.Server.Default(r)
		},
		hostile.StepRPC: func(r *hostile.Request) hostile.Action {
			in := ioctlIn(r.Msg)
			l.mu.Lock()
			name := l.iface[r.Conn]
			l.mu.Unlock()
			callID := binary.LittleEndian.Uint32(in[12:])
			opnum := binary.LittleEndian.Uint16(in[22:])
			key := name + "/" + strconv.Itoa(int(opnum))
			if name == "samr" && opnum == 46 {
				// Class 1 or 12, from the request's last two bytes.
				key += "/" + strconv.Itoa(int(binary.LittleEndian.Uint16(in[len(in)-2:])))
			}
			if key == "lsa/46" {
				f := bytes.Clone(faultPDU)
				binary.LittleEndian.PutUint32(f[12:], callID)
				return hostile.Reply(hostile.IoctlReply(r, wire.StatusSuccess, f))
			}
			stub, ok := l.stubs[key]
			if !ok {
				stub = defaults[key]
			}
			return hostile.Reply(hostile.IoctlReply(r, wire.StatusSuccess, hostile.ResponseFragments(callID, stub, 0)))
		},
	}}
}

// TestLSASAMRHostile: an LSA reply that claims 10^6 names, an NDR array count of 2^32-1 in a
// SAMR reply and garbage in answer to the LSA BIND each end their stage in a protocol error that
// names the call and the bound, with the rest of the record kept and the scan going on (the
// other stage still runs on the same connection), in bounded memory.
func TestLSASAMRHostile(t *testing.T) {
	le := binary.LittleEndian
	million := le.AppendUint32(nil, 0) // ReferencedDomains NULL
	million = le.AppendUint32(million, 1_000_000)
	million = le.AppendUint32(million, 0x20000)
	million = le.AppendUint32(million, 1_000_000)
	million = append(million, make([]byte, 64)...)
	maxCount := le.AppendUint32(nil, 0) // EnumerationContext
	maxCount = le.AppendUint32(maxCount, 0x20000)
	maxCount = le.AppendUint32(maxCount, 0xffffffff) // EntriesRead
	maxCount = le.AppendUint32(maxCount, 0x20004)
	maxCount = le.AppendUint32(maxCount, 0xffffffff) // conformance
	maxCount = append(maxCount, make([]byte, 64)...)
	for _, c := range []struct {
		name                string
		srv                 *lsaServer
		bad, good, wantErr  string
		lsaExposed, sidTran string
	}{
		{"lsa claims a million names", &lsaServer{stubs: map[string][]byte{"lsa/15": million}},
			"lsa", "samr", "LsarLookupSids response: 1000000 translated names > 1000", "true", "null"},
		{"samr array count 2^32-1", &lsaServer{stubs: map[string][]byte{"samr/6": maxCount}},
			"samr", "lsa", "SamrEnumerateDomainsInSamServer response: EntriesRead 4294967295 > 64", "true", "true"},
		{"garbage to the LSA BIND", &lsaServer{bindGarbage: "lsa"},
			"lsa", "samr", "LSARPC BIND_ACK", "null", "null"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := hostile.StartT(t, c.srv.smb(t).Handler())
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r, wall := runHostile(t, hostileCase{stages: []string{"negotiate", "session", "lsa", "samr"}, timeout: 10 * time.Second, session: 5 * time.Second}, srv)
			runtime.ReadMemStats(&after)
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 32<<20 {
				t.Errorf("the probe allocated %d MiB", grown>>20)
			}
			bad, good := r.Stages[probes.StageName(c.bad)], r.Stages[probes.StageName(c.good)]
			if bad == nil || bad.Status != probes.StageErrored || !strings.Contains(bad.Error, c.wantErr) {
				t.Errorf("stage %s %+v, want an error containing %q", c.bad, bad, c.wantErr)
			}
			if good == nil || good.Status != probes.StageOK {
				t.Errorf("stage %s %+v, want ok: the scan goes on", c.good, good)
			}
			if r.Status != probes.StatusSMB || wall > 8*time.Second {
				t.Errorf("status %s after %s", r.Status, wall)
			}
			if len(r.LSA) != 1 || tri(r.LSA[0].Exposed) != c.lsaExposed || tri(r.LSA[0].SIDTranslation) != c.sidTran {
				t.Errorf("lsa %+v, want exposed %s, sid_translation %s", r.LSA, c.lsaExposed, c.sidTran)
			}
			if f := finding(r, probes.FindingAnonymousSIDTranslation); f == nil || tri(f.Value) != c.sidTran {
				t.Errorf("anonymous_sid_translation %+v, want %s", f, c.sidTran)
			}
		})
	}
}

package sambatest

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// Test credentials present in every instance's passdb. They exist only on the
// throw-away Samba instances this package starts on loopback addresses; they
// are not secrets of any real system.
const (
	TestUser     = "smbsweep-test"
	TestPassword = "Sweep-Test-1"
	// Workgroup is the workgroup of every default configuration.
	Workgroup = "SMBSWEEP"
)

// Config describes one smbd instance: the extra [global] lines that make it
// differ from the common base, its shares, and what a correct scanner must
// report about it.
type Config struct {
	// Name identifies the instance ("default", "smb1", ...). It names the
	// instance directory, so it must be a short lower-case word.
	Name string
	// NetBIOSName overrides the derived "SWEEP-<NAME>" (at most 15 bytes).
	NetBIOSName string
	// Global holds extra [global] lines ("server signing = mandatory"),
	// appended after the common base so they override it.
	Global []string
	// Shares are the file shares; IPC$ is always present.
	Shares []ShareConfig
	// Expect is what the configuration implies for a scanner.
	Expect Expect
	// RPCDaemons names rpcd_* servers samba-dcerpcd runs besides the default ones
	// (rpcServices), e.g. "rpcd_spoolss" or "rpcd_fsrvp".
	RPCDaemons []string
}

// Expect is what a scan of an instance should find, derived by hand from the
// instance's smb.conf and checked against smbclient by this package's tests
// where smbclient can observe it.
type Expect struct {
	SMB1               bool   // an SMB1 "NT LM 0.12" NEGOTIATE succeeds
	MaxDialect         string // highest SMB2 dialect: "2.1" or "3.1.1"
	SigningRequired    bool   // SMB2 NEGOTIATE SecurityMode has SIGNING_REQUIRED
	EncryptionRequired bool   // server smb encrypt = required
	NullSession        bool   // an anonymous session can connect to IPC$
	Guest              bool   // an unknown user is mapped to the guest account
	// Shares lists the disk shares an authenticated share enumeration
	// returns (without IPC$), sorted.
	Shares []string
	// NoSMB2 means the server speaks SMB1 only: it closes the connection in
	// answer to an SMB2 NEGOTIATE (server max protocol = NT1); MaxDialect is "".
	NoSMB2 bool
}

// ShareConfig is one [share] section. The share directory is created under
// the instance directory as shares/<Name>.
type ShareConfig struct {
	Name string
	// Params are the share's smb.conf lines ("guest ok = yes"); "path" is
	// added automatically.
	Params []string
	// Files maps slash-separated paths relative to the share root to their
	// contents; parent directories are created.
	Files map[string]string
	// Mode is the share directory's permission bits (default 0755).
	Mode fs.FileMode
	// Owner, when set, is the unix user that owns the share directory and
	// its files (for shares a user must be able to write to).
	Owner string
}

// Standard share names of DefaultConfigs.
const (
	SharePublic  = "public"
	ShareDropbox = "dropbox"
	SharePrivate = "private"
)

// StandardShares returns the shares every default configuration exports:
// a read-only guest share, a writable guest share and a share for TestUser.
func StandardShares() []ShareConfig {
	return []ShareConfig{
		{
			Name:   SharePublic,
			Params: []string{"comment = Public files", "guest ok = yes", "read only = yes", "browseable = yes"},
			Files: map[string]string{
				"README.txt":          "smbsweep test share: public, read-only, guest ok\n",
				"data/numbers.csv":    "n,square\n1,1\n2,4\n3,9\n",
				"data/empty.txt":      "",
				"docs/manual.txt":     strings.Repeat("public manual line\n", 64),
				"docs/nested/deep.md": "# deep\n",
			},
		},
		{
			Name:   ShareDropbox,
			Params: []string{"comment = Guest drop box", "guest ok = yes", "read only = no", "browseable = yes", "create mask = 0666", "directory mask = 0777"},
			Files:  map[string]string{"upload-here.txt": "drop files here\n"},
			Mode:   0o777,
		},
		{
			Name:   SharePrivate,
			Params: []string{"comment = Test user only", "valid users = " + TestUser, "read only = no", "browseable = yes"},
			Files: map[string]string{
				"secret.txt":            "smbsweep private file\n",
				"reports/q1.txt":        "quarter one\n",
				"reports/q2.txt":        "quarter two\n",
				"keys/id_test.txt":      "not a real key\n",
				"empty-dir/.keep":       "",
				"large/ten-kib.bin":     strings.Repeat("0123456789abcdef", 640),
				"unicode/caf\u00e9.txt": "caf\u00e9\n",
			},
			Mode:  0o750,
			Owner: TestUser,
		},
	}
}

// DefaultConfigs returns the standard fleet: one instance per behaviour the
// scanner must tell apart.
func DefaultConfigs() []Config {
	std := []string{ShareDropbox, SharePrivate, SharePublic}
	guestAll := []string{"map to guest = Bad User"}
	return []Config{
		{
			Name:   "default",
			Global: guestAll,
			Shares: StandardShares(),
			Expect: Expect{MaxDialect: "3.1.1", NullSession: true, Guest: true, Shares: std},
		},
		{
			Name:   "smb1",
			Global: append([]string{"server min protocol = NT1"}, guestAll...),
			Shares: StandardShares(),
			Expect: Expect{SMB1: true, MaxDialect: "3.1.1", NullSession: true, Guest: true, Shares: std},
		},
		{
			Name:   "signing",
			Global: append([]string{"server signing = mandatory"}, guestAll...),
			Shares: StandardShares(),
			Expect: Expect{MaxDialect: "3.1.1", SigningRequired: true, NullSession: true, Guest: true, Shares: std},
		},
		{
			// Samba refuses anonymous and guest sessions outright when
			// encryption is required: they have no session key to encrypt with.
			Name:   "encrypt",
			Global: append([]string{"server smb encrypt = required"}, guestAll...),
			Shares: StandardShares(),
			Expect: Expect{MaxDialect: "3.1.1", EncryptionRequired: true, Shares: std},
		},
		{
			// restrict anonymous = 2: the anonymous SESSION_SETUP succeeds but
			// the IPC$ tree connect is refused.
			Name:   "nonull",
			Global: append([]string{"restrict anonymous = 2"}, guestAll...),
			Shares: StandardShares(),
			Expect: Expect{MaxDialect: "3.1.1", Guest: true, Shares: std},
		},
		{
			// SMB1 only: smbd closes the connection on an SMB2 NEGOTIATE, so
			// every session, tree, share and access answer comes over SMB1.
			Name:   "smb1only",
			Global: append([]string{"server min protocol = NT1", "server max protocol = NT1"}, guestAll...),
			Shares: StandardShares(),
			Expect: Expect{SMB1: true, NoSMB2: true, NullSession: true, Guest: true, Shares: std},
		},
		{
			// SMB1 only with signing mandatory: anonymous and guest sessions
			// (no session key) still work unsigned.
			Name:   "smb1sign",
			Global: append([]string{"server min protocol = NT1", "server max protocol = NT1", "server signing = mandatory"}, guestAll...),
			Shares: StandardShares(),
			Expect: Expect{SMB1: true, NoSMB2: true, SigningRequired: true, NullSession: true, Guest: true, Shares: std},
		},
		{
			Name:   "smb2_10",
			Global: append([]string{"server max protocol = SMB2_10"}, guestAll...),
			Shares: StandardShares(),
			Expect: Expect{MaxDialect: "2.1", NullSession: true, Guest: true, Shares: std},
		},
	}
}

// netbiosName is the configured or derived NetBIOS name.
func (c Config) netbiosName() string {
	if c.NetBIOSName != "" {
		return c.NetBIOSName
	}
	n := "SWEEP-" + strings.ToUpper(strings.ReplaceAll(c.Name, "_", "-"))
	if len(n) > 15 {
		n = n[:15]
	}
	return n
}

func (c Config) validate() error {
	if c.Name == "" {
		return fmt.Errorf("sambatest: config without a name")
	}
	for _, r := range c.Name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("sambatest: config name %q: only a-z, 0-9, '_' and '-' allowed", c.Name)
		}
	}
	if n := c.netbiosName(); len(n) > 15 {
		return fmt.Errorf("sambatest: config %q: NetBIOS name %q longer than 15 bytes", c.Name, n)
	}
	seen := map[string]bool{}
	for _, s := range c.Shares {
		if s.Name == "" || strings.ContainsAny(s.Name, "/\\[]") {
			return fmt.Errorf("sambatest: config %q: bad share name %q", c.Name, s.Name)
		}
		if seen[strings.ToLower(s.Name)] {
			return fmt.Errorf("sambatest: config %q: duplicate share %q", c.Name, s.Name)
		}
		seen[strings.ToLower(s.Name)] = true
		for p := range s.Files {
			if !filepath.IsLocal(filepath.FromSlash(p)) {
				return fmt.Errorf("sambatest: config %q share %q: file path %q leaves the share", c.Name, s.Name, p)
			}
		}
	}
	return nil
}

// instancePaths are the per-instance directories Samba would otherwise share
// with every other smbd on the machine (/run/samba, /var/lib/samba, ...).
type instancePaths struct {
	Dir, Private, Lock, State, Cache, PID, NcalRPC, BindDNS, UserShares, Winbindd, NTPSignd, Log, Shares string
}

func newInstancePaths(dir string) instancePaths {
	j := func(s string) string { return filepath.Join(dir, s) }
	return instancePaths{
		Dir: dir, Private: j("private"), Lock: j("lock"), State: j("state"), Cache: j("cache"),
		PID: j("pid"), NcalRPC: j("ncalrpc"), BindDNS: j("bind-dns"), UserShares: j("usershares"),
		Winbindd: j("winbindd"), NTPSignd: j("ntp_signd"), Log: j("log"), Shares: j("shares"),
	}
}

// renderConf returns the smb.conf text for one instance listening on
// listen:port (listen is an address configured on an interface).
func renderConf(c Config, p instancePaths, listen string, port uint16, onDemandRPC bool) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Generated by smbsweep internal/testing/sambatest for instance %q. Do not edit.", c.Name)
	w("[global]")
	w("\tserver role = standalone server")
	w("\tworkgroup = %s", Workgroup)
	w("\tnetbios name = %s", c.netbiosName())
	w("\tinterfaces = %s/32", listen)
	w("\tbind interfaces only = yes")
	w("\tsmb ports = %d", port)
	w("\tload printers = no")
	w("\tprinting = bsd")
	w("\tprintcap name = /dev/null")
	w("\tdisable spoolss = yes")
	w("\tlog level = 1")
	w("\tlog file = %s", filepath.Join(p.Log, "samba.log"))
	w("\tmax log size = 0")
	w("\tpassdb backend = tdbsam:%s", filepath.Join(p.Private, "passdb.tdb"))
	w("\tsmb passwd file = %s", filepath.Join(p.Private, "smbpasswd"))
	w("\tprivate dir = %s", p.Private)
	w("\tlock directory = %s", p.Lock)
	w("\tstate directory = %s", p.State)
	w("\tcache directory = %s", p.Cache)
	w("\tpid directory = %s", p.PID)
	w("\tncalrpc dir = %s", p.NcalRPC)
	w("\tbinddns dir = %s", p.BindDNS)
	w("\tusershare path = %s", p.UserShares)
	w("\twinbindd socket directory = %s", p.Winbindd)
	w("\tntp signd socket directory = %s", p.NTPSignd)
	if onDemandRPC {
		w("\trpc start on demand helpers = yes")
	} else {
		// The harness starts samba-dcerpcd itself, as its own child, so that
		// it is reaped and killed with the instance.
		w("\trpc start on demand helpers = no")
	}
	// RPC workers (rpcd_classic serves srvsvc) start on the first client and
	// by default exit after 60 idle seconds; starting one costs seconds on a
	// loaded machine, so keep them for the life of the instance.
	for _, rpcd := range []string{"rpcd_classic", "rpcd_winreg", "rpcd_lsad", "rpcd_epmapper"} {
		w("\t%s:idle_seconds = 86400", rpcd)
	}
	for _, l := range c.Global {
		w("\t%s", strings.TrimSpace(l))
	}
	for _, s := range c.Shares {
		w("")
		w("[%s]", s.Name)
		w("\tpath = %s", filepath.Join(p.Shares, s.Name))
		for _, l := range s.Params {
			w("\t%s", strings.TrimSpace(l))
		}
	}
	return b.String()
}

// sortedFiles returns the file paths of a share in a stable order.
func sortedFiles(files map[string]string) []string {
	out := make([]string, 0, len(files))
	for p := range files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

package sambatest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// smbclient runs smbclient as a test oracle against one server. It reads no
// system smb.conf, so only the arguments decide its behaviour. An SMB1-only
// server (Expect.NoSMB2) is spoken to over SMB1 unless args choose protocols.
func smbclient(t *testing.T, s *Server, args ...string) (string, error) {
	t.Helper()
	if s.Config.Expect.NoSMB2 && !slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, " protocol=") }) {
		args = append(slices.Clone(args), SMBClientNT1Args...)
	}
	path := findTool("smbclient", "/usr/bin", "/usr/local/bin")
	if path == "" {
		t.Fatal("smbclient not installed (apt-get install -y smbclient)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--configfile=/dev/null", "-p", strconv.Itoa(int(s.Port))}, args...)
	cmd := exec.CommandContext(ctx, path, full...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("smbclient %s: timed out: %s", strings.Join(full, " "), out)
	}
	return string(out), err
}

func unc(s *Server, share string) string { return "//" + s.Addr.String() + "/" + share }

func creds() string { return TestUser + "%" + TestPassword }

// listedShares parses the share table of `smbclient -L`.
func listedShares(out string) []string {
	var names []string
	sc := bufio.NewScanner(strings.NewReader(out))
	in := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 2 && f[0] == "Sharename" && f[1] == "Type":
			in = true
		case in && len(f) > 0 && strings.HasPrefix(f[0], "---"):
		case in && len(f) >= 2 && (f[1] == "Disk" || f[1] == "IPC" || f[1] == "Printer"):
			names = append(names, f[0])
		case in:
			in = false
		}
	}
	slices.Sort(names)
	return names
}

func TestFleetEndpoints(t *testing.T) {
	f := Require(t)
	if len(f.Servers) != len(DefaultConfigs()) {
		t.Fatalf("fleet has %d servers, want %d", len(f.Servers), len(DefaultConfigs()))
	}
	seen := map[netip.AddrPort]string{}
	for _, s := range f.Servers {
		if !s.Addr.IsLoopback() {
			t.Fatalf("%s: address %s is not loopback", s.Name, s.Addr)
		}
		if prev, dup := seen[s.AddrPort()]; dup {
			t.Fatalf("%s and %s share endpoint %s", s.Name, prev, s.AddrPort())
		}
		seen[s.AddrPort()] = s.Name
		if f.Server(s.Name) != s {
			t.Errorf("Server(%q) does not return the server", s.Name)
		}
		if s.Config.Expect.NoSMB2 {
			// SMB1 only: the SMB2 NEGOTIATE is answered by closing the connection.
			if _, err := negotiateSMB2(context.Background(), s.AddrPort(), 10*time.Second); err == nil || !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("%s: SMB2 NEGOTIATE: err %v, want the connection closed (EOF or reset)", s.Name, err)
			}
			if err := probeSMB1(context.Background(), s.AddrPort(), 10*time.Second); err != nil {
				t.Errorf("%s: SMB1 NEGOTIATE: %v", s.Name, err)
			}
			continue
		}
		info, err := negotiateSMB2(context.Background(), s.AddrPort(), 10*time.Second)
		if err != nil {
			t.Errorf("%s: SMB2 NEGOTIATE: %v", s.Name, err)
			continue
		}
		if info.Dialect != 0x0202 {
			t.Errorf("%s: dialect %#x, want 0x202 (the only one offered)", s.Name, info.Dialect)
		}
		// SMB2_NEGOTIATE_SIGNING_REQUIRED (MS-SMB2 2.2.4).
		if got := info.SecurityMode&2 != 0; got != s.Config.Expect.SigningRequired {
			t.Errorf("%s: signing required = %v, want %v (SecurityMode %#x)", s.Name, got, s.Config.Expect.SigningRequired, info.SecurityMode)
		}
		if _, err := os.Stat(s.ConfPath); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		if p, err := readProc(s.PID); err != nil || !strings.Contains(p.Cmdline, "smbd") {
			t.Errorf("%s: PID %d is not smbd: %v %q", s.Name, s.PID, err, p.Cmdline)
		}
	}
	if f.Server("no-such") != nil {
		t.Error("Server(no-such) != nil")
	}
	if got, want := len(f.Targets()), len(f.Servers)+3; got != want {
		t.Errorf("Targets() has %d entries, want %d", got, want)
	}

	// Silent: accepts, never answers.
	c, err := net.DialTimeout("tcp", f.Silent.String(), 5*time.Second)
	if err != nil {
		t.Fatalf("silent: %v", err)
	}
	c.Write([]byte{0, 0, 0, 4, 0xFE, 'S', 'M', 'B'})
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, err := c.Read(make([]byte, 16))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("silent: read returned %d bytes, err %v; want a timeout", n, err)
	}
	c.Close()

	// HTTP: answers 400 and closes.
	c, err = net.DialTimeout("tcp", f.HTTP.String(), 5*time.Second)
	if err != nil {
		t.Fatalf("http: %v", err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte{0, 0, 0, 4, 0xFE, 'S', 'M', 'B'})
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(c); err != nil {
		t.Errorf("http: %v", err)
	}
	if !strings.HasPrefix(buf.String(), "HTTP/1.1 400 ") {
		t.Errorf("http answered %q", buf.String())
	}
	c.Close()

	// Closed: refused.
	_, err = net.DialTimeout("tcp", f.Closed.String(), 5*time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("closed: dial error %v, want connection refused", err)
	}
}

func TestAnonymousShareList(t *testing.T) {
	f := Require(t)
	for _, s := range f.Servers {
		t.Run(s.Name, func(t *testing.T) {
			out, err := smbclient(t, s, "-N", "-L", "//"+s.Addr.String())
			if !s.Config.Expect.NullSession {
				if err == nil {
					t.Fatalf("anonymous share listing succeeded, want refusal:\n%s", out)
				}
				if !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
					t.Errorf("want NT_STATUS_ACCESS_DENIED:\n%s", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("smbclient -N -L: %v\n%s", err, out)
			}
			want := append(slices.Clone(s.Config.Expect.Shares), "IPC$")
			slices.Sort(want)
			if got := listedShares(out); !slices.Equal(got, want) {
				t.Errorf("shares %v, want %v\n%s", got, want, out)
			}
		})
	}
	// The share-enumeration feature is compared against this listing.
	out, err := smbclient(t, f.Server("default"), "-N", "-L", "//"+f.Server("default").Addr.String())
	if err != nil {
		t.Fatalf("default: %v\n%s", err, out)
	}
	for _, sh := range []string{"public", "dropbox", "IPC$"} {
		if !slices.Contains(listedShares(out), sh) {
			t.Errorf("default: %s not listed:\n%s", sh, out)
		}
	}
	if !strings.Contains(out, "Public files") {
		t.Errorf("default: share comment missing:\n%s", out)
	}
}

func TestNoNullRefusesAnonymous(t *testing.T) {
	s := Require(t).Server("nonull")
	out, err := smbclient(t, s, "-N", "-L", "//"+s.Addr.String())
	if err == nil {
		t.Fatalf("anonymous listing of nonull succeeded:\n%s", out)
	}
	// restrict anonymous = 2: the session is set up, IPC$ is refused.
	if !strings.Contains(out, "tree connect failed: NT_STATUS_ACCESS_DENIED") {
		t.Errorf("want the IPC$ tree connect refused:\n%s", out)
	}
}

func TestUserPrivateShare(t *testing.T) {
	f := Require(t)
	for _, s := range f.Servers {
		t.Run(s.Name, func(t *testing.T) {
			out, err := smbclient(t, s, "-U", creds(), unc(s, SharePrivate), "-c", "ls; ls reports/*")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, name := range []string{"secret.txt", "reports", "q1.txt", "q2.txt"} {
				if !strings.Contains(out, name) {
					t.Errorf("%s not listed:\n%s", name, out)
				}
			}
			// The credentialed listing shows every share.
			out, err = smbclient(t, s, "-U", creds(), "-L", "//"+s.Addr.String())
			if err != nil {
				t.Fatalf("-L: %v\n%s", err, out)
			}
			want := append(slices.Clone(s.Config.Expect.Shares), "IPC$")
			slices.Sort(want)
			if got := listedShares(out); !slices.Equal(got, want) {
				t.Errorf("shares %v, want %v", got, want)
			}
			// A wrong password is refused (no silent guest fallback for a
			// known user).
			out, err = smbclient(t, s, "-U", TestUser+"%wrong", unc(s, SharePrivate), "-c", "ls")
			if err == nil {
				t.Errorf("wrong password accepted:\n%s", out)
			}
		})
	}
}

func TestGuest(t *testing.T) {
	f := Require(t)
	for _, s := range f.Servers {
		t.Run(s.Name, func(t *testing.T) {
			out, err := smbclient(t, s, "-U", "no-such-user%whatever", unc(s, SharePublic), "-c", "ls")
			if s.Config.Expect.Guest != (err == nil) {
				t.Fatalf("guest access to public: err=%v, want guest=%v\n%s", err, s.Config.Expect.Guest, out)
			}
			if err == nil && !strings.Contains(out, "README.txt") {
				t.Errorf("README.txt not listed:\n%s", out)
			}
			if !s.Config.Expect.Guest {
				return
			}
			// The guest cannot reach the user's share.
			if out, err := smbclient(t, s, "-U", "no-such-user%whatever", unc(s, SharePrivate), "-c", "ls"); err == nil {
				t.Errorf("guest listed private:\n%s", out)
			}
		})
	}
}

func TestGuestWritesDropbox(t *testing.T) {
	s := Require(t).Server("default")
	src := filepath.Join(t.TempDir(), "upload.txt")
	if err := os.WriteFile(src, []byte("written by the harness test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := "upload-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ".txt"
	out, err := smbclient(t, s, "-N", unc(s, ShareDropbox), "-c", "put "+src+" "+name)
	if err != nil {
		t.Fatalf("put into dropbox: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(s.SharePath(ShareDropbox), name))
	if err != nil || string(got) != "written by the harness test\n" {
		t.Fatalf("uploaded file on disk: %q, %v", got, err)
	}
	out, err = smbclient(t, s, "-N", unc(s, SharePublic), "-c", "put "+src+" "+name)
	if err == nil || !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Errorf("put into read-only public: err=%v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(s.SharePath(SharePublic), name)); err == nil {
		t.Error("file appeared in public")
	}
}

func TestDialects(t *testing.T) {
	f := Require(t)
	for _, s := range f.Servers {
		t.Run(s.Name, func(t *testing.T) {
			// only reports whether a session with exactly this protocol
			// works; a refusal other than at negotiation is fatal.
			only := func(proto string) error {
				out, err := smbclient(t, s, "-U", creds(), "-L", "//"+s.Addr.String(),
					"--option=client min protocol="+proto, "--option=client max protocol="+proto)
				if err != nil && !strings.Contains(out, "protocol negotiation failed") {
					t.Fatalf("%s: unexpected failure: %v\n%s", proto, err, out)
				}
				return err
			}
			if s.Config.Expect.EncryptionRequired {
				// SMB 2.1 cannot encrypt: the dialect is negotiated, the
				// session refused.
				out, err := smbclient(t, s, "-U", creds(), "-L", "//"+s.Addr.String(),
					"--option=client min protocol=SMB2_10", "--option=client max protocol=SMB2_10")
				if err == nil || !strings.Contains(out, "session setup failed: NT_STATUS_ACCESS_DENIED") {
					t.Errorf("SMB 2.1 session with encryption required: err=%v\n%s", err, out)
				}
			} else if got, want := only("SMB2_10") == nil, !s.Config.Expect.NoSMB2; got != want {
				t.Errorf("SMB 2.1 accepted = %v, want %v", got, want)
			}
			if got, want := only("SMB3_11") == nil, s.Config.Expect.MaxDialect == "3.1.1"; got != want {
				t.Errorf("SMB 3.1.1 accepted = %v, want %v", got, want)
			}
			if got, want := only("NT1") == nil, s.Config.Expect.SMB1; got != want {
				t.Errorf("SMB1 accepted = %v, want %v", got, want)
			}
		})
	}
}

func TestEncryptRefusesAnonymous(t *testing.T) {
	s := Require(t).Server("encrypt")
	out, err := smbclient(t, s, "-N", "-L", "//"+s.Addr.String())
	if err == nil || !strings.Contains(out, "session setup failed: NT_STATUS_ACCESS_DENIED") {
		t.Errorf("anonymous session on encrypt: err=%v\n%s", err, out)
	}
}

func TestInstancesAreIsolated(t *testing.T) {
	f := Require(t)
	for _, s := range f.Servers {
		conf, err := os.ReadFile(s.ConfPath)
		if err != nil {
			t.Fatal(err)
		}
		// Every path in the configuration lies in the instance directory.
		for _, line := range strings.Split(string(conf), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			if i := strings.Index(v, "/"); i >= 0 && (i == 0 || v[i-1] == ':') && !strings.HasPrefix(v[i:], s.Dir+"/") && v != "/dev/null" {
				t.Errorf("%s: %s= %s is outside %s", s.Name, strings.TrimSpace(k), v, s.Dir)
			}
		}
		pid, err := os.ReadFile(filepath.Join(s.Dir, "pid", "smbd.pid"))
		if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(s.PID) {
			t.Errorf("%s: smbd.pid = %q (%v), want %d", s.Name, pid, err, s.PID)
		}
		if s.RPCPID != 0 {
			p, err := readProc(s.RPCPID)
			if err != nil || !strings.Contains(p.Cmdline, "samba-dcerpcd") || !containsArg(p.Cmdline, "--configfile="+s.ConfPath) {
				t.Errorf("%s: RPCPID %d: %v %q", s.Name, s.RPCPID, err, p.Cmdline)
			}
		}
	}
}

// ourProcesses lists live processes whose command line mentions dir.
func ourProcesses(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(cmd, []byte(dir+"/")) {
			continue
		}
		out = append(out, e.Name()+": "+string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
	}
	return out
}

func loAddrs(t *testing.T) []netip.Addr {
	t.Helper()
	as, err := configuredAddrs()
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// TestSecondFleet runs more fleets beside the shared one, in both address
// modes, and checks that Stop leaves nothing behind.
func TestSecondFleet(t *testing.T) {
	Require(t) // skips without Samba
	for _, highPorts := range []bool{false, true} {
		t.Run("highports="+strconv.FormatBool(highPorts), func(t *testing.T) {
			cfg := DefaultConfigs()[0]
			cfg.Name = "second"
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			f, err := StartFleet(ctx, Options{Configs: []Config{cfg}, HighPorts: highPorts, RemoveOnStop: true})
			if err != nil {
				t.Fatal(err)
			}
			stopped := false
			defer func() {
				if !stopped {
					f.Stop()
				}
			}()
			s := f.Server("second")
			if f.HighPorts != highPorts {
				t.Fatalf("HighPorts = %v", f.HighPorts)
			}
			if highPorts && (s.Addr != netip.MustParseAddr("127.0.0.1") || s.Port == 445) {
				t.Errorf("high-port server at %s", s.AddrPort())
			}
			if !highPorts && (s.Port != 445 || !slices.Contains(loAddrs(t), s.Addr)) {
				t.Errorf("server at %s, address on lo: %v", s.AddrPort(), slices.Contains(loAddrs(t), s.Addr))
			}
			if shared.fleet != nil && shared.fleet.Block.IsValid() && f.Block == shared.fleet.Block {
				t.Errorf("second fleet reused the shared fleet's block %s", f.Block)
			}
			out, err := smbclient(t, s, "-N", "-L", "//"+s.Addr.String())
			if err != nil || !slices.Contains(listedShares(out), "public") {
				t.Fatalf("listing: %v\n%s", err, out)
			}
			if procs := ourProcesses(t, f.Dir); len(procs) < 2 {
				t.Errorf("expected smbd and samba-dcerpcd running, found %q", procs)
			}
			regPath := f.claim.path
			if _, err := os.Stat(regPath); err != nil {
				t.Errorf("registry record: %v", err)
			}

			stopped = true
			if err := f.Stop(); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if procs := ourProcesses(t, f.Dir); len(procs) > 0 {
				t.Errorf("processes left after Stop:\n%s", strings.Join(procs, "\n"))
			}
			if !highPorts && slices.Contains(loAddrs(t), s.Addr) {
				t.Errorf("%s still on lo after Stop", s.Addr)
			}
			if _, err := os.Stat(regPath); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("registry record after Stop: %v", err)
			}
			if _, err := os.Stat(f.Dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("RemoveOnStop left %s: %v", f.Dir, err)
			}
			if err := probeSMB2(context.Background(), s.AddrPort(), time.Second); err == nil {
				t.Error("server still answers after Stop")
			}
			if err := f.Stop(); err != nil {
				t.Errorf("second Stop: %v", err)
			}
		})
	}
}

func TestReapStaleFleet(t *testing.T) {
	if !supported {
		t.Skip(errUnsupported)
	}
	reg, err := openRegistry()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "stale", "smb.conf")
	// A stand-in daemon that carries the configuration path like smbd does.
	daemon := exec.Command("sh", "-c", "while :; do sleep 0.1; done", "--configfile="+conf)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- daemon.Wait() }()
	defer daemon.Process.Kill()
	// An owner that is certainly dead.
	owner := exec.Command("true")
	if err := owner.Run(); err != nil {
		t.Fatal(err)
	}
	rec := claimRecord{OwnerPID: owner.Process.Pid, OwnerStart: 1, Dir: dir, Confs: []string{conf}}
	data, _ := json.Marshal(rec)
	recPath := filepath.Join(reg.dir, "ports-test-"+strconv.Itoa(os.Getpid())+".json")
	if err := os.WriteFile(recPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(recPath)

	var log bytes.Buffer
	if err := Reap(&log); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("the stale instance's process survived Reap")
	}
	if _, err := os.Stat(recPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale record still there: %v", err)
	}
	if !strings.Contains(log.String(), dir) {
		t.Errorf("Reap did not report the fleet: %q", log.String())
	}

	// A record whose owner is alive (this process) is left alone.
	rec = claimRecord{OwnerPID: os.Getpid(), OwnerStart: selfStart(), Dir: dir, Confs: []string{conf}}
	data, _ = json.Marshal(rec)
	if err := os.WriteFile(recPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Reap(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(recPath); err != nil {
		t.Errorf("live record removed: %v", err)
	}
}

func TestRenderConf(t *testing.T) {
	for _, c := range DefaultConfigs() {
		if err := c.validate(); err != nil {
			t.Fatal(err)
		}
		p := newInstancePaths("/srv/x/" + c.Name)
		conf := renderConf(c, p, "127.9.9.10", 445, false)
		for _, want := range []string{
			"server role = standalone server", "workgroup = SMBSWEEP", "netbios name = " + c.netbiosName(),
			"interfaces = 127.9.9.10/32", "bind interfaces only = yes", "smb ports = 445",
			"load printers = no", "printing = bsd", "printcap name = /dev/null", "disable spoolss = yes",
			"log level = 1", "passdb backend = tdbsam:/srv/x/" + c.Name + "/private/passdb.tdb",
			"ncalrpc dir = /srv/x/" + c.Name + "/ncalrpc", "lock directory = /srv/x/" + c.Name + "/lock",
			"[public]", "[dropbox]", "[private]", "valid users = " + TestUser,
		} {
			if !strings.Contains(conf, "\t"+want+"\n") && !strings.Contains(conf, want+"\n") {
				t.Errorf("%s: missing %q", c.Name, want)
			}
		}
		for _, g := range c.Global {
			if !strings.Contains(conf, "\t"+g+"\n") {
				t.Errorf("%s: missing global line %q", c.Name, g)
			}
		}
		if strings.Contains(conf, "/var/") || strings.Contains(conf, "/run/") {
			t.Errorf("%s: shared system path in configuration:\n%s", c.Name, conf)
		}
		if n := c.netbiosName(); len(n) > 15 || !strings.HasPrefix(n, "SWEEP-") {
			t.Errorf("%s: NetBIOS name %q", c.Name, n)
		}
	}
	bad := []Config{
		{},
		{Name: "Upper"},
		{Name: "x", Shares: []ShareConfig{{Name: "a"}, {Name: "A"}}},
		{Name: "x", Shares: []ShareConfig{{Name: "a", Files: map[string]string{"../escape": ""}}}},
		{Name: "x", NetBIOSName: "MUCH-TOO-LONG-A-NAME"},
	}
	for _, c := range bad {
		if c.validate() == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestBadConfigReported(t *testing.T) {
	Require(t) // skips without Samba
	cfg := Config{Name: "broken", Global: []string{"no such parameter = 1"}, Shares: StandardShares()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(os.TempDir(), "smbsweep-badconf-"+strconv.Itoa(os.Getpid()))
	defer os.RemoveAll(dir)
	f, err := StartFleet(ctx, Options{Dir: dir, Configs: []Config{cfg}, RemoveOnStop: true})
	if err == nil {
		f.Stop()
		t.Fatal("a configuration with an unknown parameter started")
	}
	for _, want := range []string{"testparm", "no such parameter", "kept in " + dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, statErr := os.Stat(filepath.Join(dir, "broken", "smb.conf")); statErr != nil {
		t.Errorf("instance directory not kept for debugging: %v", statErr)
	}
	if procs := ourProcesses(t, dir); len(procs) > 0 {
		t.Errorf("processes left: %q", procs)
	}
}

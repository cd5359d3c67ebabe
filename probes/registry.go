package probes

import (
	"fmt"
	"slices"
	"strings"
)

// stageDef describes a stage for pipeline construction: its place in the canonical order, what
// it needs (added automatically when a pipeline names the stage), and how to build it.
type stageDef struct {
	name  string
	about string
	needs []string
	conn  string   // the connection it works on (Stage.conn)
	uses  []string // stages beyond needs whose results it works with (Stage.uses)
	smb1  bool     // it has an SMB1 path for hosts that speak SMB1 only (Stage.smb1)
	build func(opts *Options) Stage
}

// stageDefs is every stage in the order pipelines run them.
var stageDefs = []stageDef{
	{name: "negotiate", conn: connSMB2, about: "SMB2/3 NEGOTIATE: dialect, GUID, signing, capabilities, 3.1.1 posture",
		build: func(*Options) Stage { return Stage{Name: "negotiate", Run: stageNegotiate} }},
	{name: "smb1", conn: connSMB1, about: "dedicated SMB1 NEGOTIATE (NT LM 0.12) on its own connection",
		build: func(*Options) Stage { return Stage{Name: "smb1", Gate: unreachable, Run: stageSMB1} }},
	{name: "ms17010", conn: connSMB1, needs: []string{"smb1"}, about: "MS17-010 (EternalBlue) and DoublePulsar on SMB1 hosts: SMB1 logon, IPC$, PeekNamedPipe on FID 0 (own connection)", build: buildMS17010},
	{name: "dialects", conn: connDialects, about: "enumerate accepted dialects and 3.1.1 ciphers (one connection each)", needs: []string{"negotiate"},
		build: func(*Options) Stage { return Stage{Name: "dialects", Needs: []string{"negotiate"}, Run: stageDialects} }},
	{name: "session", conn: connSMB2, smb1: true, about: "anonymous NTLMSSP null session; records the NTLM CHALLENGE", needs: []string{"negotiate"},
		build: func(o *Options) Stage {
			return Stage{Name: "session", Needs: []string{"negotiate"}, Timeout: o.SessionTimeout, Run: stageNullSession}
		}},
	{name: "guest", conn: connSMB2, smb1: true, about: "logon as a non-existent user with a random password (guest mapping)", needs: []string{"negotiate"},
		build: func(o *Options) Stage {
			return Stage{Name: "guest", Needs: []string{"negotiate"}, Timeout: o.SessionTimeout, Run: stageGuest}
		}},
	{name: "tree", conn: connSMB2, smb1: true, about: "TREE_CONNECT IPC$ (decides null session allowed) and each -share", needs: []string{"session"},
		build: func(*Options) Stage { return Stage{Name: "tree", Needs: []string{"session"}, Run: stageTree} }},
	{name: "shares", conn: connSMB2, smb1: true, about: "list shares over SRVSVC (NetrShareEnum on \\srvsvc; over SMB1 TRANSACTION on SMB1-only hosts) as anonymous and guest", uses: []string{"guest"}, needs: []string{"session"},
		build: func(o *Options) Stage {
			return Stage{Name: "shares", Needs: []string{"negotiate"}, Gate: anySession, Timeout: o.SessionTimeout, Run: stageShares}
		}},
	// shareprobe does not use guest: without a guest answer it probes with the null session, and
	// skipped because SRVSVC listed the shares it waited for nothing.
	{name: stageShareProbe, conn: connSMB2, about: "when SRVSVC gives no share list: TREE_CONNECT well-known names (-probe-shares); ACCESS_DENIED = exists", uses: []string{"tree", "shares"}, needs: []string{"session"},
		build: func(o *Options) Stage {
			return Stage{Name: stageShareProbe, Needs: []string{"negotiate"}, Gate: needShareList, Timeout: o.SessionTimeout, Run: stageShareProbeRun}
		}},
	{name: "access", conn: connSMB2, smb1: true, about: "per share and identity: tree connect, read check; write check with -check-write", uses: []string{"guest", "tree", "shares", stageShareProbe}, needs: []string{"session"},
		build: func(*Options) Stage {
			return Stage{Name: "access", Needs: []string{"negotiate"}, Gate: anySession, Run: stageAccess}
		}},
	// coercion runs after access: the ~10 pipe handles per identity it leaves for closeLater
	// then go with the connection instead of costing a CLOSE each before the next stage.
	{name: "coercion", conn: connSMB2, about: "per identity: BIND only to the RPC interfaces that can coerce authentication (RPRN, EFSR, DFSNM, FSRVP, EVEN); WebClient and Spooler running", uses: []string{"guest"}, needs: []string{"session"},
		build: func(*Options) Stage {
			return Stage{Name: "coercion", Needs: []string{"negotiate"}, Gate: anySession, Run: stageCoercion}
		}},
	{name: "lsa", conn: connSMB2, about: "per identity: LSA on \\lsarpc (read-only): domain name and SID, SID translation; RID cycling with -enum-users", uses: []string{"guest"}, needs: []string{"session"},
		build: func(*Options) Stage {
			return Stage{Name: "lsa", Needs: []string{"negotiate"}, Gate: anySession, Run: stageLSA}
		}},
	{name: "samr", conn: connSMB2, about: "per identity: SAMR on \\samr (read-only): the account domain's password and lockout policy", uses: []string{"guest"}, needs: []string{"session"},
		build: func(*Options) Stage {
			return Stage{Name: "samr", Needs: []string{"negotiate"}, Gate: anySession, Run: stageSAMR}
		}},
	{name: "auth", conn: connAuth, about: "credentialed NTLMv2 logon (own connection): dialect, session flags, signing and encryption in use", needs: []string{"negotiate"},
		build: func(*Options) Stage {
			return Stage{Name: "auth", Needs: []string{"negotiate"}, Gate: needCredentials, Run: stageAuth}
		}},
	{name: "ls", conn: connAuth, about: "credentialed listing of -path on the first -share (-depth, -max-entries)", needs: []string{"auth"},
		build: func(*Options) Stage { return Stage{Name: "ls", Needs: []string{"auth"}, Gate: needShare, Run: stageLs} }},
	{name: "read", conn: connAuth, about: "credentialed read of -path on the first -share (up to -max-bytes)", needs: []string{"auth"},
		build: func(*Options) Stage {
			return Stage{Name: "read", Needs: []string{"auth"}, Gate: needSharePath, Run: stageRead}
		}},
	{name: "stat", conn: connSMB2, about: "CREATE + QUERY_INFO of -path on the first -share", needs: []string{"session", "tree"},
		build: func(*Options) Stage {
			return Stage{Name: "stat", Needs: []string{"session"}, Gate: treeRan, Run: stageStat}
		}},
	{name: "nbstat", conn: connNBStat, about: "NetBIOS NODE STATUS on UDP 137 (names, MAC, workgroup, users, DC); the query goes out when the host starts",
		build: func(*Options) Stage { return Stage{Name: "nbstat", Begin: beginNBStat, Run: stageNBStat} }},
}

// StageNames lists every stage name in pipeline order.
func StageNames() []string {
	names := make([]string, len(stageDefs))
	for i, d := range stageDefs {
		names[i] = d.name
	}
	return names
}

// StageHelp returns one "name: what it does" line per stage, for -h.
func StageHelp() string {
	var b strings.Builder
	for _, d := range stageDefs {
		fmt.Fprintf(&b, "  %-10s %s\n", d.name, d.about)
	}
	return b.String()
}

// NewPipeline builds a pipeline of the named stages plus every stage they need, in pipeline
// order whatever the order given. The stat stage is added when opts names a -share/-path.
// Unknown names are an error listing the valid ones.
func NewPipeline(names []string, opts *Options) (*Pipeline, error) {
	want := map[string]bool{}
	var add func(string) error
	add = func(n string) error {
		i := slices.IndexFunc(stageDefs, func(d stageDef) bool { return d.name == n })
		if i < 0 {
			return fmt.Errorf("unknown probe stage %q: valid stages are %s", n, strings.Join(StageNames(), ", "))
		}
		if want[n] {
			return nil
		}
		want[n] = true
		for _, dep := range stageDefs[i].needs {
			if err := add(dep); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		if err := add(strings.TrimSpace(n)); err != nil {
			return nil, err
		}
	}
	if opts.StatShare != "" {
		if err := add("stat"); err != nil {
			return nil, err
		}
	}
	p := &Pipeline{Opts: opts}
	for _, d := range stageDefs {
		if want[d.name] {
			st := d.build(opts)
			st.conn, st.uses, st.smb1 = d.conn, append(slices.Clip(d.needs), d.uses...), d.smb1
			p.Stages = append(p.Stages, st)
		}
	}
	return p, nil
}

// DefaultStages is the default profile's stage list when no profile file says otherwise.
var DefaultStages = []string{"negotiate", "smb1", "ms17010", "session", "tree", "shares", "nbstat"}

// DefaultPipeline returns the pipeline of DefaultStages (plus stat when opts asks for it).
func DefaultPipeline(opts *Options) *Pipeline {
	p, err := NewPipeline(DefaultStages, opts)
	if err != nil {
		panic(err) // DefaultStages are known names
	}
	return p
}

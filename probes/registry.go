package probes

import (
	"fmt"
	"slices"
	"strings"
)

// StageName names a pipeline stage: the keys of a record's "stages", the words of -probes and
// of the profiles.
type StageName string

// The stages, in pipeline order. To add a stage:
//  1. write probes/stage_NAME.go, a func(ctx, *Session, *Result) error;
//  2. add its constant here and one line to stageDefs below (connection, needs, uses, about,
//     build);
//  3. put its record fields in result.go and encode them in output/encode.go (the filler
//     test fails until you do), document them in docs/schema.md (the drift test fails until
//     you do);
//  4. name it in the profiles of configs/profiles.yaml that should run it.
//
// Output, metrics, profiles, -h and the API derive the stage list from stageDefs.
const (
	StageNegotiate  StageName = "negotiate"
	StageSMB1       StageName = "smb1"
	StageMS17010    StageName = "ms17010"
	StageDialects   StageName = "dialects"
	StageSession    StageName = "session"
	StageGuest      StageName = "guest"
	StageTree       StageName = "tree"
	StageShares     StageName = "shares"
	StageShareProbe StageName = "shareprobe"
	StageAccess     StageName = "access"
	StageCoercion   StageName = "coercion"
	StageLSA        StageName = "lsa"
	StageSAMR       StageName = "samr"
	StageAuth       StageName = "auth"
	StageLs         StageName = "ls"
	StageRead       StageName = "read"
	StageStat       StageName = "stat"
	StageNBStat     StageName = "nbstat"
)

// stageDef describes a stage for pipeline construction: its place in the canonical order, what
// it needs (added automatically when a pipeline names the stage), and how to build it.
type stageDef struct {
	name  StageName
	about string
	needs []StageName
	conn  string      // the connection it works on (Stage.conn)
	uses  []StageName // stages beyond needs whose results it works with (Stage.uses)
	smb1  bool        // it has an SMB1 path for hosts that speak SMB1 only (Stage.smb1)
	build func(opts *Options) Stage
}

// stageDefs is every stage in the order pipelines run them.
var stageDefs = []stageDef{
	{name: StageNegotiate, conn: connSMB2, about: "SMB2/3 NEGOTIATE: dialect, GUID, signing, capabilities, 3.1.1 posture",
		build: func(*Options) Stage { return Stage{Name: StageNegotiate, Run: stageNegotiate} }},
	{name: StageSMB1, conn: connSMB1, about: "dedicated SMB1 NEGOTIATE (NT LM 0.12) on its own connection",
		build: func(*Options) Stage { return Stage{Name: StageSMB1, Gate: unreachable, Run: stageSMB1} }},
	{name: StageMS17010, conn: connSMB1, needs: []StageName{StageSMB1}, about: "MS17-010 (EternalBlue) and DoublePulsar on SMB1 hosts: SMB1 logon, IPC$, PeekNamedPipe on FID 0 (own connection)", build: buildMS17010},
	{name: StageDialects, conn: connDialects, about: "enumerate accepted dialects and 3.1.1 ciphers (one connection each)", needs: []StageName{StageNegotiate},
		build: func(*Options) Stage {
			return Stage{Name: StageDialects, Needs: []StageName{StageNegotiate}, Run: stageDialects}
		}},
	{name: StageSession, conn: connSMB2, smb1: true, about: "anonymous NTLMSSP null session; records the NTLM CHALLENGE", needs: []StageName{StageNegotiate},
		build: func(o *Options) Stage {
			return Stage{Name: StageSession, Needs: []StageName{StageNegotiate}, Timeout: o.SessionTimeout, Run: stageNullSession}
		}},
	{name: StageGuest, conn: connSMB2, smb1: true, about: "logon as a non-existent user with a random password (guest mapping)", needs: []StageName{StageNegotiate},
		build: func(o *Options) Stage {
			return Stage{Name: StageGuest, Needs: []StageName{StageNegotiate}, Timeout: o.SessionTimeout, Run: stageGuest}
		}},
	{name: StageTree, conn: connSMB2, smb1: true, about: "TREE_CONNECT IPC$ (decides null session allowed) and each -share", needs: []StageName{StageSession},
		build: func(*Options) Stage { return Stage{Name: StageTree, Needs: []StageName{StageSession}, Run: stageTree} }},
	{name: StageShares, conn: connSMB2, smb1: true, about: "list shares over SRVSVC (NetrShareEnum on \\srvsvc; over SMB1 TRANSACTION on SMB1-only hosts) as anonymous and guest", uses: []StageName{StageGuest}, needs: []StageName{StageSession},
		build: func(o *Options) Stage {
			return Stage{Name: StageShares, Needs: []StageName{StageNegotiate}, Gate: anySession, Timeout: o.SessionTimeout, Run: stageShares}
		}},
	// shareprobe does not use guest: without a guest answer it probes with the null session, and
	// skipped because SRVSVC listed the shares it waited for nothing.
	{name: StageShareProbe, conn: connSMB2, about: "when SRVSVC gives no share list: TREE_CONNECT well-known names (-probe-shares); ACCESS_DENIED = exists", uses: []StageName{StageTree, StageShares}, needs: []StageName{StageSession},
		build: func(o *Options) Stage {
			return Stage{Name: StageShareProbe, Needs: []StageName{StageNegotiate}, Gate: needShareList, Timeout: o.SessionTimeout, Run: stageShareProbeRun}
		}},
	{name: StageAccess, conn: connSMB2, smb1: true, about: "per share and identity: tree connect, read check; write check with -check-write", uses: []StageName{StageGuest, StageTree, StageShares, StageShareProbe}, needs: []StageName{StageSession},
		build: func(*Options) Stage {
			return Stage{Name: StageAccess, Needs: []StageName{StageNegotiate}, Gate: anySession, Run: stageAccess}
		}},
	// coercion runs after access: the ~10 pipe handles per identity it leaves for closeLater
	// then go with the connection instead of costing a CLOSE each before the next stage.
	{name: StageCoercion, conn: connSMB2, about: "per identity: BIND only to the RPC interfaces that can coerce authentication (RPRN, EFSR, DFSNM, FSRVP, EVEN); WebClient and Spooler running", uses: []StageName{StageGuest}, needs: []StageName{StageSession},
		build: func(*Options) Stage {
			return Stage{Name: StageCoercion, Needs: []StageName{StageNegotiate}, Gate: anySession, Run: stageCoercion}
		}},
	{name: StageLSA, conn: connSMB2, smb1: true, about: "per identity: LSA on \\lsarpc (read-only): domain name and SID, SID translation; RID cycling with -enum-users", uses: []StageName{StageGuest}, needs: []StageName{StageSession},
		build: func(*Options) Stage {
			return Stage{Name: StageLSA, Needs: []StageName{StageNegotiate}, Gate: anySession, Run: stageLSA}
		}},
	{name: StageSAMR, conn: connSMB2, smb1: true, about: "per identity: SAMR on \\samr (read-only): the account domain's password and lockout policy", uses: []StageName{StageGuest}, needs: []StageName{StageSession},
		build: func(*Options) Stage {
			return Stage{Name: StageSAMR, Needs: []StageName{StageNegotiate}, Gate: anySession, Run: stageSAMR}
		}},
	{name: StageAuth, conn: connAuth, about: "credentialed NTLMv2 logon (own connection): dialect, session flags, signing and encryption in use", needs: []StageName{StageNegotiate},
		build: func(*Options) Stage {
			return Stage{Name: StageAuth, Needs: []StageName{StageNegotiate}, Gate: needCredentials, Run: stageAuth}
		}},
	{name: StageLs, conn: connAuth, about: "credentialed listing of -path on the first -share (-depth, -max-entries)", needs: []StageName{StageAuth},
		build: func(*Options) Stage {
			return Stage{Name: StageLs, Needs: []StageName{StageAuth}, Gate: needShare, Run: stageLs}
		}},
	{name: StageRead, conn: connAuth, about: "credentialed read of -path on the first -share (up to -max-bytes)", needs: []StageName{StageAuth},
		build: func(*Options) Stage {
			return Stage{Name: StageRead, Needs: []StageName{StageAuth}, Gate: needSharePath, Run: stageRead}
		}},
	{name: StageStat, conn: connSMB2, about: "CREATE + QUERY_INFO of -path on the first -share", needs: []StageName{StageSession, StageTree},
		build: func(*Options) Stage {
			return Stage{Name: StageStat, Needs: []StageName{StageSession}, Gate: treeRan, Run: stageStat}
		}},
	{name: StageNBStat, conn: connNBStat, about: "NetBIOS NODE STATUS on UDP 137 (names, MAC, workgroup, users, DC); the query goes out when the host starts",
		build: func(*Options) Stage { return Stage{Name: StageNBStat, Begin: beginNBStat, Run: stageNBStat} }},
}

// StageNames lists every stage name in pipeline order.
func StageNames() []string {
	names := make([]string, len(stageDefs))
	for i, d := range stageDefs {
		names[i] = string(d.name)
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
	want := map[StageName]bool{}
	var add func(StageName) error
	add = func(n StageName) error {
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
		if err := add(StageName(strings.TrimSpace(n))); err != nil {
			return nil, err
		}
	}
	if opts.StatShare != "" {
		if err := add(StageStat); err != nil {
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

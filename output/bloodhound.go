package output

import (
	"encoding/json"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/smbsweep/smbsweep/probes"
)

// BloodHound OpenGraph kinds written by smbsweep (docs/BLOODHOUND.md). They carry the SMB_
// prefix because OpenGraph kinds must not overlap BloodHound's built-in kinds (Computer, ...),
// and edge kinds must match ^[A-Za-z0-9_]+$.
const (
	BloodHoundSourceKind = "SMBSweep"
	BloodHoundComputer   = "SMB_Computer"
	BloodHoundShare      = "SMB_Share"
	BloodHoundHasShare   = "SMB_HasShare"
)

// BloodHound collects the hosts that answered SMB and, with the summary, writes them as one
// BloodHound CE OpenGraph JSON document: a node per host (kind SMB_Computer, with smbsigning,
// smbv1, the NTLM names, ...), a node per share (SMB_Share) and an SMB_HasShare edge from host
// to share. OpenGraph property values cannot be null, so a property the scan did not decide is
// left out (webclientrunning unless the coercion stage decided it). It holds the
// SMB hosts in memory until the run ends: the document is a single JSON value.
type BloodHound struct {
	name  string
	w     io.Writer
	nodes []ogNode
	edges []ogEdge
	done  bool
}

// NewBloodHound returns the OpenGraph sink writing to w; name identifies it in errors.
func NewBloodHound(w io.Writer, name string) *BloodHound {
	return &BloodHound{name: name, w: w, nodes: []ogNode{}, edges: []ogEdge{}}
}

// ogGraph is the OpenGraph data payload: metadata (only source_kind is allowed there) and the
// graph of nodes and edges.
type ogGraph struct {
	Metadata struct {
		SourceKind string `json:"source_kind"`
	} `json:"metadata"`
	Graph struct {
		Nodes []ogNode `json:"nodes"`
		Edges []ogEdge `json:"edges"`
	} `json:"graph"`
}

type ogNode struct {
	ID         string         `json:"id"`
	Kinds      []string       `json:"kinds"`
	Properties map[string]any `json:"properties"`
}

type ogEndpoint struct {
	MatchBy string `json:"match_by"`
	Value   string `json:"value"`
}

type ogEdge struct {
	Kind  string     `json:"kind"`
	Start ogEndpoint `json:"start"`
	End   ogEndpoint `json:"end"`
}

// Name implements Sink.
func (b *BloodHound) Name() string { return b.name }

// Flush implements Sink: the document is written whole by WriteSummary.
func (b *BloodHound) Flush() error { return nil }

// bloodHoundID is a node id: the smb:// URL of the host (and share), unique per address and
// port. The host's own identifiers (SID, server GUID) are not unique per address or not known
// to an unauthenticated scan.
func bloodHoundID(r *probes.Result, share string) string {
	id := "smb://" + net.JoinHostPort(r.IP, strconv.Itoa(int(r.Port)))
	if share != "" {
		id += "/" + share
	}
	return id
}

// WriteResult implements Sink: an SMB host becomes a computer node and its shares share nodes.
func (b *BloodHound) WriteResult(r *probes.Result) error {
	if r.Status != probes.StatusSMB {
		return nil
	}
	props, name := computerProps(r)
	host := bloodHoundID(r, "")
	b.nodes = append(b.nodes, ogNode{ID: host, Kinds: []string{BloodHoundComputer}, Properties: props})
	for i := range r.Shares {
		s := &r.Shares[i]
		id := bloodHoundID(r, s.Name)
		b.nodes = append(b.nodes, ogNode{ID: id, Kinds: []string{BloodHoundShare}, Properties: shareProps(s, name)})
		b.edges = append(b.edges, ogEdge{Kind: BloodHoundHasShare,
			Start: ogEndpoint{MatchBy: "id", Value: host}, End: ogEndpoint{MatchBy: "id", Value: id}})
	}
	return nil
}

// ogProps are a node's properties; unknown values are left out.
type ogProps map[string]any

func (p ogProps) setBool(key string, v *bool) {
	if v != nil {
		p[key] = *v
	}
}

func (p ogProps) setString(key string, v *string) {
	if v != nil && *v != "" {
		p[key] = *v
	}
}

// computerProps are the computer node's properties, and the name it goes by.
func computerProps(r *probes.Result) (map[string]any, string) {
	props := ogProps{"ip": r.IP, "port": int(r.Port)}
	name := r.IP
	if r.Host != "" {
		name = r.Host
		props["host"] = r.Host
	}
	if n := r.NTLM; n != nil {
		props.setString("netbiosname", n.NetBIOSComputerName)
		props.setString("dnshostname", n.DNSComputerName)
		props.setString("domain", n.DNSDomainName)
		props.setString("netbiosdomain", n.NetBIOSDomainName)
		props.setString("osversion", n.OSVersion)
		name = computerName(n, name)
	}
	props["name"] = strings.ToUpper(name)
	// smbsigning: the server requires signing (BloodHound's meaning: not an NTLM relay target).
	if n := r.Negotiate; n != nil {
		props.setBool("smbsigning", n.SigningRequired)
		if n.Dialect != "" {
			props["smbdialect"] = n.Dialect
		}
	} else if s := r.SMB1; s != nil {
		props.setBool("smbsigning", s.SigningRequired)
	}
	if r.SMB1 != nil {
		props.setBool("smbv1", r.SMB1.Enabled)
	}
	if s := r.Sessions.Null; s != nil {
		props.setBool("nullsession", s.Allowed)
	}
	if s := r.Sessions.Guest; s != nil {
		props.setBool("guestsession", s.Allowed)
	}
	// webclientrunning: decided by the coercion stage (the DAV RPC SERVICE pipe), left out
	// while undecided.
	for _, f := range r.Findings {
		if f.ID == probes.FindingWebClientRunning {
			props.setBool("webclientrunning", f.Value)
		}
	}
	if ids := trueFindings(r); len(ids) > 0 {
		props["smbfindings"] = ids
	}
	return props, name
}

// computerName is the name BloodHound knows the computer by: its DNS name, but a single-label
// one (Samba reports the machine's short host name) says less than the NetBIOS name.
func computerName(n *probes.NTLMInfo, fallback string) string {
	dns, nb := probes.StringOr(n.DNSComputerName, ""), probes.StringOr(n.NetBIOSComputerName, "")
	switch {
	case strings.Contains(dns, "."):
		return dns
	case nb != "":
		return nb
	case dns != "":
		return dns
	}
	return fallback
}

// shareProps are a share node's properties: name, type, comment, and read/write per identity.
func shareProps(s *probes.Share, computer string) map[string]any {
	sp := map[string]any{"name": strings.ToUpper(s.Name + "@" + computer), "sharename": s.Name}
	if s.Type != "" {
		sp["type"] = s.Type
	}
	if s.Comment != "" {
		sp["comment"] = s.Comment
	}
	for _, a := range s.Access {
		if a.Identity == "" {
			continue
		}
		if a.Read != nil {
			sp["read_"+a.Identity] = *a.Read
		}
		if a.Write != nil {
			sp["write_"+a.Identity] = *a.Write
		}
	}
	return sp
}

// WriteSummary implements Sink: writes the document (once).
func (b *BloodHound) WriteSummary(*probes.Summary) error {
	if b.done {
		return nil
	}
	b.done = true
	var g ogGraph
	g.Metadata.SourceKind = BloodHoundSourceKind
	g.Graph.Nodes, g.Graph.Edges = b.nodes, b.edges
	enc := json.NewEncoder(b.w)
	enc.SetIndent("", "  ")
	return enc.Encode(&g)
}

package probes

import (
	"context"
	"maps"
)

// Recheck probes t once more for what prev is missing and returns the record completed with
// the new answers. A record whose host answered SMB but that misses stages (Result.Incomplete)
// is rechecked for just those stages and the ones sharing their connection (they share its
// session state), plus negotiate, which every other stage needs; what the first probe learned
// on the other connections is kept. Any other record is probed again from the start.
//
// For each connection rechecked, the new answers replace the old ones only when they miss
// fewer of its stages; the findings and the missing stages are then derived again from the
// merged record. duration_seconds is the recheck's, as for a record the recheck replaced whole:
// each probe of a host keeps within the host deadline, and the record says how long the last
// one took.
func (p *Pipeline) Recheck(ctx context.Context, t Target, prev *Result) *Result {
	if prev == nil || prev.Status != StatusSMB || len(prev.Incomplete) == 0 {
		if sub, ok := p.keepNBStat(prev); ok {
			return sub.rerunKeepingNBStat(ctx, t, prev, p)
		}
		return p.Run(ctx, t)
	}
	conns := map[string]bool{}
	for _, name := range prev.Incomplete {
		if st := p.stage(name); st != nil {
			conns[st.connIn(prev)] = true
		}
	}
	sub := &Pipeline{Opts: p.Opts}
	for _, st := range p.Stages {
		// On a host that speaks SMB1 only the session stages are of the SMB1 connection
		// (connIn): they run again with smb1, which tells the host speaks SMB1 only.
		if conns[st.conn] || conns[st.connIn(prev)] || st.Name == StageNegotiate {
			sub.Stages = append(sub.Stages, st)
		}
	}
	again := sub.Run(ctx, t)
	return p.merge(prev, again, conns)
}

func (p *Pipeline) stage(name StageName) *Stage {
	for i := range p.Stages {
		if p.Stages[i].Name == name {
			return &p.Stages[i]
		}
	}
	return nil
}

// missingOn counts the stages of conn that r is missing; group is the record that decides
// which connection each stage belongs to (Stage.connIn): the first probe's, for both.
func (p *Pipeline) missingOn(r, group *Result, conn string) int {
	n := 0
	for _, st := range p.Stages {
		if sr, ok := r.Stages[st.Name]; ok && st.connIn(group) == conn && sr.missing() {
			n++
		}
	}
	return n
}

// merge returns prev with, for each connection in conns, the stages and fields again got for
// it, where again misses fewer of its stages.
func (p *Pipeline) merge(prev, again *Result, conns map[string]bool) *Result {
	out := *prev
	out.Stages = maps.Clone(prev.Stages)
	out.Findings = make([]Finding, 0, len(prev.Findings)) // conclude evaluates them again
	out.DurationSeconds = again.DurationSeconds
	for conn := range conns {
		if p.missingOn(again, prev, conn) >= p.missingOn(prev, prev, conn) {
			continue
		}
		for _, st := range p.Stages {
			if st.connIn(prev) == conn {
				out.Stages[st.Name] = again.Stages[st.Name]
			}
		}
		takeFields(&out, again, conn, conns[connDialects] && p.missingOn(again, prev, connDialects) < p.missingOn(prev, prev, connDialects))
	}
	p.conclude(&out)
	return &out
}

// takeFields copies into out the record fields the stages of conn fill. The negotiate record
// holds the dialects stage's lists too: they move with it only when dialectsToo.
func takeFields(out, again *Result, conn string, dialectsToo bool) {
	switch conn {
	case connSMB2:
		neg := again.Negotiate
		if neg != nil && !dialectsToo && out.Negotiate != nil {
			cp := *neg
			cp.Dialects, cp.Ciphers = out.Negotiate.Dialects, out.Negotiate.Ciphers
			neg = &cp
		}
		out.Negotiate, out.NTLM, out.Sessions, out.Shares, out.RPC = neg, again.NTLM, again.Sessions, again.Shares, again.RPC
		out.LSA, out.SAMR = again.LSA, again.SAMR
	case connSMB1:
		out.SMB1, out.ms17010, out.doublePulsar = again.SMB1, again.ms17010, again.doublePulsar
		if again.SMB1 != nil && again.SMB1.Only {
			// The session stages ran over SMB1 (Stage.connIn).
			out.NTLM, out.Sessions, out.Shares = again.NTLM, again.Sessions, again.Shares
		}
	case connDialects:
		if again.Negotiate == nil {
			return
		}
		neg := &NegotiateInfo{Capabilities: []string{}}
		if out.Negotiate != nil {
			cp := *out.Negotiate
			neg = &cp
		}
		neg.Dialects, neg.Ciphers = again.Negotiate.Dialects, again.Negotiate.Ciphers
		out.Negotiate = neg
	case connAuth:
		out.Auth, out.Listing, out.Read = again.Auth, again.Listing, again.Read
	}
}

// keepNBStat returns p without its nbstat stage when prev already holds that stage's finished
// look: the host's UDP 137 answer (or silence) does not change because its TCP port timed out,
// and asking again would cost a silent host the whole window once more, in the recheck's few
// probe slots.
func (p *Pipeline) keepNBStat(prev *Result) (*Pipeline, bool) {
	if prev == nil || p.stage(StageNBStat) == nil {
		return nil, false
	}
	if sr, ok := prev.Stages[StageNBStat]; !ok || sr.Status != StageOK || prev.NBStat == nil {
		return nil, false
	}
	sub := &Pipeline{Opts: p.Opts}
	for _, st := range p.Stages {
		if st.Name != StageNBStat {
			sub.Stages = append(sub.Stages, st)
		}
	}
	return sub, true
}

// rerunKeepingNBStat probes t again with sub (full minus nbstat) and puts prev's nbstat look
// back into the record, whose findings and missing stages full then derives again.
func (sub *Pipeline) rerunKeepingNBStat(ctx context.Context, t Target, prev *Result, full *Pipeline) *Result {
	r := sub.Run(ctx, t)
	r.NBStat = prev.NBStat
	r.Stages[StageNBStat] = prev.Stages[StageNBStat]
	full.conclude(r)
	return r
}

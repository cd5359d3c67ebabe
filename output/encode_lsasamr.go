package output

import "github.com/smbsweep/smbsweep/probes"

// lsaSAMR appends the "lsa" and "samr" keys of stages lsa and samr, each left out when empty
// (omitempty, as encoding/json does).
func (e *jsonEncoder) lsaSAMR(r *probes.Result) {
	if len(r.LSA) > 0 {
		e.raw(`,"lsa":`)
		appendArray(e, r.LSA, (*jsonEncoder).lsaInfo)
	}
	if len(r.SAMR) > 0 {
		e.raw(`,"samr":`)
		appendArray(e, r.SAMR, (*jsonEncoder).samrInfo)
	}
}

func (e *jsonEncoder) lsaInfo(v *probes.LSAInfo) {
	e.raw(`{"identity":`)
	e.str(v.Identity)
	e.raw(`,"open":`)
	e.strPtr(v.Open)
	e.raw(`,"bind":`)
	e.strPtr(v.Bind)
	e.raw(`,"open_policy":`)
	e.strPtr(v.OpenPolicy)
	e.raw(`,"domain_name":`)
	e.strPtr(v.DomainName)
	e.raw(`,"domain_sid":`)
	e.strPtr(v.DomainSID)
	e.raw(`,"primary_domain_name":`)
	e.strPtr(v.PrimaryDomainName)
	e.raw(`,"primary_domain_sid":`)
	e.strPtr(v.PrimaryDomainSID)
	e.raw(`,"exposed":`)
	e.boolPtr(v.Exposed)
	e.raw(`,"sid_translation":`)
	e.boolPtr(v.SIDTranslation)
	e.raw(`,"sid_lookup":`)
	e.strPtr(v.SIDLookup)
	if u := v.Users; u != nil {
		e.raw(`,"users":{"method":`)
		e.str(u.Method)
		e.raw(`,"rid_range":`)
		e.str(u.RIDRange)
		e.raw(`,"calls":`)
		e.int(int64(u.Calls))
		e.raw(`,"found":`)
		e.int(int64(u.Found))
		e.raw(`,"names":`)
		e.strs(u.Names)
		e.raw(`,"complete":`)
		e.bool(u.Complete)
		e.raw(`,"evidence":`)
		e.str(u.Evidence)
		e.buf = append(e.buf, '}')
	}
	e.raw(`,"evidence":`)
	e.str(v.Evidence)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) samrInfo(v *probes.SAMRInfo) {
	e.raw(`{"identity":`)
	e.str(v.Identity)
	e.raw(`,"open":`)
	e.strPtr(v.Open)
	e.raw(`,"bind":`)
	e.strPtr(v.Bind)
	e.raw(`,"connect":`)
	e.strPtr(v.Connect)
	e.raw(`,"domain_name":`)
	e.strPtr(v.DomainName)
	e.raw(`,"domain_sid":`)
	e.strPtr(v.DomainSID)
	e.raw(`,"open_domain":`)
	e.strPtr(v.OpenDomain)
	e.raw(`,"password_policy":`)
	if p := v.PasswordPolicy; p == nil {
		e.raw("null")
	} else {
		e.raw(`{"password_info":`)
		e.strPtr(p.PasswordInfo)
		e.raw(`,"min_password_length":`)
		e.intPtr(p.MinPasswordLength)
		e.raw(`,"password_history_length":`)
		e.intPtr(p.PasswordHistoryLength)
		e.raw(`,"max_password_age_seconds":`)
		e.int64Ptr(p.MaxPasswordAgeSeconds)
		e.raw(`,"min_password_age_seconds":`)
		e.int64Ptr(p.MinPasswordAgeSeconds)
		e.raw(`,"password_properties":`)
		e.strs(p.PasswordProperties)
		e.raw(`,"lockout_info":`)
		e.strPtr(p.LockoutInfo)
		e.raw(`,"lockout_threshold":`)
		e.intPtr(p.LockoutThreshold)
		e.raw(`,"lockout_duration_seconds":`)
		e.int64Ptr(p.LockoutDurationSeconds)
		e.raw(`,"lockout_window_seconds":`)
		e.int64Ptr(p.LockoutWindowSeconds)
		e.buf = append(e.buf, '}')
	}
	e.raw(`,"exposed":`)
	e.boolPtr(v.Exposed)
	e.raw(`,"evidence":`)
	e.str(v.Evidence)
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) intPtr(v *int) { appendIntPtr(e, v) }

func (e *jsonEncoder) int64Ptr(v *int64) { appendIntPtr(e, v) }

// appendIntPtr appends *v, or null when v is nil.
func appendIntPtr[T int | int64](e *jsonEncoder, v *T) {
	if v == nil {
		e.raw("null")
		return
	}
	e.int(int64(*v))
}

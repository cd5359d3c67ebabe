package sweep

import (
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/scanner"
)

func TestSettingsDefaultsAndCaps(t *testing.T) {
	st := DefaultSettings()
	d := st.Dialer()
	if d.ConnectTimeout != scanner.DefaultConnectTimeout || d.Retries != DefaultRetries || d.Limiter != nil {
		t.Fatalf("default dialer %+v", d)
	}
	if o := st.ProbeOptions(); o.SessionTimeout != DefaultSessionTimeout || o.Dialer == nil {
		t.Fatalf("default probe options: session timeout %v, dialer %v", o.SessionTimeout, o.Dialer)
	}
	if sc := st.Scanner(); sc.Concurrency != scanner.DefaultConcurrency || sc.HostTimeout != scanner.DefaultHostTimeout {
		t.Fatalf("default scanner config %+v", sc)
	}

	// A short host deadline caps the connect and session deadlines; a rate sets a limiter
	// with a tenth of a second's burst.
	st.HostTimeout, st.Rate = 2*time.Second, 500
	d = st.Dialer()
	if d.ConnectTimeout != 2*time.Second || d.Limiter == nil || d.Limiter.Burst() != 50 || float64(d.Limiter.Limit()) != 500 {
		t.Fatalf("capped dialer: timeout %v limiter %v", d.ConnectTimeout, d.Limiter)
	}
	if o := st.ProbeOptions(); o.SessionTimeout != 2*time.Second {
		t.Fatalf("session timeout %v, want the 2s host deadline", o.SessionTimeout)
	}
	// A session timeout of 0 (the host deadline alone) stays 0; a rate under 10/s has burst 1.
	st.SessionTimeout, st.Rate = 0, 3
	if o := st.ProbeOptions(); o.SessionTimeout != 0 || st.Dialer().Limiter.Burst() != 1 {
		t.Fatalf("session timeout %v, burst %d", o.SessionTimeout, st.Dialer().Limiter.Burst())
	}
}

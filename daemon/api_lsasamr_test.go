package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
)

// TestScansEnumUsers: an API scan with enum_users runs the RID cycling of stage lsa and
// returns the account names in lsa[].users.names; without it no record names the test user.
func TestScansEnumUsers(t *testing.T) {
	fleet := sambatest.Require(t)
	td := newTestDaemon(t, "", nil)
	target := fleet.Server("default").AddrPort().String()
	scan := func(extra string) *probes.Result {
		t.Helper()
		body := fmt.Sprintf(`{"targets":[%q],"profile":"vuln","timeout":20000%s}`, target, extra)
		resp, err := http.Post(td.srv.URL+"/api/v1/scans", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
		for sc.Scan() {
			var r probes.Result
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			if r.Type == "host" {
				if extra == "" && strings.Contains(sc.Text(), sambatest.TestUser) {
					t.Errorf("record names %s without enum_users", sambatest.TestUser)
				}
				return &r
			}
		}
		t.Fatalf("no host record (HTTP %d)", resp.StatusCode)
		return nil
	}
	r := scan(`,"enum_users":true,"rid_range":"500-1100"`)
	if len(r.LSA) == 0 || r.LSA[0].Users == nil || !slices.Contains(r.LSA[0].Users.Names, sambatest.TestUser) || r.LSA[0].Users.RIDRange != "500-1100" {
		t.Errorf("lsa %+v, want the RID cycling to find %s", r.LSA, sambatest.TestUser)
	}
	if r = scan(""); len(r.LSA) == 0 || r.LSA[0].Users != nil {
		t.Errorf("lsa %+v without enum_users", r.LSA)
	}
}

package configs

import (
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

func TestBuiltinProfiles(t *testing.T) {
	p := BuiltinProfiles()
	for _, name := range []string{"quick", "default", "full"} {
		prof, ok := p[name]
		if !ok {
			t.Fatalf("profile %q missing", name)
		}
		pl, err := probes.NewPipeline(prof.Stages, &probes.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if pl.Stages[0].Name != "negotiate" {
			t.Errorf("%s: first stage %s", name, pl.Stages[0].Name)
		}
	}
	// The default profile must match the pipeline the code falls back to.
	if strings.Join(p["default"].Stages, ",") != strings.Join(probes.DefaultStages, ",") {
		t.Errorf("default profile %v != probes.DefaultStages %v", p["default"].Stages, probes.DefaultStages)
	}
}

func TestLoadProfilesRejects(t *testing.T) {
	cases := map[string]string{
		"":                            "x.yml: empty file: want a 'profiles:' mapping",
		"profiles: {}":                "x.yml: no profiles",
		"profiles: {a: {stages: []}}": `x.yml: profile "a" has no stages: list some of negotiate`,
		"profiles: {a: {stages: [negotiate, bogus]}}": `x.yml: profile "a": unknown stage "bogus": valid stages are negotiate, smb1`,
		"profiles: {a: {stage: [negotiate]}}":         "field stage not found",
		"profile: {}":                                 "field profile not found",
	}
	for in, want := range cases {
		_, err := LoadProfiles([]byte(in), "x.yml")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

// TestProfilesRunLSASAMR: full and vuln run the anonymous LSA and SAMR stages (issue 12 item 6).
func TestProfilesRunLSASAMR(t *testing.T) {
	p := BuiltinProfiles()
	for _, name := range []string{"full", "vuln"} {
		pl, err := probes.NewPipeline(p[name].Stages, &probes.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, st := range pl.Stages {
			if st.Name == "lsa" || st.Name == "samr" {
				got = append(got, string(st.Name))
			}
		}
		if strings.Join(got, ",") != "lsa,samr" {
			t.Errorf("profile %s runs %v of lsa, samr", name, got)
		}
	}
}

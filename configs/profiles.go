// Package configs holds smbsweep's shipped configuration: the probe profiles compiled into the
// binary, and (as files) example daemon configs, dashboards and units.
package configs

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/smbsweep/smbsweep/probes"
)

// ProfilesYAML is configs/profiles.yaml, compiled in.
//
//go:embed profiles.yaml
var ProfilesYAML []byte

// Profile is a named list of probe stages.
type Profile struct {
	Description string   `yaml:"description"`
	Stages      []string `yaml:"stages"`
}

type profileFile struct {
	Profiles map[string]Profile `yaml:"profiles"`
}

// LoadProfiles parses a profile file strictly: unknown keys, unknown stage names, empty stage
// lists and a file without profiles are errors naming the file (source) and the fix.
func LoadProfiles(data []byte, source string) (map[string]Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f profileFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file: want a 'profiles:' mapping", source)
		}
		return nil, fmt.Errorf("%s: %v", source, err)
	}
	if len(f.Profiles) == 0 {
		return nil, fmt.Errorf("%s: no profiles: want 'profiles: {NAME: {stages: [...]}}'", source)
	}
	valid := probes.StageNames()
	for name, p := range f.Profiles {
		if len(p.Stages) == 0 {
			return nil, fmt.Errorf("%s: profile %q has no stages: list some of %s", source, name, strings.Join(valid, ", "))
		}
		for _, st := range p.Stages {
			if !slices.Contains(valid, st) {
				return nil, fmt.Errorf("%s: profile %q: unknown stage %q: valid stages are %s", source, name, st, strings.Join(valid, ", "))
			}
		}
	}
	return f.Profiles, nil
}

// BuiltinProfiles returns the compiled-in profiles.
func BuiltinProfiles() map[string]Profile {
	p, err := LoadProfiles(ProfilesYAML, "configs/profiles.yaml")
	if err != nil {
		panic(err) // a test keeps the shipped file valid
	}
	return p
}

// ProfileNames lists profile names sorted.
func ProfileNames(p map[string]Profile) []string {
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

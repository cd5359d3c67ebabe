package probes

import "testing"

// TestCredentialed: exactly the stages on the credentialed connection work with -u (their
// output is private); an unknown name is not one of them.
func TestCredentialed(t *testing.T) {
	want := map[string]bool{string(StageAuth): true, string(StageLs): true, string(StageRead): true}
	for _, name := range StageNames() {
		if got := Credentialed(name); got != want[name] {
			t.Errorf("Credentialed(%q) = %v, want %v", name, got, want[name])
		}
	}
	if Credentialed("nosuchstage") {
		t.Error("an unknown stage counts as credentialed")
	}
}

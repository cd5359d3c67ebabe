package kubernetes

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// get walks a parsed manifest by keys and list indexes.
func get(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		switch m := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = m[p]; !ok {
				t.Fatalf("missing %s (in %s)", p, strings.Join(path, "."))
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(m) {
				t.Fatalf("no element %s (in %s)", p, strings.Join(path, "."))
			}
			v = m[i]
		default:
			t.Fatalf("%s: not a map or list at %s", strings.Join(path, "."), p)
		}
	}
	return v
}

func load(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func TestKustomizationResourcesParse(t *testing.T) {
	k := load(t, "kustomization.yaml")
	res := get(t, k, "resources").([]any)
	kinds := map[string]bool{}
	for _, r := range res {
		m := load(t, r.(string))
		for _, f := range []string{"apiVersion", "kind"} {
			if s, _ := m[f].(string); s == "" {
				t.Errorf("%s: no %s", r, f)
			}
		}
		if get(t, m, "metadata", "name").(string) == "" {
			t.Errorf("%s: no name", r)
		}
		kinds[m["kind"].(string)] = true
	}
	for _, k := range []string{"CronJob", "ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"} {
		if !kinds[k] {
			t.Errorf("kustomization lacks a %s", k)
		}
	}
}

func TestCronJobIsHardenedIndexedJob(t *testing.T) {
	cj := load(t, "cronjob.yaml")
	if cj["apiVersion"] != "batch/v1" || cj["kind"] != "CronJob" {
		t.Fatalf("apiVersion %v kind %v", cj["apiVersion"], cj["kind"])
	}
	if s, _ := get(t, cj, "spec", "schedule").(string); len(strings.Fields(s)) != 5 {
		t.Errorf("schedule %q", s)
	}
	job := get(t, cj, "spec", "jobTemplate", "spec")
	if get(t, job, "completionMode") != "Indexed" {
		t.Error("the job template is not an Indexed Job")
	}
	completions := get(t, job, "completions").(int)
	if get(t, job, "parallelism").(int) < 1 || completions < 1 {
		t.Error("completions/parallelism")
	}
	pod := get(t, job, "template", "spec")
	if get(t, pod, "restartPolicy") != "Never" {
		t.Error("restartPolicy must be Never (retries are per index, with -resume)")
	}
	psc := get(t, pod, "securityContext")
	if get(t, psc, "runAsNonRoot") != true || get(t, psc, "runAsUser").(int) == 0 {
		t.Error("pod must run as non-root")
	}
	if get(t, psc, "seccompProfile", "type") != "RuntimeDefault" {
		t.Error("seccomp profile must be RuntimeDefault")
	}
	cs := get(t, pod, "containers").([]any)
	if len(cs) != 1 {
		t.Fatalf("%d containers", len(cs))
	}
	c := cs[0]
	sc := get(t, c, "securityContext")
	if get(t, sc, "readOnlyRootFilesystem") != true || get(t, sc, "allowPrivilegeEscalation") != false || get(t, sc, "runAsNonRoot") != true {
		t.Errorf("container securityContext %v", sc)
	}
	drop := get(t, sc, "capabilities", "drop").([]any)
	if !slices.Contains(drop, any("ALL")) {
		t.Errorf("capabilities.drop %v lacks ALL", drop)
	}
	if add, ok := get(t, sc, "capabilities").(map[string]any)["add"]; ok {
		t.Errorf("capabilities added: %v", add)
	}

	// The shard index comes from the Indexed Job; the shard count matches completions; every
	// shard uses the same seed; results, checkpoint and metrics are per shard.
	env := map[string]string{}
	for _, e := range get(t, c, "env").([]any) {
		name := get(t, e, "name").(string)
		env[name] = get(t, e, "valueFrom", "fieldRef", "fieldPath").(string)
	}
	if env["JOB_COMPLETION_INDEX"] != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("JOB_COMPLETION_INDEX from %q", env["JOB_COMPLETION_INDEX"])
	}
	var args []string
	for _, a := range get(t, c, "args").([]any) {
		args = append(args, a.(string))
	}
	if len(args) == 0 || args[0] != "scan" {
		t.Fatalf("args %v", args)
	}
	flag := func(name string) string {
		i := slices.Index(args, name)
		if i < 0 || i+1 >= len(args) {
			t.Fatalf("args lack %s", name)
		}
		return args[i+1]
	}
	if n, err := strconv.Atoi(flag("-shards")); err != nil || n != completions {
		t.Errorf("-shards %s, completions %d", flag("-shards"), completions)
	}
	if s, err := strconv.ParseUint(flag("-seed"), 10, 64); err != nil || s == 0 {
		t.Errorf("-seed %q: shards must share a fixed non-zero seed", flag("-seed"))
	}
	for _, f := range []string{"-o", "-resume"} {
		if !strings.Contains(flag(f), "$(JOB_COMPLETION_INDEX)") || !strings.HasPrefix(flag(f), "/results/") {
			t.Errorf("%s %q: want a per-shard file on the results volume", f, flag(f))
		}
	}
	if u := flag("-metrics-push"); !strings.HasPrefix(u, "http") {
		t.Errorf("-metrics-push %q", u)
	}
	if flag("-metrics-push-job") == "" {
		t.Error("-metrics-push-job")
	}
	// The dashboard and the alerts select by scan_job (-job); the "no recent success" alert
	// needs the schedule's period (-job-interval): daily here.
	if flag("-job") == "" || flag("-job-interval") != "24h" {
		t.Errorf("-job %q -job-interval %q: want a job name and the daily schedule's 24h", flag("-job"), flag("-job-interval"))
	}

	// Mounts name volumes that exist, and those name the ConfigMap and the claim shipped here.
	vols := map[string]any{}
	for _, v := range get(t, pod, "volumes").([]any) {
		vols[get(t, v, "name").(string)] = v
	}
	for _, m := range get(t, c, "volumeMounts").([]any) {
		if _, ok := vols[get(t, m, "name").(string)]; !ok {
			t.Errorf("mount of unknown volume %v", m)
		}
	}
	cm := load(t, "targets-configmap.yaml")
	if get(t, vols["targets"], "configMap", "name") != get(t, cm, "metadata", "name") {
		t.Error("targets volume does not name the ConfigMap")
	}
	for _, key := range []string{"targets.txt", "exclude.txt"} {
		if _, ok := get(t, cm, "data").(map[string]any)[key]; !ok {
			t.Errorf("ConfigMap lacks %s", key)
		}
		if !slices.Contains(args, "/etc/smbsweep/"+key) {
			t.Errorf("args do not read %s", key)
		}
	}
	pvc := load(t, "results-pvc.yaml")
	if get(t, vols["results"], "persistentVolumeClaim", "claimName") != get(t, pvc, "metadata", "name") {
		t.Error("results volume does not name the claim")
	}
}

func yamlUnmarshal(s string, v any) error { return yaml.Unmarshal([]byte(s), v) }

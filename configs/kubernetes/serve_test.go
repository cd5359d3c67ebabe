package kubernetes

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/daemon"
)

// TestServeDeployment checks the serve manifests: one replica recreated (RWO volume, no job run
// twice), hardened like the CronJob, the container port named by the Service and the probes,
// liveness on /-/healthy and readiness on /-/ready (no token needed), the config from the
// ConfigMap at the path -config reads, the token Secret where the config's token_file points,
// and the data volume at the config's output_dir, the image's writable directory.
func TestServeDeployment(t *testing.T) {
	d := load(t, "serve-deployment.yaml")
	if d["apiVersion"] != "apps/v1" || d["kind"] != "Deployment" {
		t.Fatalf("apiVersion %v kind %v", d["apiVersion"], d["kind"])
	}
	if get(t, d, "spec", "replicas").(int) != 1 || get(t, d, "spec", "strategy", "type") != "Recreate" {
		t.Error("serve must run as one replica, recreated (two would run every job twice)")
	}
	sel := get(t, d, "spec", "selector", "matchLabels").(map[string]any)
	podLabels := get(t, d, "spec", "template", "metadata", "labels").(map[string]any)
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("selector %s=%v does not match the pod labels %v", k, v, podLabels)
		}
	}
	pod := get(t, d, "spec", "template", "spec")
	if get(t, pod, "automountServiceAccountToken") != false {
		t.Error("the pod needs no service account token")
	}
	psc := get(t, pod, "securityContext")
	if get(t, psc, "runAsNonRoot") != true || get(t, psc, "runAsUser").(int) != 65532 || get(t, psc, "seccompProfile", "type") != "RuntimeDefault" {
		t.Errorf("pod securityContext %v", psc)
	}
	c := get(t, pod, "containers", "0")
	sc := get(t, c, "securityContext")
	if get(t, sc, "readOnlyRootFilesystem") != true || get(t, sc, "allowPrivilegeEscalation") != false ||
		!slices.Contains(get(t, sc, "capabilities", "drop").([]any), any("ALL")) {
		t.Errorf("container securityContext %v", sc)
	}
	var args []string
	for _, a := range get(t, c, "args").([]any) {
		args = append(args, a.(string))
	}
	if len(args) != 3 || args[0] != "serve" || args[1] != "-config" {
		t.Fatalf("args %v: want serve -config FILE", args)
	}
	port := get(t, c, "ports", "0")
	if get(t, port, "name") != "http" || get(t, port, "containerPort").(int) != 9445 {
		t.Errorf("container port %v", port)
	}
	for probe, path := range map[string]string{"livenessProbe": "/-/healthy", "readinessProbe": "/-/ready"} {
		if get(t, c, probe, "httpGet", "path") != path || get(t, c, probe, "httpGet", "port") != "http" {
			t.Errorf("%s: want GET %s on port http", probe, path)
		}
	}

	// Mounts → volumes → ConfigMap, Secret, claim.
	vols := map[string]any{}
	for _, v := range get(t, pod, "volumes").([]any) {
		vols[get(t, v, "name").(string)] = v
	}
	mounts := map[string]string{}
	for _, m := range get(t, c, "volumeMounts").([]any) {
		name := get(t, m, "name").(string)
		if _, ok := vols[name]; !ok {
			t.Errorf("mount of unknown volume %s", name)
		}
		mounts[name] = get(t, m, "mountPath").(string)
	}
	cm := load(t, "serve-configmap.yaml")
	if get(t, vols["config"], "configMap", "name") != get(t, cm, "metadata", "name") {
		t.Error("config volume does not name the serve ConfigMap")
	}
	key := filepath.Base(args[2])
	if mounts["config"] != filepath.Dir(args[2]) {
		t.Errorf("-config %s is not in the config mount %s", args[2], mounts["config"])
	}
	cfgText, ok := get(t, cm, "data").(map[string]any)[key].(string)
	if !ok {
		t.Fatalf("ConfigMap lacks %s", key)
	}
	pvc := load(t, "serve-pvc.yaml")
	if get(t, vols["data"], "persistentVolumeClaim", "claimName") != get(t, pvc, "metadata", "name") {
		t.Error("data volume does not name the serve claim")
	}
	if mounts["data"] != "/var/lib/smbsweep" {
		t.Errorf("data volume at %s, want the image's output directory /var/lib/smbsweep", mounts["data"])
	}
	if get(t, vols["api-tokens"], "secret", "secretName") != "smbsweep-api-tokens" {
		t.Error("api-tokens volume does not name the Secret the README creates")
	}

	// The configuration is valid for this binary: the token file and output directory it
	// names are where the Secret and the volume are mounted (moved into a temporary directory
	// here, because Parse reads the token file).
	var cfgMap map[string]any
	if err := yamlUnmarshal(cfgText, &cfgMap); err != nil {
		t.Fatalf("smbsweep.yml in the ConfigMap: %v", err)
	}
	tokenFile := get(t, cfgMap, "api", "token_file").(string)
	if filepath.Dir(tokenFile) != mounts["api-tokens"] {
		t.Errorf("token_file %s is not in the Secret's mount %s", tokenFile, mounts["api-tokens"])
	}
	if get(t, cfgMap, "output_dir") != mounts["data"] {
		t.Errorf("output_dir %v is not the data volume %s", get(t, cfgMap, "output_dir"), mounts["data"])
	}
	tmp := t.TempDir()
	os.WriteFile(filepath.Join(tmp, "api-tokens"), []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
	text := strings.ReplaceAll(cfgText, tokenFile, filepath.Join(tmp, "api-tokens"))
	text = strings.ReplaceAll(text, "output_dir: /var/lib/smbsweep", "output_dir: "+tmp)
	cfgFile := filepath.Join(tmp, "smbsweep.yml")
	if err := os.WriteFile(cfgFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := daemon.LoadFile(cfgFile, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("the ConfigMap's smbsweep.yml: %v", err)
	}
	if !strings.HasSuffix(cfg.Listen, ":9445") || strings.HasPrefix(cfg.Listen, "127.") {
		t.Errorf("listen %s: want all interfaces on the container port 9445", cfg.Listen)
	}

	svc := load(t, "serve-service.yaml")
	if get(t, svc, "kind") != "Service" {
		t.Fatal("serve-service.yaml is not a Service")
	}
	for k, v := range get(t, svc, "spec", "selector").(map[string]any) {
		if podLabels[k] != v {
			t.Errorf("Service selector %s=%v does not select the serve pods", k, v)
		}
	}
	sp := get(t, svc, "spec", "ports", "0")
	if get(t, sp, "targetPort") != "http" || get(t, sp, "port").(int) != 9445 {
		t.Errorf("Service port %v", sp)
	}
	// The CronJob's pods carry app.kubernetes.io/name too: the Service must not select them.
	cj := load(t, "cronjob.yaml")
	cjLabels := get(t, cj, "spec", "jobTemplate", "spec", "template", "metadata", "labels").(map[string]any)
	selectsCron := true
	for k, v := range get(t, svc, "spec", "selector").(map[string]any) {
		if cjLabels[k] != v {
			selectsCron = false
		}
	}
	if selectsCron {
		t.Error("the Service selects the CronJob's scan pods")
	}
}

package calicobgp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubectlPath finds the real kubectl: on PATH, else in the cache scripts/kube-tools.sh builds it
// into. Without it the test skips on a developer's machine and fails in CI (CI=true).
func kubectlPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("kubectl"); err == nil {
		return p
	}
	cache := os.Getenv("METALK8S_TOOLS_CACHE")
	if cache == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(dir, "metalk8s", "kube-tools")
		}
	}
	// Complete builds only: a build under way lives in <key>.partial.
	if found, _ := filepath.Glob(filepath.Join(cache, "*", "kubectl")); len(found) > 0 {
		for _, p := range found {
			if !strings.HasSuffix(filepath.Dir(p), ".partial") {
				return p
			}
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("kubectl is required in CI: bash scripts/kube-tools.sh builds it")
	}
	t.Skip("kubectl not found (bash scripts/kube-tools.sh builds it)")
	return ""
}

// apiServer stands in for the Kubernetes API as kubectl get needs it for one ConfigMap:
// discovery of the core group, then the object, or the 404 Status the API server returns for an
// object that does not exist (and for anything else asked). down makes every request fail.
func apiServer(t *testing.T, template *string, down bool) *httptest.Server {
	t.Helper()
	reply := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	notFound := map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
		"message": `configmaps "bird-templates" not found`, "details": map[string]any{"name": "bird-templates", "kind": "configmaps"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case down:
			reply(w, http.StatusServiceUnavailable, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 503})
		case r.URL.Path == "/api":
			reply(w, 200, map[string]any{"kind": "APIVersions", "versions": []string{"v1"},
				"serverAddressByClientCIDRs": []map[string]string{{"clientCIDR": "0.0.0.0/0", "serverAddress": r.Host}}})
		case r.URL.Path == "/apis":
			reply(w, 200, map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{}})
		case r.URL.Path == "/api/v1":
			reply(w, 200, map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": []map[string]any{{
				"name": "configmaps", "singularName": "configmap", "namespaced": true, "kind": "ConfigMap",
				"verbs": []string{"create", "delete", "get", "list", "patch", "update", "watch"}, "shortNames": []string{"cm"},
			}}})
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/"+OperatorNamespace+"/configmaps/bird-templates" && template != nil:
			reply(w, 200, map[string]any{"kind": "ConfigMap", "apiVersion": "v1",
				"metadata": map[string]any{"name": "bird-templates", "namespace": OperatorNamespace},
				"data":     map[string]string{"bird.cfg.template": *template}})
		default:
			reply(w, http.StatusNotFound, notFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBirdTemplateGuard runs the check rendered for each target version with the real kubectl
// against the ConfigMap as published (the fixtures, edited by InsertPassiveLoopback): it passes
// when nothing is published or the published template is of the target's generation, and refuses
// otherwise, or when it cannot read the ConfigMap. Facts: kubectl v1.37 `get --ignore-not-found`
// prints nothing and succeeds for an object that does not exist (k8s.io/kubectl pkg/cmd/get);
// a 3.31 template calls getenv and a 3.32 one getBGPConfig (bird.cfg.template at v3.31.7 and
// v3.32.1), and neither confd defines the other's function.
func TestBirdTemplateGuard(t *testing.T) {
	kubectl := kubectlPath(t)
	bin := t.TempDir()
	if err := os.Symlink(kubectl, filepath.Join(bin, "kubectl")); err != nil {
		t.Fatal(err)
	}
	published := func(fixtureName string) *string {
		s, err := InsertPassiveLoopback(fixture(t, fixtureName))
		if err != nil {
			t.Fatal(err)
		}
		return &s
	}
	handMade := "protocol bgp x from bgp_template {\n}\n"
	tests := []struct {
		name     string
		version  string
		template *string
		down     bool
		refused  string // part of the refusal, "" when it passes
	}{
		{name: "nothing published (calico mode, first install)", version: "3.32.1"},
		{name: "3.31 template, patch upgrade", version: "3.31.8", template: published(v331Fixture)},
		{name: "3.32 template, 3.32 patch", version: "3.32.1", template: published(v332Fixture)},
		{name: "3.31 template, upgrade to 3.32", version: "3.32.1", template: published(v331Fixture),
			refused: "holds a BIRD template of Calico 3.31 and older, which calico-node 3.32.1 (Calico 3.32 and later) cannot render"},
		{name: "3.32 template, downgrade to 3.31", version: "3.31.7", template: published(v332Fixture),
			refused: "holds a BIRD template of Calico 3.32 and later, which calico-node 3.31.7"},
		{name: "a template of no known generation", version: "3.31.7", template: &handMade, refused: "no Calico generation metalk8s knows"},
		{name: "API server unavailable", version: "3.31.7", down: true, refused: "giving up after 3 attempts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := apiServer(t, tc.template, tc.down)
			root := t.TempDir()
			kubeconfig := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"" + srv.URL + "\"}}]\n" +
				"contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: test}}]\ncurrent-context: c\n"
			if err := os.MkdirAll(filepath.Join(root, "etc", "kubernetes"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "etc", "kubernetes", "admin.conf"), []byte(kubeconfig), 0o600); err != nil {
				t.Fatal(err)
			}
			script, err := RenderBirdTemplateGuard(BirdTemplateGuardData{Version: tc.version, Generation: TemplateGeneration(tc.version), Namespace: OperatorNamespace})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-s")
			cmd.Stdin = strings.NewReader(script)
			cmd.Env = append(os.Environ(), "METALK8S_ROOT="+root, "PATH="+bin+":"+os.Getenv("PATH"), "HOME="+root)
			out, err := cmd.CombinedOutput()
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("refused: %v\n%s", err, out)
			case tc.refused != "" && err == nil:
				t.Fatalf("passed, want a refusal containing %q:\n%s", tc.refused, out)
			case tc.refused != "" && !strings.Contains(string(out), tc.refused):
				t.Fatalf("refusal lacks %q:\n%s", tc.refused, out)
			}
			if tc.refused != "" && !tc.down && !strings.Contains(string(out), "loadBalancer.mode calico") {
				t.Errorf("the refusal does not say how to proceed:\n%s", out)
			}
		})
	}
}

// TestTemplateGeneration checks the generation of each Calico minor around the change.
func TestTemplateGeneration(t *testing.T) {
	for v, want := range map[string]string{"3.26.0": "3.31", "3.31.7": "3.31", "3.32.0": "3.32", "3.32.1": "3.32", "3.33.2": "3.32", "3.100.0": "3.32"} {
		if got := TemplateGeneration(v); got != want {
			t.Errorf("TemplateGeneration(%s) = %s, want %s", v, got, want)
		}
	}
}

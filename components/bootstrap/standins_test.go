package bootstrap

import (
	"strings"
	"testing"
)

// runStandin runs one command line on the node, through bash, and returns its result.
func (n *node) runStandin(t *testing.T, command string) result {
	t.Helper()
	return n.run(t, script{name: "standin-call", body: "#!/usr/bin/env bash\n" + command + "\n"})
}

// TestKubeadmStandinLoadsLikeKubeadm feeds the kubeadm stand-in the files kubeadm v1.37.2 accepts
// and refuses, for each subcommand the scripts use: a stand-in more lenient than kubeadm would let
// a script pass that fails on a node. The rules, read in k8s.io/kubernetes v1.37.2:
//   - "config images pull" and "config images list" load --config with
//     LoadOrDefaultInitConfiguration (cmd/kubeadm/app/cmd/config.go), as "init" does; its
//     documentMapToInitConfiguration (util/config/initconfiguration.go) fails with "no
//     InitConfiguration or ClusterConfiguration kind was found in the configuration file";
//   - "join" loads it with LoadOrDefaultJoinConfiguration, whose documentMapToJoinConfiguration
//     (util/config/joinconfiguration.go) fails with "no JoinConfiguration found in the supplied
//     config";
//   - SplitConfigDocuments (util/marshal.go) refuses a document without apiVersion GROUP/VERSION
//     or kind, and a kind given twice; validateSupportedVersion (util/config/common.go) refuses
//     kubeadm.k8s.io/v1beta3 and older in v1.37.
func TestKubeadmStandinLoadsLikeKubeadm(t *testing.T) {
	initOnly := "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n"
	clusterOnly := "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.37.2\n"
	files := map[string]func(*testing.T) string{
		"init":         initConfig,
		"join":         joinConfig,
		"init-only":    func(*testing.T) string { return initOnly },
		"cluster-only": func(*testing.T) string { return clusterOnly },
		"empty":        func(*testing.T) string { return "" },
		"v1beta3":      func(*testing.T) string { return strings.Replace(initOnly, "v1beta4", "v1beta3", 1) },
		"twice":        func(*testing.T) string { return initOnly + "---\n" + initOnly },
		"no-kind":      func(*testing.T) string { return initOnly + "---\napiVersion: kubeadm.k8s.io/v1beta4\n" },
		"no-group":     func(*testing.T) string { return initOnly + "---\napiVersion: v1\nkind: Secret\n" },
		"join-kubelet": func(t *testing.T) string {
			return joinConfig(t) + "---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
		},
	}
	const (
		noInit = "no InitConfiguration or ClusterConfiguration kind was found in the configuration file"
		noJoin = "no JoinConfiguration found in the supplied config"
	)
	cases := []struct {
		file, command string
		// refusal is the error kubeadm prints, or "" when it loads the file.
		refusal string
	}{
		{"init", "config images pull", ""},
		{"init", "config images list", ""},
		{"init", "join", noJoin},
		{"join", "config images pull", noInit},
		{"join", "config images list", noInit},
		{"join", "init", noInit},
		{"join", "join", ""},
		{"join-kubelet", "join", ""},
		{"join-kubelet", "config images pull", noInit},
		{"init-only", "config images pull", ""},
		{"cluster-only", "config images list", ""},
		{"empty", "config images pull", noInit},
		{"empty", "join", noJoin},
		{"v1beta3", "config images pull", "old API spec"},
		{"twice", "config images pull", `kind "InitConfiguration" is specified twice`},
		{"no-kind", "config images pull", "kind and apiVersion is mandatory"},
		{"no-group", "config images list", "kind and apiVersion is mandatory"},
	}
	for _, c := range cases {
		t.Run(c.file+"/"+c.command, func(t *testing.T) {
			n := newNode(t)
			n.write(t, "etc/metalk8s/kubeadm.yaml", files[c.file](t), 0o600)
			n.write(t, "etc/kubernetes/pki/ca.crt", testCACert, 0o644)
			n.write(t, "etc/kubernetes/pki/ca.key", testCAKey, 0o600)
			line := "kubeadm " + c.command + ` --config "$METALK8S_ROOT/etc/metalk8s/kubeadm.yaml"`
			if c.command == "init" {
				line += " --skip-token-print"
			}
			r := n.runStandin(t, line)
			switch {
			case c.refusal == "" && r.code != 0:
				t.Errorf("kubeadm loads this file, the stand-in refused it: exit %d\n%s", r.code, r.stderr)
			case c.refusal != "" && r.code == 0:
				t.Errorf("kubeadm refuses this file (%s), the stand-in accepted it", c.refusal)
			case c.refusal != "" && !strings.Contains(r.stderr, c.refusal):
				t.Errorf("stderr does not say %q:\n%s", c.refusal, r.stderr)
			}
		})
	}
}

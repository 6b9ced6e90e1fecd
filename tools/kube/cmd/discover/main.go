// Command discover runs kubeadm's own token discovery for a JoinConfiguration file, as
// `kubeadm join` does before the TLS bootstrap: it reads the cluster-info ConfigMap, checks its
// signature with the bootstrap token and the CA against the pinned hashes, and prints the API
// server it would bootstrap against. `kubeadm join --dry-run` cannot stand in for this: it fakes
// cluster-info.
//
//	discover [-timeout 20s] JOIN-CONFIG
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/cmd/kubeadm/app/discovery"
	configutil "k8s.io/kubernetes/cmd/kubeadm/app/util/config"
)

func main() {
	timeout := flag.Duration("timeout", 20*time.Second, "how long discovery may take")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: discover [-timeout D] JOIN-CONFIG")
		os.Exit(2)
	}
	cfg, err := configutil.LoadJoinConfigurationFromFile(flag.Arg(0), configutil.LoadOrDefaultConfigurationOptions{SkipCRIDetect: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	cfg.Timeouts.Discovery = &metav1.Duration{Duration: *timeout}
	kubeconfig, err := discovery.For(nil, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "discovery:", err)
		os.Exit(1)
	}
	for name, cluster := range kubeconfig.Clusters {
		fmt.Printf("cluster %s server %s ca-bytes %d\n", name, cluster.Server, len(cluster.CertificateAuthorityData))
	}
}

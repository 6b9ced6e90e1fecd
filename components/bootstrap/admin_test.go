package bootstrap

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

// adminRun is one Bootstrap under the fake cloud with real keys: its registrations and the
// exported kubeconfig as the program sees it.
type adminRun struct {
	byName     map[string]*mockcloud.Resource
	kubeconfig string
	secret     bool
	endpoint   string
}

func runAdmin(t *testing.T, edit func(*BootstrapArgs)) adminRun {
	t.Helper()
	args := connectionArgs()
	if edit != nil {
		edit(&args)
	}
	cloud := mockcloud.New(false, mockcloud.SiteIBX)
	cloud.RealKeys = true
	var run adminRun
	err := cloud.Run(func(ctx *pulumi.Context) error {
		b, err := NewBootstrap(ctx, "c", &args)
		if err != nil {
			return err
		}
		kc, err := internals.UnsafeAwaitOutput(ctx.Context(), b.Kubeconfig)
		if err != nil {
			return err
		}
		ep, err := internals.UnsafeAwaitOutput(ctx.Context(), b.APIEndpoint)
		if err != nil {
			return err
		}
		run.kubeconfig, run.secret, run.endpoint = kc.Value.(string), kc.Secret, ep.Value.(string)
		return nil
	}, "p", "s", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	run.byName = map[string]*mockcloud.Resource{}
	for _, r := range cloud.Resources() {
		run.byName[r.Type+" "+r.Name] = r
	}
	return run
}

func (r adminRun) get(t *testing.T, typ, name string) *mockcloud.Resource {
	t.Helper()
	res, ok := r.byName[typ+" "+name]
	if !ok {
		t.Fatalf("no %s %s registered", typ, name)
	}
	return res
}

func number(t *testing.T, r *mockcloud.Resource, key string) float64 {
	t.Helper()
	v, _ := unwrap(r.Inputs[resource.PropertyKey(key)])
	if !v.IsNumber() {
		t.Fatalf("%s: %s is %v, want a number", r.Name, key, v)
	}
	return v.NumberValue()
}

func str(r *mockcloud.Resource, outputs bool, key string) string {
	m := r.Inputs
	if outputs {
		m = r.Outputs
	}
	v, _ := unwrap(m[resource.PropertyKey(key)])
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

// TestAdminKubeconfig checks the exported kubeconfig and what keeps it working: a client
// certificate Pulumi signs with the cluster CA for kubeadm's admin group, renewed by the tls
// provider CertRenewalDays before its end, and a provider whose identity is the control plane's,
// not the kubeconfig's. The kubeconfig is read by client-go's own loader.
func TestAdminKubeconfig(t *testing.T) {
	for _, days := range []int{0, 7} {
		r := runAdmin(t, func(a *BootstrapArgs) { a.Kubernetes.CertRenewalDays = days })
		want := days
		if want == 0 {
			want = DefaultCertRenewalDays
		}
		cert := r.get(t, "tls:index/locallySignedCert:LocallySignedCert", "c-admin")
		// The tls provider replaces the certificate in the plan of the first pulumi up at or past
		// validityEndTime - earlyRenewalHours (modifyPlanIfCertificateReadyForRenewal,
		// internal/provider/common_cert.go of terraform-provider-tls).
		if got := number(t, cert, "earlyRenewalHours"); got != float64(want*24) {
			t.Errorf("CertRenewalDays %d: earlyRenewalHours %v, want %d", days, got, want*24)
		}
		if got := number(t, cert, "validityPeriodHours"); got != 365*24 {
			t.Errorf("validityPeriodHours %v, want a year", got)
		}
		if !r.secret {
			t.Error("the kubeconfig is not secret")
		}
		cfg, err := clientcmd.Load([]byte(r.kubeconfig))
		if err != nil {
			t.Fatalf("client-go refuses the kubeconfig: %v\n%s", err, r.kubeconfig)
		}
		ctx := cfg.Contexts[cfg.CurrentContext]
		if ctx == nil || cfg.Clusters[ctx.Cluster] == nil || cfg.AuthInfos[ctx.AuthInfo] == nil {
			t.Fatalf("the current context %q does not name a cluster and a user:\n%s", cfg.CurrentContext, r.kubeconfig)
		}
		cluster, user := cfg.Clusters[ctx.Cluster], cfg.AuthInfos[ctx.AuthInfo]
		if cluster.Server != r.endpoint {
			t.Errorf("server %q, want the API endpoint %q", cluster.Server, r.endpoint)
		}
		caPEM := str(r.get(t, "tls:index/selfSignedCert:SelfSignedCert", "c-ca"), true, "certPem")
		if string(cluster.CertificateAuthorityData) != caPEM {
			t.Error("the kubeconfig does not trust the cluster CA")
		}
		if got := str(cert, true, "certPem"); string(user.ClientCertificateData) != got {
			t.Error("the client certificate is not the LocallySignedCert's")
		}
		pair, err := tls.X509KeyPair(user.ClientCertificateData, user.ClientKeyData)
		if err != nil {
			t.Fatalf("client certificate and key do not match: %v", err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		// The API server maps the subject to user CN, groups O (x509 request authenticator).
		if leaf.Subject.CommonName != AdminUser || !reflect.DeepEqual(leaf.Subject.Organization, []string{AdminGroup}) {
			t.Errorf("subject %v, want CN=%s O=%s", leaf.Subject, AdminUser, AdminGroup)
		}
		block, _ := pem.Decode([]byte(caPEM))
		ca, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: time.Now()}); err != nil {
			t.Errorf("the client certificate is no client certificate of the cluster CA: %v", err)
		}

		provider := r.get(t, "pulumi:providers:kubernetes", "c")
		init := r.get(t, commandType, "c-cp-init")
		// pulumi-kubernetes' DiffConfig (provider/pkg/provider/provider.go) drops every
		// replacement while clusterIdentifier is set and unchanged, even when the kubeconfig is
		// unknown in a preview: a renewed certificate updates the provider in place. So the
		// identifier must come from the control plane alone, never from the certificate.
		if got := str(provider, false, "clusterIdentifier"); got != "c-"+init.ID {
			t.Errorf("clusterIdentifier %q, want c-<init's ID> %q", got, "c-"+init.ID)
		}
		if deps := provider.PropertyDeps["clusterIdentifier"]; !reflect.DeepEqual(deps, []string{init.URN}) {
			t.Errorf("clusterIdentifier comes from %v, want init alone", deps)
		}
		if deps := provider.PropertyDeps["kubeconfig"]; !slices.Contains(deps, init.URN) || !slices.Contains(deps, cert.URN) {
			t.Errorf("kubeconfig comes from %v, want init (the provider waits for the control plane) and the certificate", deps)
		}
		certs := r.get(t, commandType, "c-cp-certs")
		if !slices.Contains(certs.PropertyDeps["triggers"], cert.URN) {
			t.Errorf("the certificate step's triggers come from %v: a renewed admin certificate would not run it", certs.PropertyDeps["triggers"])
		}
		if out := str(init, true, "stdout"); out != "" {
			t.Errorf("init printed %q: the admin kubeconfig of the controller must not reach the state", out)
		}
	}
}

// TestRenewedKubeconfigNamesTheSameCluster: a renewal changes the user's certificate and key
// only. pulumi-kubernetes plans a provider replacement only when the active cluster (the
// current context's cluster entry) changes (getActiveClusterFromConfig in DiffConfig), so the
// cluster entry of two kubeconfigs with different credentials must be the same.
func TestRenewedKubeconfigNamesTheSameCluster(t *testing.T) {
	caPEM := testCACert
	a, err := AdminKubeconfig("https://192.0.2.10:6443", caPEM, testCACert, testCAKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := AdminKubeconfig("https://192.0.2.10:6443", caPEM, "-----BEGIN CERTIFICATE-----\nAQ==\n-----END CERTIFICATE-----\n", testCAKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := clientcmd.Load([]byte(a))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := clientcmd.Load([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	if ca.CurrentContext != cb.CurrentContext || !reflect.DeepEqual(ca.Contexts, cb.Contexts) || !reflect.DeepEqual(ca.Clusters, cb.Clusters) {
		t.Errorf("the renewed kubeconfig names another cluster:\n%s\n%s", a, b)
	}
	if reflect.DeepEqual(ca.AuthInfos, cb.AuthInfos) {
		t.Error("the credentials did not change")
	}
	if _, err := AdminKubeconfig("https://192.0.2.10:6443", caPEM, "not PEM", testCAKey); err == nil {
		t.Error("a client certificate without PEM was accepted")
	}
}

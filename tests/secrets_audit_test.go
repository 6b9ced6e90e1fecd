package tests

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/config"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
	"github.com/metalk8s/metalk8s/program"
)

// auditMD5 is the marker BGP password of the secrets audit: printable, without spaces, and found
// nowhere else in the program.
const auditMD5 = "Md5AuditZq7Wk2vX"

// auditKubeconfigMarker is what only the admin kubeconfig holds: the key of the client's private
// key (mockcloud.FakeKubeconfig's client-key-data).
const auditKubeconfigMarker = "client-key-data"

// commandLineInputs are the inputs of a remote command that become a command line (which any
// local user sees with ps) or the environment of a process on the host (/proc/PID/environ, logged
// by sshd with AcceptEnv). No secret may be there, secret-wrapped or not: scripts and their data
// travel on standard input.
var commandLineInputs = []string{"create", "update", "delete", "environment"}

// givenKeyMarkers are the lines of the test key's body (tests/keys_test.go) that belong to this
// key alone: the first line, the "openssh-key-v1 none none" header shared by every unencrypted
// OpenSSH key, and the short last line are left out so that no marker matches by chance.
func givenKeyMarkers() map[string]string {
	m := map[string]string{}
	body := strings.Split(strings.TrimSpace(testKey), "\n")
	for i, line := range body[2 : len(body)-1] { // body[0] is the BEGIN line, body[1] the header
		if len(line) >= 32 {
			m[fmt.Sprintf("given SSH private key (body line %d)", i+2)] = line
		}
	}
	return m
}

// auditCase is one whole-program run of the secrets audit.
type auditCase struct {
	// mode is loadBalancer.mode.
	mode string
	// givenKey sets ssh.privateKey to testKey; otherwise the key is generated.
	givenKey bool
	// preview runs the fake as in `pulumi preview`: generated secrets are unknown then.
	preview bool
	// servers runs the provider stack (servers mode: routers with passwords, a bastion) instead of
	// the dev stack; its key is always given.
	servers bool
}

// String names the case: mode/key/kind.
func (c auditCase) String() string {
	key := "generated-key"
	if c.givenKey {
		key = "given-key"
	}
	kind := "up"
	if c.preview {
		kind = "preview"
	}
	if c.servers {
		return "servers/" + c.mode + "/" + kind
	}
	return c.mode + "/" + key + "/" + kind
}

// auditRun is the result of one audited run: the fake with every registration, and the stack
// outputs exactly as Program exports them (Outputs.Map).
type auditRun struct {
	// cloud holds every registered resource with its inputs and outputs.
	cloud *mockcloud.Cloud
	// outputs are the stack outputs by name.
	outputs map[string]awaited
}

// runAudit runs the whole program for the dev stack changed by c, with the configuration key
// declared secret as `pulumi config set --secret --path` makes it, and awaits every stack output.
func runAudit(t *testing.T, c auditCase) *auditRun {
	t.Helper()
	cluster := devCluster(t)
	if c.servers {
		cluster = stackCluster(t, "provider")
		set(t, cluster, "servers.peers[0].md5Password", auditMD5)
		set(t, cluster, "servers.peers[1].md5Password", auditMD5)
		set(t, cluster, "servers.ssh.privateKey", testKey)
		set(t, cluster, "servers.ssh.bastion.privateKey", testKey)
	} else {
		set(t, cluster, "bgp.md5Password", auditMD5)
		if c.givenKey {
			set(t, cluster, "ssh.privateKey", testKey)
		}
	}
	set(t, cluster, "loadBalancer.mode", c.mode)
	raw, err := json.Marshal(cluster)
	if err != nil {
		t.Fatal(err)
	}
	run := &auditRun{cloud: mockcloud.New(c.preview, mockcloud.SiteIBX), outputs: map[string]awaited{}}
	var mu sync.Mutex
	err = run.cloud.Run(func(ctx *pulumi.Context) error {
		out, err := program.Program(ctx)
		if err != nil {
			return err
		}
		for name, v := range out.Map() {
			a, err := awaitInput(ctx, v)
			if err != nil {
				return fmt.Errorf("stack output %s: %w", name, err)
			}
			mu.Lock()
			run.outputs[name] = a
			mu.Unlock()
		}
		return nil
	}, "metalk8s", "dev", map[string]string{config.Key: string(raw)}, []string{config.Key})
	if err != nil {
		t.Fatalf("%s: %v", c, err)
	}
	return run
}

// auditMarkers are the secret values of a run, by what they are. The generated ones come from the
// fake: its SSH and CA keys, the kubeconfig it prints after kubeadm init, and the join token it
// makes up (read back from the RandomPassword results). In a preview the generated ones are unknown
// and left out.
func auditMarkers(t *testing.T, c auditCase, cloud *mockcloud.Cloud) map[string]string {
	t.Helper()
	m := map[string]string{"BGP MD5 password": auditMD5}
	if c.givenKey {
		for k, v := range givenKeyMarkers() {
			m[k] = v
		}
	}
	if c.preview {
		return m
	}
	if !c.givenKey {
		m["generated SSH private key"] = strings.TrimSpace(mockcloud.FakePrivateKey)
	}
	m["generated CA private key"] = strings.TrimSpace(mockcloud.FakePrivateKeyPEM)
	m["admin kubeconfig client key"] = auditKubeconfigMarker
	token := map[string]string{}
	for _, r := range cloud.Resources() {
		if r.Type != "random:index/randomPassword:RandomPassword" {
			continue
		}
		s, ok := plain(r.Outputs["result"]).(secretValue)
		if !ok {
			t.Fatalf("%s: result %#v is not a secret", r.Name, plain(r.Outputs["result"]))
		}
		token[r.Name] = s.v.(string)
	}
	// Each worker's own join token.
	found := 0
	for name, id := range token {
		worker, ok := strings.CutSuffix(name, "-token-id")
		if !ok {
			continue
		}
		sec := token[worker+"-token-secret"]
		if len(id) != 6 || len(sec) != 16 {
			t.Fatalf("%s: join token parts %q, %q", worker, id, sec)
		}
		m[worker+" join token ID"] = id
		m[worker+" join token secret"] = sec
		m[worker+" join token"] = id + "." + sec
		found++
	}
	if found == 0 && len(token) > 0 {
		t.Fatalf("random results %v, but no join token", token)
	}
	return m
}

// findLeaks returns every place where a marker appears in v outside a secret: the path of the
// property (map keys included) and what leaked. v is a value as plain returns it.
func findLeaks(where string, v any, markers map[string]string) []string {
	var leaks []string
	check := func(at, s string) {
		for what, m := range markers {
			if m != "" && strings.Contains(s, m) {
				leaks = append(leaks, fmt.Sprintf("%s: %s in plain text", at, what))
			}
		}
	}
	switch x := v.(type) {
	case secretValue:
		return nil
	case string:
		check(where, x)
	case map[string]any:
		for k, e := range x {
			check(where+" (key "+k+")", k)
			leaks = append(leaks, findLeaks(where+"."+k, e, markers)...)
		}
	case []any:
		for i, e := range x {
			leaks = append(leaks, findLeaks(fmt.Sprintf("%s[%d]", where, i), e, markers)...)
		}
	}
	sort.Strings(leaks)
	return leaks
}

// allStrings returns every string in v, map keys included, secrets unwrapped: what a process
// would see.
func allStrings(v any) []string {
	switch x := v.(type) {
	case secretValue:
		return allStrings(x.v)
	case string:
		return []string{x}
	case map[string]any:
		var out []string
		for k, e := range x {
			out = append(out, k)
			out = append(out, allStrings(e)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, allStrings(e)...)
		}
		return out
	}
	return nil
}

// secretMarkers returns the markers found inside secrets of v, to show that the audit saw them.
func secretMarkers(v any, markers map[string]string, found map[string]bool) {
	switch x := v.(type) {
	case secretValue:
		for _, s := range allStrings(x.v) {
			for what, m := range markers {
				if strings.Contains(s, m) {
					found[what] = true
				}
			}
		}
	case map[string]any:
		for _, e := range x {
			secretMarkers(e, markers, found)
		}
	case []any:
		for _, e := range x {
			secretMarkers(e, markers, found)
		}
	}
}

// resourceLeaks scans every input and every output of every registered resource. An output the
// program listed in AdditionalSecretOutputs counts as secret, as the engine stores it.
func resourceLeaks(cloud *mockcloud.Cloud, markers map[string]string, found map[string]bool) []string {
	var leaks []string
	for _, r := range cloud.Resources() {
		id := r.Type + " " + r.Name
		for k, v := range r.Inputs {
			p := plain(v)
			leaks = append(leaks, findLeaks(id+" inputs."+string(k), p, markers)...)
			secretMarkers(p, markers, found)
		}
		secretOut := map[string]bool{}
		for _, k := range r.AdditionalSecretOutputs {
			secretOut[k] = true
		}
		for k, v := range r.Outputs {
			p := plain(v)
			if secretOut[string(k)] {
				p = secretValue{p}
			}
			leaks = append(leaks, findLeaks(id+" outputs."+string(k), p, markers)...)
			secretMarkers(p, markers, found)
		}
	}
	return leaks
}

// commandLineLeaks returns every marker on the command lines or in the environment of the remote
// commands, whether the value is marked secret or not.
func commandLineLeaks(cloud *mockcloud.Cloud, markers map[string]string) []string {
	var leaks []string
	for _, r := range cloud.Resources() {
		if r.Type != commandToken {
			continue
		}
		for _, key := range commandLineInputs {
			v, ok := r.Inputs[resource.PropertyKey(key)]
			if !ok {
				continue
			}
			for _, s := range allStrings(plain(v)) {
				for what, m := range markers {
					if strings.Contains(s, m) {
						leaks = append(leaks, fmt.Sprintf("%s %s: %s on the %s command line", r.Type, r.Name, what, key))
					}
				}
			}
		}
	}
	sort.Strings(leaks)
	return leaks
}

// outputLeaks returns every marker in a stack output that is not secret.
func outputLeaks(outputs map[string]awaited, markers map[string]string, found map[string]bool) []string {
	var leaks []string
	for name, o := range outputs {
		if o.secret {
			secretMarkers(secretValue{o.value}, markers, found)
			continue
		}
		leaks = append(leaks, findLeaks("stack output "+name, o.value, markers)...)
	}
	sort.Strings(leaks)
	return leaks
}

// TestSecretsAudit runs the whole dev stack in both LoadBalancer modes, with a given and with a
// generated SSH key, simulated and as a preview, with a marker value for every secret: the BGP
// password, the SSH key, the CA key, the kubeconfig and the join token. Every input and output of
// every registered resource and every stack output is scanned: a marker may appear only inside a
// value marked secret, and never on a remote command line or in its environment. Each marker must
// also be seen at least once inside a secret, so the scan cannot pass by looking at nothing.
func TestSecretsAudit(t *testing.T) {
	var cases []auditCase
	for _, mode := range []string{"calico", "bird-local-peer"} {
		cases = append(cases, auditCase{mode: mode, givenKey: true}, auditCase{mode: mode}, auditCase{mode: mode, givenKey: true, preview: true},
			auditCase{mode: mode, givenKey: true, servers: true}, auditCase{mode: mode, givenKey: true, servers: true, preview: true})
	}
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			run := runAudit(t, c)
			markers := auditMarkers(t, c, run.cloud)
			found := map[string]bool{}
			for _, l := range resourceLeaks(run.cloud, markers, found) {
				t.Error(l)
			}
			for _, l := range commandLineLeaks(run.cloud, markers) {
				t.Error(l)
			}
			for _, l := range outputLeaks(run.outputs, markers, found) {
				t.Error(l)
			}
			for what := range markers {
				if !found[what] {
					t.Errorf("%s: never seen inside a secret; the audit did not reach it", what)
				}
			}
			// The servers mode exports no project, elastic IPs or private key of its own.
			if n, want := len(run.outputs), map[bool]int{false: 13, true: 11}[c.servers]; n < want {
				t.Errorf("only %d stack outputs audited, want %d", n, want)
			}
			secretOutputs := []string{"sshPrivateKey", "kubeconfig"}
			if c.servers {
				secretOutputs = []string{"kubeconfig"}
			}
			if !c.preview {
				for _, name := range secretOutputs {
					if o := run.outputs[name]; !o.known || !o.secret {
						t.Errorf("stack output %s: known=%v secret=%v, want a known secret", name, o.known, o.secret)
					}
				}
			}
		})
	}
}

// TestSecretsAuditScanner shows that the scanner of TestSecretsAudit reports what it must: a
// marker in a plain string, in a map key and deep in a list, with its path; nothing inside a
// secret; an output only when it is not listed as an additional secret output; and a secret
// command line.
func TestSecretsAuditScanner(t *testing.T) {
	markers := map[string]string{"password": "m4rker"}
	v := map[string]any{
		"a":            "x m4rker y",
		"hidden":       secretValue{"m4rker"},
		"list":         []any{"ok", map[string]any{"deep": "m4rker"}},
		"m4rker-named": "ok",
	}
	got := findLeaks("r", v, markers)
	want := []string{
		"r (key m4rker-named): password in plain text",
		"r.a: password in plain text",
		"r.list[1].deep: password in plain text",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findLeaks:\n got %q\nwant %q", got, want)
	}

	cloud := mockcloud.New(false, mockcloud.SiteIBX)
	// register records one remote command with a plain command line and a secret stdin on which
	// the fake host prints the BIRD template (marker "Global peers"), as plain standard output.
	register := func(name, create string, secretOutputs ...string) {
		t.Helper()
		err := cloud.Run(func(ctx *pulumi.Context) error {
			var res pulumi.CustomResourceState
			return ctx.RegisterResource(commandToken, name, pulumi.Map{
				"create": pulumi.String(create),
				"stdin":  pulumi.ToSecret(pulumi.String("cat /etc/calico/confd/templates/bird.cfg.template # m4rker")),
			}, &res, pulumi.AdditionalSecretOutputs(secretOutputs))
		}, "metalk8s", "dev", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	register("leaky", "echo m4rker")
	register("careful", "bash -s", "stdout")
	found := map[string]bool{}
	markers["template"] = "Global peers"
	leaks := resourceLeaks(cloud, markers, found)
	// leaky's standard output is plain; careful lists stdout as an additional secret output,
	// which the engine stores as a secret.
	wantLeaks := []string{
		"command:remote:Command leaky inputs.create: password in plain text",
		"command:remote:Command leaky outputs.create: password in plain text",
		"command:remote:Command leaky outputs.stdout: template in plain text",
	}
	sort.Strings(leaks)
	if strings.Join(leaks, "\n") != strings.Join(wantLeaks, "\n") {
		t.Errorf("resourceLeaks:\n got %q\nwant %q", leaks, wantLeaks)
	}
	if !found["password"] || !found["template"] {
		t.Errorf("markers inside secrets not counted as seen: %v", found)
	}
	if got := commandLineLeaks(cloud, markers); len(got) != 1 || !strings.Contains(got[0], "leaky") {
		t.Errorf("commandLineLeaks %q, want leaky's create", got)
	}
	secretLine := map[string]any{"create": secretValue{"run m4rker"}}
	if got := allStrings(secretLine); len(got) != 2 || got[1] != "run m4rker" {
		t.Errorf("allStrings does not unwrap secrets: %q", got)
	}
	if got := outputLeaks(map[string]awaited{"a": {value: "m4rker", known: true}, "b": {value: "m4rker", known: true, secret: true}}, markers, found); len(got) != 1 || !strings.HasPrefix(got[0], "stack output a:") {
		t.Errorf("outputLeaks %q, want only the plain output a", got)
	}
}

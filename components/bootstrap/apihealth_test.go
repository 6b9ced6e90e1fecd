package bootstrap

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/metalk8s/metalk8s/internal/realkube"
)

// testAPIHealth is the health check of the script tests' controller.
func testAPIHealth() APIHealthData {
	return APIHealthData{Node: testController, Address: "192.0.2.100", Private: testPrivateIP, Port: DefaultAPIPort}
}

// TestAPIHealthSteps: with an API address every controller, and only the controllers, gets an
// API address step once it has initialised or joined the control plane, run on that controller;
// its script installs the health check probing that controller's own private address with the
// API address and the probe figures of kubeadm's readinessProbe, and the service that runs it; its
// delete stops the service. Without an API address there is no such step.
func TestAPIHealthSteps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    func() BootstrapArgs
		want    map[string]string // controller: the step it waits for
		private map[string]string
	}{
		{name: "three controllers", args: haArgs, want: map[string]string{"cp1": "c-cp1-init", "cp2": "c-cp2-join", "cp3": "c-cp3-join"},
			private: map[string]string{"cp1": "10.0.0.1", "cp2": "10.0.0.2", "cp3": "10.0.0.3"}},
		{name: "one controller with an API address", args: func() BootstrapArgs {
			a := haArgs()
			a.Controllers = nil
			return a
		}, want: map[string]string{"cp1": "c-cp1-init"}, private: map[string]string{"cp1": "10.0.0.1"}},
		{name: "no API address", args: func() BootstrapArgs {
			a := haArgs()
			a.Controllers, a.APIAddress = nil, nil
			return a
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args()
			cmds := recordedCommands(t, args, nil)
			var steps []string
			for name := range cmds {
				if strings.HasSuffix(name, "-api-health") {
					steps = append(steps, name)
				}
			}
			var want []string
			for c := range tc.want {
				want = append(want, "c-"+c+"-api-health")
			}
			slices.Sort(steps)
			slices.Sort(want)
			if !slices.Equal(steps, want) {
				t.Fatalf("API address steps %v, want %v", steps, want)
			}
			public := map[string]string{}
			for _, h := range append(append([]Host{args.Controller}, args.Controllers...), args.Workers...) {
				public[h.Name] = map[string]string{"cp1": "192.0.2.1", "cp2": "192.0.2.2", "cp3": "192.0.2.3"}[h.Name]
			}
			for c, after := range tc.want {
				r := cmds["c-"+c+"-api-health"]
				if !slices.Contains(r.DependsOn, cmds[after].URN) {
					t.Errorf("%s does not wait for %s", r.Name, after)
				}
				if got := decodeConnection(t, r.Inputs["connection"]); got.Host != public[c] {
					t.Errorf("%s runs on %s, want %s's %s", r.Name, got.Host, c, public[c])
				}
				if !r.DeleteBeforeReplace {
					t.Errorf("%s is not replaced delete-first with its machine", r.Name)
				}
				body, _ := stdin(t, r)
				for _, w := range []string{
					"address=192.0.2.100/32\n", "interface=lo\n", "url=https://" + tc.private[c] + ":6443/readyz\n",
					"--max-time 15 --cacert '/etc/kubernetes/pki/ca.crt'", "period_us=$((1 * 1000000))",
					`[ "$run" -ge 3 ]`, `[ "$run" -ge 1 ]`,
					"ExecStart=/usr/local/sbin/metalk8s-api-address\n", "ExecStopPost=/usr/local/sbin/metalk8s-api-address withdraw\n",
					"systemctl enable --now metalk8s-api-address.service",
				} {
					if !strings.Contains(body, w) {
						t.Errorf("%s's script lacks %q", r.Name, w)
					}
				}
				del, _ := unwrap(r.Inputs["delete"])
				if !del.IsString() || !strings.Contains(del.StringValue(), "systemctl disable --now metalk8s-api-address.service") {
					t.Errorf("%s's delete %v does not stop the service", r.Name, del)
				}
			}
		})
	}
}

// TestAPIHealthDataChecked: every value written into the health check is checked first, every
// problem named at once.
func TestAPIHealthDataChecked(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*APIHealthData)
		want   []string
	}{
		{name: "defaults", change: func(*APIHealthData) {}},
		{name: "addresses", change: func(d *APIHealthData) { d.Address, d.Private = "192.0.2.100/32", "10.0.0.1; reboot" },
			want: []string{`API address: address "192.0.2.100/32"`, `private address: address "10.0.0.1; reboot"`}},
		{name: "port", change: func(d *APIHealthData) { d.Port = 0 }, want: []string{"API port 0 is not a TCP port"}},
		{name: "paths", change: func(d *APIHealthData) { d.CACert, d.Interface = "/etc/x'y", "lo; true" },
			want: []string{`CA certificate path "/etc/x'y"`, `interface "lo; true"`}},
		{name: "probe", change: func(d *APIHealthData) { d.PeriodSeconds, d.FailureThreshold = -1, -2 },
			want: []string{"probe period -1", "probe failure threshold -2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := testAPIHealth()
			tc.change(&d)
			_, err := RenderAPIAddress(d)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

// TestAPIAddressStep runs the controller's API address step on a scratch node: it installs the
// health check as rendered and its service, loads and enables it; run again it changes nothing
// and restarts nothing; with a changed health check it restarts the service.
func TestAPIAddressStep(t *testing.T) {
	n := newNode(t)
	step := func(d APIHealthData) script {
		body, err := RenderAPIAddress(d)
		if err != nil {
			t.Fatal(err)
		}
		return script{body: body}
	}
	d := testAPIHealth()
	r := n.run(t, step(d))
	mustSucceed(t, r)
	helper, err := RenderAPIHealth(d)
	if err != nil {
		t.Fatal(err)
	}
	wantFile(t, n, "usr/local/sbin/metalk8s-api-address", helper, 0o755)
	if _, ok := n.readState(t, "loaded/metalk8s-api-address.service"); !ok {
		t.Error("systemd has not loaded metalk8s-api-address.service")
	}
	wantState(t, n, "enabled/metalk8s-api-address.service", "")
	wantState(t, n, "running/metalk8s-api-address.service", "")
	wantOrder(t, r.calls, "systemctl daemon-reload", "systemctl enable --now metalk8s-api-address.service")

	again := n.run(t, step(d))
	mustSucceed(t, again)
	if c := changes(again.calls); len(c) > 0 {
		t.Errorf("a second run changed %v", c)
	}

	d.Port = 7443
	changed := n.run(t, step(d))
	mustSucceed(t, changed)
	wantOrder(t, changed.calls, "systemctl daemon-reload", "systemctl restart metalk8s-api-address.service")
}

// TestAPIHealthPassesShellcheck runs shellcheck on the health check and its step as rendered.
func TestAPIHealthPassesShellcheck(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("shellcheck is required in CI")
		}
		t.Skip("shellcheck not installed")
	}
	helper, err := RenderAPIHealth(testAPIHealth())
	if err != nil {
		t.Fatal(err)
	}
	step, err := RenderAPIAddress(testAPIHealth())
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"metalk8s-api-address": helper, "api-address": step} {
		path := filepath.Join(t.TempDir(), name+".sh")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := realkube.Run(exec.Command(shellcheck, "--shell=bash", "--severity=style", path), 60*time.Second); r.Err != nil {
			t.Errorf("%s: shellcheck:\n%s", name, r)
		}
	}
}

// TestRunScriptOnWorkers: a script run on the workers is one step per worker, after that worker's
// join, on that worker, tied to its machine; none runs on a controller.
func TestRunScriptOnWorkers(t *testing.T) {
	var n int
	cmds := recordedCommands(t, haArgs(), func(ctx *pulumi.Context, b *Bootstrap) error {
		steps, err := b.RunScriptOnWorkers(ctx, "x-api-name", pulumi.String("echo moved\n"))
		n = len(steps)
		return err
	})
	if n != 2 {
		t.Errorf("%d steps returned, want 2", n)
	}
	for name, host := range map[string]string{"w1": "192.0.2.11", "w2": "192.0.2.12"} {
		r, ok := cmds["x-api-name-"+name]
		if !ok {
			t.Fatalf("no step on %s", name)
		}
		if !slices.Contains(r.DependsOn, cmds["c-"+name+"-join"].URN) {
			t.Errorf("%s does not wait for %s's join", r.Name, name)
		}
		if got := decodeConnection(t, r.Inputs["connection"]); got.Host != host {
			t.Errorf("%s runs on %s, want %s", r.Name, got.Host, host)
		}
		if body, _ := stdin(t, r); body != "echo moved\n" || !r.DeleteBeforeReplace {
			t.Errorf("%s: standard input %q, delete-first %v", r.Name, body, r.DeleteBeforeReplace)
		}
	}
	for name := range cmds {
		if strings.HasPrefix(name, "x-api-name-cp") {
			t.Errorf("%s runs on a controller", name)
		}
	}
}

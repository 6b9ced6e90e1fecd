package bootstrap

// The stand-ins of the script tests must never accept what the tool they stand for refuses. For
// the tools whose real binaries run here, TestStandinsNoMoreLenientThanRealTools runs every script
// case with the stand-ins of kubeadm, kubectl and nft wrapped by a recorder, which keeps each
// call's arguments, its exit status and copies of the files and standard input it was given at
// the time of the call, then replays every call a stand-in accepted through the real tool:
// kubeadm through the loader of the same subcommand (realkube.LoaderCheck), kubectl against a
// real API server seeded with the stand-in's objects, nft with --check. Every script the harness
// runs goes through shellcheck too.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metalk8s/metalk8s/internal/realkube"
)

// recordedTools are the stand-ins whose calls are replayed through the real tool.
var recordedTools = []string{"kubeadm", "kubectl", "nft"}

// kubeadmLoaderCommands are the kubeadm subcommands the stand-in answers that load a --config
// file, as the scripts call them.
var kubeadmLoaderCommands = []string{
	"kubeadm config images pull --config FILE",
	"kubeadm config images list --config FILE",
	"kubeadm init --config FILE --skip-token-print",
	"kubeadm join --config FILE",
}

// recorder keeps the calls of the wrapped stand-ins of one node, each in a numbered directory of
// dir: args (NUL-separated), exit, stdin, and file.K for the file named by argument K.
type recorder struct{ dir string }

// recordedCall is one call a stand-in answered.
type recordedCall struct {
	tool string
	args []string
	exit int
	// files holds the content, at the time of the call, of the files the call named, by the path
	// it named them with.
	files map[string]string
	// stdin is what the call read on standard input (only for "-f -").
	stdin    string
	hasStdin bool
}

func (c recordedCall) String() string { return c.tool + " " + strings.Join(c.args, " ") }

// recordCalls wraps the node's stand-ins of tools: the stand-in moves to base/standins/NAME (it
// keeps its name, which it logs) and bin/NAME records the call and runs it.
func recordCalls(t *testing.T, n *node, tools ...string) *recorder {
	t.Helper()
	rec := &recorder{dir: filepath.Join(n.base, "recorded")}
	standins := filepath.Join(n.base, "standins")
	mkdir(t, rec.dir)
	mkdir(t, standins)
	paths := map[string]string{}
	for _, name := range []string{"bash", "cat", "cp", "mkdir"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	for _, tool := range tools {
		standin := filepath.Join(standins, tool)
		if err := os.Rename(filepath.Join(n.bin, tool), standin); err != nil {
			t.Fatal(err)
		}
		wrapper := fmt.Sprintf(`#!%[1]s
# Records this call for the replay test, then runs the stand-in.
rec=%[5]q
# The scripts call the tools one at a time: the call's start time orders the calls.
call="$rec/${EPOCHREALTIME/./}"
%[4]q "$call" || exit 1
printf '%%s\0' %[6]q "$@" >"$call/args"
args=("$@")
for ((k = 0; k < ${#args[@]}; k++)); do
  case ${args[k]} in
  --config | --old-config | -f | --filename)
    f=${args[k + 1]:-}
    if [ "$f" != - ] && [ -f "$f" ]; then %[3]q "$f" "$call/file.$((k + 1))"; fi
    ;;
  esac
done
if [[ " $* " == *" -f - "* ]]; then
  %[2]q >"$call/stdin"
  %[7]q "$@" <"$call/stdin"
else
  %[7]q "$@"
fi
code=$?
echo "$code" >"$call/exit"
exit "$code"
`, paths["bash"], paths["cat"], paths["cp"], paths["mkdir"], rec.dir, tool, standin)
		if err := os.WriteFile(filepath.Join(n.bin, tool), []byte(wrapper), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return rec
}

// calls returns the recorded calls in the order they were made.
func (r *recorder) calls(t *testing.T) []recordedCall {
	t.Helper()
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	var nums []int
	for _, e := range entries {
		if i, err := strconv.Atoi(e.Name()); err == nil {
			nums = append(nums, i)
		}
	}
	sort.Ints(nums)
	var out []recordedCall
	for _, i := range nums {
		d := filepath.Join(r.dir, strconv.Itoa(i))
		raw, _ := readFile(t, filepath.Join(d, "args"))
		argv := strings.Split(strings.TrimSuffix(raw, "\x00"), "\x00")
		exitText, ok := readFile(t, filepath.Join(d, "exit"))
		if !ok {
			t.Fatalf("call %v left no exit status", argv)
		}
		code, err := strconv.Atoi(strings.TrimSpace(exitText))
		if err != nil {
			t.Fatal(err)
		}
		c := recordedCall{tool: argv[0], args: argv[1:], exit: code, files: map[string]string{}}
		for k, a := range c.args {
			if content, ok := readFile(t, filepath.Join(d, "file."+strconv.Itoa(k))); ok {
				c.files[a] = content
			}
		}
		c.stdin, c.hasStdin = readFile(t, filepath.Join(d, "stdin"))
		out = append(out, c)
	}
	return out
}

// replayer replays recorded calls through the real tools.
type replayer struct {
	tools realkube.Tools
	nft   string
	// cp is the API server kubectl calls go to, started on first use.
	cp *realkube.ControlPlane
}

// controlPlane starts, once, a real control plane from the harness's own init configuration
// (kubeadm makes its CA: the harness's is a placeholder) at the harness controller's addresses.
func (rp *replayer) controlPlane(t *testing.T) *realkube.ControlPlane {
	if rp.cp == nil {
		f := realkube.Generate(t, rp.tools, initConfig(t), nil)
		rp.cp = realkube.Start(t, rp.tools, f, testPrivateIP, testPublicIP)
	}
	return rp.cp
}

// seed creates in the API server the objects the kubectl stand-in starts with: its Nodes and
// Secrets.
func (rp *replayer) seed(t *testing.T, sub *testing.T, n *node) {
	nodes, _ := filepath.Glob(filepath.Join(n.state, "nodes", "*"))
	secrets, _ := filepath.Glob(filepath.Join(n.state, "secrets", "*", "*"))
	if len(nodes)+len(secrets) == 0 {
		return
	}
	cp := rp.controlPlane(t)
	for _, p := range nodes {
		manifest := "apiVersion: v1\nkind: Node\nmetadata:\n  name: " + filepath.Base(p) + "\n"
		if r := cp.KubectlStdin(cp.Admin, manifest, "create", "-f", "-"); r.Err != nil {
			sub.Fatalf("seeding Node %s: %s", filepath.Base(p), r)
		}
	}
	for _, p := range secrets {
		b, err := os.ReadFile(p)
		if err != nil {
			sub.Fatal(err)
		}
		if r := cp.KubectlStdin(cp.Admin, string(b), "apply", "-f", "-"); r.Err != nil {
			sub.Fatalf("seeding Secret %s: %s", p, r)
		}
	}
}

// reset removes what a case left in the API server.
func (rp *replayer) reset(t *testing.T) {
	if rp.cp == nil {
		return
	}
	for _, args := range [][]string{
		{"delete", "nodes", "--all"},
		{"-n", "kube-system", "delete", "secrets", "--field-selector", "type=bootstrap.kubernetes.io/token"},
	} {
		if r := rp.cp.Kubectl(rp.cp.Admin, args...); r.Err != nil {
			t.Fatalf("%s", r)
		}
	}
}

// replay runs one call a stand-in accepted through the real tool and fails the test if the tool
// refuses it or warns about it.
func (rp *replayer) replay(t *testing.T, root *testing.T, c recordedCall) {
	t.Helper()
	var r realkube.Result
	switch c.tool {
	case "kubeadm":
		r = rp.tools.CheckInvocation(c.args, c.files, t.TempDir())
		for _, w := range realkube.Warnings(r.Stdout + "\n" + r.Stderr) {
			t.Errorf("kubeadm warns about a call the stand-in accepted, %s: %s", c, w)
		}
	case "kubectl":
		// Every call goes to the real API server as its admin; the stand-in's kubeconfigs are
		// placeholders.
		args := append([]string(nil), c.args...)
		for i := range args {
			if args[i] == "--kubeconfig" && i+1 < len(args) {
				args[i+1] = rp.controlPlane(root).Admin
			}
		}
		cmd := rp.controlPlane(root).Command("kubectl", args...)
		if c.hasStdin {
			cmd.Stdin = strings.NewReader(c.stdin)
		}
		r = realkube.Run(cmd, realkube.KubectlTimeout)
	case "nft":
		args := []string{"--check"}
		for _, a := range c.args {
			if content, ok := c.files[a]; ok {
				copyPath := filepath.Join(t.TempDir(), filepath.Base(a))
				if err := os.WriteFile(copyPath, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
				a = copyPath
			}
			args = append(args, a)
		}
		r = realkube.Run(exec.Command(rp.nft, args...), 30*time.Second)
	default:
		t.Fatalf("no replay for %s", c.tool)
	}
	if r.Err != nil {
		t.Errorf("the %s stand-in accepted %s, which the real %s refuses:\n%s", c.tool, c, c.tool, r)
	}
}

func TestStandinsNoMoreLenientThanRealTools(t *testing.T) {
	rp := &replayer{tools: realkube.Need(t)}
	nft, err := exec.LookPath("nft")
	if err != nil || os.Geteuid() != 0 {
		// nft --check talks netlink, which needs root.
		if os.Getenv("CI") == "true" {
			t.Fatalf("nft (as root) is required in CI: %v", err)
		}
		t.Skip("nft --check needs nft and root")
	}
	rp.nft = nft
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("shellcheck is required in CI: scripts/test.sh installs it")
		}
		t.Skip("shellcheck not installed")
	}
	began := time.Now()
	replayed := map[string]int{}
	for _, c := range scriptCases() {
		t.Run(c.name, func(st *testing.T) {
			n := newNode(st)
			rec := recordCalls(st, n, recordedTools...)
			if c.seed != nil {
				c.seed(st, n)
			}
			rp.seed(t, st, n)
			defer rp.reset(t)
			s := c.script(st)
			mustSucceed(st, n.run(st, s))
			mustSucceed(st, n.run(st, s))
			path := filepath.Join(st.TempDir(), "script.sh")
			if err := os.WriteFile(path, []byte(s.body), 0o644); err != nil {
				st.Fatal(err)
			}
			if r := realkube.Run(exec.Command(shellcheck, "--shell=bash", "--severity=style", path), 60*time.Second); r.Err != nil {
				st.Errorf("shellcheck refuses the script the harness ran:\n%s", r)
			}
			for _, call := range rec.calls(st) {
				if call.exit != 0 {
					// A refusal of the stand-in's is not a leniency.
					continue
				}
				rp.replay(st, t, call)
				replayed[call.tool]++
			}
		})
	}
	// The scripts hand each file to the subcommands they use today; the stand-in must load any
	// file for any of its subcommands no more leniently than kubeadm, so that a script handing a
	// file to another subcommand cannot pass here and fail on a node.
	for _, file := range []struct {
		name    string
		content func(*testing.T) string
	}{{"init", initConfig}, {"join", joinConfig}} {
		for _, command := range kubeadmLoaderCommands {
			sub, _, _ := strings.Cut(strings.TrimPrefix(command, "kubeadm "), " --config")
			t.Run("kubeadm-"+strings.ReplaceAll(sub, " ", "-")+"-"+file.name+"-file", func(st *testing.T) {
				n := newNode(st)
				rec := recordCalls(st, n, "kubeadm")
				path := filepath.Join(n.root, "etc/metalk8s/kubeadm-"+file.name+".yaml")
				n.write(st, "etc/metalk8s/kubeadm-"+file.name+".yaml", file.content(st), 0o600)
				n.run(st, script{name: "kubeadm-call", body: "#!/usr/bin/env bash\n" + strings.ReplaceAll(command, "FILE", path) + "\n"})
				for _, call := range rec.calls(st) {
					if call.exit == 0 {
						rp.replay(st, t, call)
						replayed[call.tool]++
					}
				}
			})
		}
	}
	t.Logf("replayed %v through the real tools in %v", replayed, time.Since(began).Round(time.Millisecond))
	for _, tool := range recordedTools {
		if replayed[tool] == 0 {
			t.Errorf("no %s call was replayed: the test proves nothing for it", tool)
		}
	}
}

package bootstrap

// The containerd pin is checked with the real apt: the preferences the preparation script writes
// are given to apt-get and apt-cache over a throw-away local repository of dummy containerd.io
// packages, with apt's whole configuration and state (sources, preferences, lists, cache, dpkg
// status) in a temporary directory. Nothing of the machine's apt or dpkg is read or written.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// aptRepositories are containerd.io version sets a repository may hold. Docker's repository for
// Ubuntu 24.04 names containerd.io 2.x VERSION-REVISION~ubuntu.RELEASE~CODENAME, and the revision
// varies (its Packages index listed 2.2.1-1~ubuntu.24.04~noble, docker/for-linux#1557 and
// docker/containerd-packaging#430; 2.2.0-2~ubuntu.24.04~noble was in its pool, Dokploy/dokploy#3376).
// Older containerd.io packages were plain VERSION-1 (1.3.2-1, docker/containerd-packaging#124),
// as the packaging's debian/changelog still writes them: the pin must hold for both. 2.20.0-1
// would match a pin without the dot after the minor.
var aptRepositories = map[string][]string{
	"docker-noble": {
		"2.1.5-1~ubuntu.24.04~noble", "2.2.0-2~ubuntu.24.04~noble", "2.2.1-1~ubuntu.24.04~noble",
		"2.2.2-1~ubuntu.24.04~noble", "2.3.0-1~ubuntu.24.04~noble",
	},
	"plain": {"2.1.5-1", "2.2.1-1", "2.2.2-1", "2.3.0-1", "2.20.0-1"},
}

// writtenPreferences runs the worker's preparation script on a fresh node of the script harness
// and returns the apt preferences files it wrote, by name.
func writtenPreferences(t *testing.T) map[string]string {
	t.Helper()
	n := newNode(t)
	mustSucceed(t, n.run(t, prepareScript(t, false)))
	dir := filepath.Join(n.root, "etc/apt/preferences.d")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	prefs := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		prefs[e.Name()] = string(b)
	}
	if len(prefs) == 0 {
		t.Fatal("the preparation script wrote no apt preferences")
	}
	return prefs
}

// buildRepository makes a flat apt repository in dir: one dummy containerd.io package per version
// (dpkg-deb --build) and the Packages index listing them (their control fields, file, size and
// SHA-256, as dpkg-scanpackages writes them).
func buildRepository(t *testing.T, dir string, versions []string) {
	t.Helper()
	var index strings.Builder
	for _, v := range versions {
		src := filepath.Join(t.TempDir(), "pkg")
		control := fmt.Sprintf("Package: containerd.io\nVersion: %s\nArchitecture: all\nMaintainer: metalk8s tests <tests@example.invalid>\nDescription: dummy containerd.io for apt pin tests\n", v)
		if err := os.MkdirAll(filepath.Join(src, "DEBIAN"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, "DEBIAN/control"), []byte(control), 0o644); err != nil {
			t.Fatal(err)
		}
		name := "containerd.io_" + strings.ReplaceAll(v, ":", "%3a") + "_all.deb"
		deb := filepath.Join(dir, name)
		if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", src, deb).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
		}
		fields, err := exec.Command("dpkg-deb", "--field", deb).Output()
		if err != nil {
			t.Fatalf("dpkg-deb --field: %v", err)
		}
		b, err := os.ReadFile(deb)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(&index, "%sFilename: ./%s\nSize: %d\nSHA256: %s\n\n", fields, name, len(b), hex.EncodeToString(sum[:]))
	}
	if err := os.WriteFile(filepath.Join(dir, "Packages"), []byte(index.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// aptRoot is an apt configuration and state of its own: APT_CONFIG points apt at it (apt reads
// that file first and takes Dir::Etc::Parts and Dir::Etc::main below the Dir it sets,
// apt-pkg/init.cc), so the machine's /etc/apt and /var/lib/dpkg are not used.
type aptRoot struct {
	dir, config string
}

// newAptRoot makes an apt root whose one source is repo, with the given preferences files and a
// dpkg status holding installed (held, as the preparation script leaves it), or nothing.
func newAptRoot(t *testing.T, repo string, prefs map[string]string, installed string) aptRoot {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"etc/apt/preferences.d", "etc/apt/sources.list.d", "etc/apt/apt.conf.d", "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(rel, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/apt/sources.list", "deb [trusted=yes] file:"+repo+" ./\n")
	for name, content := range prefs {
		write("etc/apt/preferences.d/"+name, content)
	}
	status := ""
	if installed != "" {
		status = "Package: containerd.io\nStatus: hold ok installed\nVersion: " + installed +
			"\nArchitecture: all\nMaintainer: metalk8s tests <tests@example.invalid>\nDescription: dummy\n\n"
	}
	write("var/lib/dpkg/status", status)
	config := filepath.Join(dir, "apt.conf")
	conf := fmt.Sprintf("Dir %q;\nDir::State::status %q;\nAPT::Sandbox::User \"root\";\n", dir+"/", filepath.Join(dir, "var/lib/dpkg/status"))
	if err := os.WriteFile(config, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return aptRoot{dir: dir, config: config}
}

// run runs an apt command on the root, bounded in time, and returns its output and exit code.
func (a aptRoot) run(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "APT_CONFIG=" + a.config, "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: timed out", name, strings.Join(args, " "))
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", name, err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// candidateLine is apt-cache policy's candidate.
var candidateLine = regexp.MustCompile(`(?m)^\s*Candidate: (\S+)$`)

// candidateOf returns the candidate apt-cache policy output names, or "" when there is none.
func candidateOf(t *testing.T, policy string) string {
	t.Helper()
	m := candidateLine.FindStringSubmatch(policy)
	if m == nil {
		t.Fatalf("no candidate in apt-cache policy output:\n%s", policy)
	}
	return m[1]
}

// TestContainerdPinWithRealApt gives the real apt the preferences the preparation script writes,
// over repositories shaped like Docker's (suffixed versions) and like plain VERSION-1 ones, with
// containerd.io not installed, installed at an older minor, at a newer minor and at the newest 2.2:
// apt's candidate must be the newest 2.2 every time (never 2.1, 2.3 or 2.20), an installed 2.3 is
// downgraded with the script's install flags and refused without --allow-downgrades, and the
// stand-ins of the script harness choose and refuse the same.
func TestContainerdPinWithRealApt(t *testing.T) {
	needTool(t, "apt-get")
	needTool(t, "apt-cache")
	needTool(t, "dpkg-deb")
	prefs := writtenPreferences(t)
	for repoName, versions := range aptRepositories {
		repo := t.TempDir()
		buildRepository(t, repo, versions)
		newest22 := ""
		for _, v := range versions {
			if strings.HasPrefix(v, ContainerdMinor+".") {
				newest22 = v // versions are listed oldest first
			}
		}
		newest := versions[len(versions)-1]
		for _, installed := range []string{"", versions[0], newest, newest22} {
			t.Run(repoName+"/installed="+installed, func(t *testing.T) {
				a := newAptRoot(t, repo, prefs, installed)
				if out, code := a.run(t, "apt-get", "update", "-q"); code != 0 {
					t.Fatalf("apt-get update: exit %d\n%s", code, out)
				}
				policy, code := a.run(t, "apt-cache", "policy", "containerd.io")
				if code != 0 {
					t.Fatalf("apt-cache policy: exit %d\n%s", code, policy)
				}
				got := candidateOf(t, policy)
				if got != newest22 {
					t.Errorf("apt's candidate is %s, want the newest %s.x, %s:\n%s", got, ContainerdMinor, newest22, policy)
				}

				// The script's own installation, simulated.
				install := append(strings.Fields(aptInstall)[1:], "--simulate", "containerd.io="+got)
				out, code := a.run(t, "apt-get", install...)
				if code != 0 {
					t.Errorf("apt-get %s: exit %d\n%s", strings.Join(install, " "), code, out)
				}
				if installed != got && !strings.Contains(out, "Inst containerd.io ") {
					t.Errorf("apt-get does not install containerd.io %s:\n%s", got, out)
				}
				// Without a version, what an upgrade or a bare install takes.
				bare, _ := a.run(t, "apt-get", "install", "--simulate", "-y", "--allow-downgrades", "--allow-change-held-packages", "containerd.io")
				if installed != newest22 && !strings.Contains(bare, "Inst containerd.io ") {
					t.Errorf("apt-get install containerd.io installs nothing:\n%s", bare)
				}
				if m := regexp.MustCompile(`Inst containerd\.io (?:\[\S+\] )?\((\S+)`).FindStringSubmatch(bare); m != nil && m[1] != newest22 {
					t.Errorf("apt-get install containerd.io installs %s, want %s:\n%s", m[1], newest22, bare)
				}

				// An installed newer minor is a downgrade: refused without --allow-downgrades.
				plain, plainCode := a.run(t, "apt-get", "install", "--simulate", "-y", "-q", "--allow-change-held-packages", "containerd.io="+got)
				if installed == newest {
					if plainCode == 0 || !strings.Contains(plain, "--allow-downgrades") {
						t.Errorf("apt-get accepted a downgrade without --allow-downgrades: exit %d\n%s", plainCode, plain)
					}
				}

				// The stand-ins on the same versions: the same candidate, the same refusals.
				n := newNode(t)
				n.setState(t, "apt-lists", "deb [signed-by=/etc/apt/keyrings/docker.gpg] https://download.docker.com/linux/ubuntu noble stable\n")
				n.setState(t, "repo/containerd.io", strings.Join(versions, "\n")+"\n")
				if installed != "" {
					n.setState(t, "dpkg/containerd.io", installed)
					n.setState(t, "hold/containerd.io", "")
				}
				for name, content := range prefs {
					n.write(t, "etc/apt/preferences.d/"+name, content, 0o644)
				}
				r := n.runStandin(t, "apt-cache policy containerd.io")
				if r.code != 0 {
					t.Fatalf("apt-cache stand-in: exit %d\n%s", r.code, r.stderr)
				}
				if s := candidateOf(t, r.stdout); s != got {
					t.Errorf("the apt-cache stand-in's candidate is %s, apt's %s", s, got)
				}
				r = n.runStandin(t, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-change-held-packages containerd.io="+got)
				if (r.code == 0) != (plainCode == 0) {
					t.Errorf("without --allow-downgrades, the apt-get stand-in exits %d, apt %d:\n%s\n%s", r.code, plainCode, r.stderr, plain)
				}
			})
		}
	}
}

package realkube

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// KubeadmTimeout bounds one kubeadm run that does not wait for a cluster.
const KubeadmTimeout = 60 * time.Second

var (
	phasesMu sync.Mutex
	phases   = map[string][]string{}
)

// Phases returns the top-level phases of kubeadm's init, join or reset workflow, read from the
// command's own help ("The "init" command executes the following phases:").
func (tl Tools) Phases(command string) ([]string, error) {
	phasesMu.Lock()
	defer phasesMu.Unlock()
	if p, ok := phases[command]; ok {
		return p, nil
	}
	r := Run(tl.Command("kubeadm", command, "--help"), KubeadmTimeout)
	if r.Err != nil {
		return nil, fmt.Errorf("%s", r)
	}
	var list []string
	in, fences := false, 0
	for _, line := range strings.Split(r.Stdout, "\n") {
		switch {
		case strings.Contains(line, "following phases:"):
			in = true
		case in && strings.HasPrefix(line, "```"):
			fences++
		case in && fences == 1 && line != "" && line[0] >= 'a' && line[0] <= 'z':
			list = append(list, strings.Fields(line)[0])
		}
		if fences == 2 {
			break
		}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no phases in kubeadm %s --help:\n%s", command, r.Stdout)
	}
	phases[command] = list
	return list, nil
}

// LoaderCheck returns the command that loads the configuration of the kubeadm invocation args
// (the arguments after "kubeadm") exactly as that subcommand does, but changes nothing on the
// machine and needs neither a container runtime nor a cluster. scratch receives kubeadm's
// dry-run output. Facts it relies on, read in k8s.io/kubernetes v1.37.2 cmd/kubeadm/app/cmd:
//
//   - config images pull and config images list both load --config with
//     configutil.LoadOrDefaultInitConfiguration (config.go); list passes SkipCRIDetect, which only
//     matters when nodeRegistration.criSocket is empty, and pulls nothing;
//   - init and join build their workflow data (newInitData in init.go, newJoinData in join.go:
//     the --config/flag mixing check, LoadOrDefaultInitConfiguration or
//     LoadOrDefaultJoinConfiguration, and the checks that follow) before any phase runs, and
//     join's discovery runs only inside its phases; so the same command line with every phase
//     skipped (--skip-phases, which --config accepts) and --dry-run loads and validates the file
//     and does nothing else. The phases are read from the command's help;
//   - reset loads no file; its flags are checked the same way;
//   - config validate and config migrate only read their file, and config images list pulls
//     nothing: they are their own check;
//   - upgrade plan, upgrade apply and upgrade node as the scripts call them name no file: they
//     read the cluster's own configuration (the kubeadm-config ConfigMap, or kubelet.conf on a
//     worker) and need a running cluster. The check is the same command line with --help: cobra
//     parses every flag before it looks at --help, so an unknown or misspelt flag fails
//     (exit 1, checked with kubeadm 1.37.2) and nothing runs. The controller's plan and apply
//     also run for real, on a running control plane (Controller.Kubeadm and
//     tests/upgrade_realkube_test.go); a worker's upgrade node only here.
//   - certs check-expiration only reads (the PKI and kubeconfigs it does not find are reported
//     missing), and certs renew all loads --config with the same getInternalCfg
//     (LoadOrDefaultInitConfiguration, cmd/certs.go): check-expiration with the same --config is
//     its check.
//
// Any other subcommand is an error: add its loader here first.
func (tl Tools) LoaderCheck(args []string, scratch string) (*exec.Cmd, error) {
	sub := strings.Join(args[:min(len(args), 3)], " ")
	var check []string
	var env string
	switch {
	case strings.HasPrefix(sub, "config images pull"):
		check = append([]string{"config", "images", "list"}, args[3:]...)
	case strings.HasPrefix(sub, "config validate"), strings.HasPrefix(sub, "config migrate"), strings.HasPrefix(sub, "config images list"),
		strings.HasPrefix(sub, "certs check-expiration"):
		check = args
	case strings.HasPrefix(sub, "upgrade plan"), strings.HasPrefix(sub, "upgrade apply"), strings.HasPrefix(sub, "upgrade node"):
		check = append(append([]string{}, args...), "--help")
	case strings.HasPrefix(sub, "certs renew all"):
		check = append([]string{"certs", "check-expiration"}, args[3:]...)
	case len(args) > 0 && (args[0] == "init" || args[0] == "join" || args[0] == "reset"):
		for _, a := range args {
			if strings.HasPrefix(a, "--skip-phases") || strings.HasPrefix(a, "--dry-run") {
				return nil, fmt.Errorf("kubeadm %s: already has %s; merge it into the check", strings.Join(args, " "), a)
			}
		}
		p, err := tl.Phases(args[0])
		if err != nil {
			return nil, err
		}
		check = append(append([]string{}, args...), "--skip-phases="+strings.Join(p, ","), "--dry-run")
		env = map[string]string{"init": "KUBEADM_INIT_DRYRUN_DIR", "join": "KUBEADM_JOIN_DRYRUN_DIR", "reset": "KUBEADM_RESET_DRYRUN_DIR"}[args[0]]
	default:
		return nil, fmt.Errorf("no loader check for kubeadm %s: find the loader of that subcommand in kubeadm's source and add it to LoaderCheck", strings.Join(args, " "))
	}
	cmd := tl.Command("kubeadm", check...)
	cmd.Env = append(os.Environ(), env+"="+scratch)
	cmd.Dir = scratch
	return cmd, nil
}

// CheckInvocation runs LoaderCheck for a kubeadm command line taken from a script: every argument
// that names a file of files (by the path the script uses) is replaced by a copy of that file's
// content. It returns the check's result; Err is set when kubeadm refused.
func (tl Tools) CheckInvocation(args []string, files map[string]string, scratch string) Result {
	args = append([]string(nil), args...)
	for i, a := range args {
		flag, path, hasFlag := strings.Cut(a, "=")
		if !hasFlag {
			path = a
		}
		content, ok := files[path]
		if !ok {
			continue
		}
		copyPath := filepath.Join(scratch, fmt.Sprintf("file-%d-%s", i, filepath.Base(path)))
		if err := os.WriteFile(copyPath, []byte(content), 0o600); err != nil {
			return Result{Args: args, Err: err}
		}
		if hasFlag {
			args[i] = flag + "=" + copyPath
		} else {
			args[i] = copyPath
		}
	}
	cmd, err := tl.LoaderCheck(args, scratch)
	if err != nil {
		return Result{Args: append([]string{"kubeadm"}, args...), Err: err}
	}
	return Run(cmd, KubeadmTimeout)
}

// Command plan prints every resource `pulumi up` would create for a stack file, offline: it runs
// the metalk8s program under the Pulumi mock engine with a fake cloud, without credentials or
// network. Values only the cloud can know are shown as (computed); --simulate fills them with
// fake addresses from the documentation ranges so every derived value renders.
//
//	go run ./cmd/plan --stack dev [--simulate [--site ibx|legacy] [--show-secrets]] [--json]
//
// An invalid configuration exits with status 1 and the list of problems. The program's warnings
// about a valid configuration (the bird-local-peer mode) are printed with the plan.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/metalk8s/metalk8s/config"
	"github.com/metalk8s/metalk8s/internal/mockcloud"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	var site string
	fs.StringVar(&o.Dir, "dir", ".", "the project directory (holding Pulumi.yaml and the stack files)")
	fs.StringVar(&o.Stack, "stack", "dev", "the stack whose Pulumi.<stack>.yaml to plan")
	fs.BoolVar(&o.Simulate, "simulate", false, "fill values only the cloud knows with fake ones, so derived values render")
	fs.StringVar(&site, "site", string(mockcloud.SiteIBX), "with --simulate: the kind of Metal site, ibx (peers 169.254.255.1/.2) or legacy (peer = private gateway)")
	fs.BoolVar(&o.ShowSecrets, "show-secrets", false, "with --simulate: show secret values (all simulated or placeholders), such as the kubeadm configuration inside the remote steps")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.ShowSecrets && !o.Simulate {
		fmt.Fprintln(stderr, "plan: --show-secrets needs --simulate")
		return 2
	}
	switch mockcloud.Site(site) {
	case mockcloud.SiteIBX, mockcloud.SiteLegacy:
		o.Site = mockcloud.Site(site)
	default:
		fmt.Fprintf(stderr, "plan: --site must be ibx or legacy, not %q\n", site)
		return 2
	}
	p, err := Make(o)
	if err != nil {
		var cfgErr config.Errors
		if errors.As(err, &cfgErr) {
			fmt.Fprintln(stderr, cfgErr.Error())
			return 1
		}
		fmt.Fprintf(stderr, "plan: %v\n", err)
		return 1
	}
	if *asJSON {
		// The JSON holds them too; a person running the command sees them here.
		for _, w := range p.Warnings {
			fmt.Fprintf(stderr, "plan: warning: %s\n", w)
		}
		err = p.WriteJSON(stdout)
	} else {
		err = p.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "plan: %v\n", err)
		return 1
	}
	return 0
}

// Package manifests holds the files metalk8s renders or ships: node scripts, host firewall rules,
// configuration files. They are embedded into the program, so it never reads files relative to
// its working directory and works the same when imported as a library.
package manifests

import "embed"

// Bootstrap holds the node preparation and kubeadm scripts (text/template, *.tmpl) and the files
// they install.
//
//go:embed bootstrap
var Bootstrap embed.FS

// Calico holds the scripts the Calico component runs on the controller (text/template; they
// include the "lib" template of Bootstrap).
//
//go:embed calico
var Calico embed.FS

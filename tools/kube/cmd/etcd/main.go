// Command etcd is etcd's server, built at the release kubeadm 1.37.2 deploys.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }

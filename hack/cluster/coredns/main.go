// CoreDNS with only the plugins the local cluster and kubeadm's Corefile (kind) use: the full build compiles every plugin
// (clouds, etcd, ...) and takes many minutes; this one needs the kubernetes plugin's client-go only.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// plugins compiled in; Directives keeps CoreDNS's own order, which decides the chain.
var plugins = map[string]bool{
	"cache": true, "errors": true, "forward": true, "health": true, "hosts": true,
	"kubernetes": true, "loadbalance": true, "log": true, "loop": true, "ready": true, "reload": true,
	// kubeadm's Corefile (a kind cluster's) asks for prometheus
	"prometheus": true,
}

func init() {
	kept := dnsserver.Directives[:0:0]
	for _, name := range dnsserver.Directives {
		if plugins[name] {
			kept = append(kept, name)
		}
	}
	dnsserver.Directives = kept
}

func main() {
	coremain.Run()
}

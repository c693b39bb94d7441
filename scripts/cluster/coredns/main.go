// CoreDNS with only the plugins a one-node test cluster's DNS needs (the kubernetes plugin for
// <service>.<namespace>.svc.cluster.local, health and ready for the probes, cache, errors, log,
// loadbalance, reload), built from the published github.com/coredns/coredns module the way CoreDNS
// documents for external builds: the directive list is set before coremain.Run.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// The order of CoreDNS's own plugin.cfg, restricted to the plugins above.
var directives = []string{"reload", "ready", "health", "errors", "log", "loadbalance", "cache", "kubernetes"}

func init() { dnsserver.Directives = directives }

func main() { coremain.Run() }

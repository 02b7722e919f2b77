// kindnet: the pod network of our kind node image, in place of kind's kindnetd (whose module
// sigs.k8s.io/kind/images/kindnetd the Go module proxy does not serve). It runs under kind's own
// default CNI manifest (DaemonSet kube-system/kindnet: hostNetwork, NET_ADMIN, env HOST_IP and
// POD_SUBNET, /etc/cni/net.d mounted) and does what kindnetd does for a cluster on one docker
// network:
//   - this node: a CNI config of ptp + host-local over the node's spec.podCIDR, + portmap;
//   - every other node: a route to its podCIDR via its InternalIP (all nodes share one L2);
//   - pod traffic to anything outside the pod subnet is masqueraded to the node's address.
//
// Not done (kindnetd does): NetworkPolicy enforcement, IPv6 and dual stack, NRI.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	cniConfigPath = "/etc/cni/net.d/10-kindnet.conflist"
	resync        = 10 * time.Second
)

type agent struct {
	client    kubernetes.Interface
	hostIP    string
	podSubnet string
	cniConfig string            // last written, to write only on change
	routes    map[string]string // podCIDR -> next hop, as last installed
}

func main() {
	hostIP, podSubnet := os.Getenv("HOST_IP"), os.Getenv("POD_SUBNET")
	if net.ParseIP(hostIP) == nil {
		log.Fatalf("HOST_IP %q is not an IP address", hostIP)
	}
	if _, _, err := net.ParseCIDR(podSubnet); err != nil {
		log.Fatalf("POD_SUBNET %q: %v", podSubnet, err)
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		log.Fatalf("in-cluster config: %v", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		log.Fatalf("client: %v", err)
	}
	a := &agent{client: client, hostIP: hostIP, podSubnet: podSubnet, routes: map[string]string{}}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := a.masquerade(); err != nil {
		log.Fatalf("masquerade rule: %v", err)
	}
	log.Printf("kindnet: node %s, pod subnet %s", hostIP, podSubnet)
	for {
		if err := a.sync(ctx); err != nil {
			log.Printf("sync: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(resync):
		}
	}
}

// sync reads every node once: this node's podCIDR makes the CNI config, the others' routes.
func (a *agent) sync(ctx context.Context) error {
	nodes, err := a.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	for i := range nodes.Items {
		node := &nodes.Items[i]
		ip := internalIPv4(node)
		if ip == "" || len(node.Spec.PodCIDRs) == 0 {
			continue // not yet registered or not yet given a podCIDR: next pass
		}
		cidr := node.Spec.PodCIDRs[0]
		if ip == a.hostIP {
			if err := a.writeCNIConfig(cidr); err != nil {
				return err
			}
			continue
		}
		if a.routes[cidr] == ip {
			continue
		}
		if out, err := exec.Command("ip", "route", "replace", cidr, "via", ip).CombinedOutput(); err != nil {
			return fmt.Errorf("route %s via %s (node %s): %v: %s", cidr, ip, node.Name, err, out)
		}
		a.routes[cidr] = ip
		log.Printf("route %s via %s (node %s)", cidr, ip, node.Name)
	}
	return nil
}

func internalIPv4(node *corev1.Node) string {
	for _, addr := range node.Status.Addresses {
		if addr.Type == corev1.NodeInternalIP && net.ParseIP(addr.Address).To4() != nil {
			return addr.Address
		}
	}
	return ""
}

// writeCNIConfig writes the node's CNI config when it changed (atomically: the runtime may read
// the directory at any moment).
func (a *agent) writeCNIConfig(podCIDR string) error {
	mtu := 1500
	if raw, err := os.ReadFile("/sys/class/net/eth0/mtu"); err == nil {
		_, _ = fmt.Sscanf(strings.TrimSpace(string(raw)), "%d", &mtu)
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "kindnet",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": false,
				"mtu":    mtu,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni-ipam-state",
					"routes":  []any{map[string]any{"dst": "0.0.0.0/0"}},
					"ranges":  []any{[]any{map[string]any{"subnet": podCIDR}}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]any{"portMappings": true}},
		},
	}
	raw, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	if string(raw) == a.cniConfig {
		return nil
	}
	tmp := filepath.Join(filepath.Dir(cniConfigPath), ".10-kindnet.conflist.tmp")
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return fmt.Errorf("write CNI config: %w", err)
	}
	if err := os.Rename(tmp, cniConfigPath); err != nil {
		return fmt.Errorf("write CNI config: %w", err)
	}
	a.cniConfig = string(raw)
	log.Printf("wrote %s for podCIDR %s (mtu %d)", cniConfigPath, podCIDR, mtu)
	return nil
}

// masquerade makes pod traffic that leaves the pod subnet look like the node's, once: the docker
// network knows the nodes' addresses, not the pods'.
func (a *agent) masquerade() error {
	rule := []string{"POSTROUTING", "-s", a.podSubnet, "!", "-d", a.podSubnet,
		"-m", "addrtype", "!", "--dst-type", "LOCAL", "-m", "comment", "--comment", "kindnet masquerade",
		"-j", "MASQUERADE"}
	iptables := func(op string) *exec.Cmd {
		return exec.Command("iptables", append([]string{"-w", "5", "-t", "nat", op}, rule...)...)
	}
	if iptables("-C").Run() == nil {
		return nil
	}
	if out, err := iptables("-A").CombinedOutput(); err != nil {
		return fmt.Errorf("iptables -t nat -A %s: %v: %s", strings.Join(rule, " "), err, out)
	}
	return nil
}

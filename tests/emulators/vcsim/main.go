// The vSphere simulator of the lab: govmomi's simulator (SOAP API at /sdk) plus its vAPI simulator (the tagging REST
// API at /rest; this govmomi has no /api tagging), served on loopback with an optional TLS certificate, behind a
// front (front.go, faults.go) that serves a fault API for SOAP calls under /__vcsim__/ (see README.md).
// Built offline from Debian's golang-github-vmware-govmomi-dev (see the Makefile's vcsim target).
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // registers the vAPI (tagging) endpoints
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0 picks a free port)")
	certFile := flag.String("tls-cert", "", "PEM certificate to serve HTTPS with (plain HTTP when empty)")
	keyFile := flag.String("tls-key", "", "PEM private key of -tls-cert")
	datacenters := flag.Int("datacenters", 1, "number of datacenters")
	clusters := flag.Int("clusters", 1, "clusters per datacenter")
	clusterHosts := flag.Int("cluster-hosts", 3, "hosts per cluster")
	hosts := flag.Int("hosts", 1, "standalone hosts per datacenter")
	vms := flag.Int("vms", 2, "VMs per standalone host and per cluster resource pool")
	portgroups := flag.Int("portgroups", 1, "distributed portgroups per datacenter")
	flag.Parse()

	if (*certFile == "") != (*keyFile == "") {
		log.Fatal("-tls-cert and -tls-key go together")
	}

	model := simulator.VPX()
	model.Datacenter = *datacenters
	model.Cluster = *clusters
	model.ClusterHost = *clusterHosts
	model.Host = *hosts
	model.Machine = *vms
	model.Portgroup = *portgroups
	model.Autostart = true // the model's VMs start powered on, as production VMs are
	if err := model.Create(); err != nil {
		log.Fatalf("creating the model: %v", err)
	}
	defer model.Remove()
	useVCenterLabels()

	scheme := "http"
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			log.Fatalf("loading the TLS key pair: %v", err)
		}
		model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		scheme = "https"
	}
	model.Service.Listen = &url.URL{Scheme: scheme, Host: *listen}
	model.Service.RegisterEndpoints = true // serve the vAPI endpoints imported above (tagging at /rest)

	server := model.Service.NewServer()
	defer server.Close()
	// The front wraps the simulator's handler on the simulator's own listener, so that the URLs the simulator hands
	// out (session tickets, OptionManager settings) and its TLS set-up stay as they are. NewServer has started
	// serving already, but nobody knows the port before the line below prints it.
	server.Config.Handler = newFront(server.Config.Handler)
	public := *server.URL
	public.User = nil // the simulator accepts any credentials; do not print its defaults
	fmt.Printf("VCSIM_URL=%s\n", public.String())
	os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}

// useVCenterLabels names the model's devices as vCenter does ("Hard disk 1", "Network adapter 1") instead of the
// simulator's "disk-202-0", so that playbooks written for a real vCenter work unchanged against the lab.
func useVCenterLabels() {
	for _, entity := range simulator.Map.All("VirtualMachine") {
		vm := entity.(*simulator.VirtualMachine)
		disks, nics := 0, 0
		for _, device := range vm.Config.Hardware.Device {
			info := device.GetVirtualDevice().DeviceInfo
			if info == nil {
				continue
			}
			switch device.(type) {
			case *types.VirtualDisk:
				disks++
				info.GetDescription().Label = fmt.Sprintf("Hard disk %d", disks)
			case types.BaseVirtualEthernetCard:
				nics++
				info.GetDescription().Label = fmt.Sprintf("Network adapter %d", nics)
			}
		}
	}
}

// Package metal is a small typed binding to the Equinix Metal resources of the official equinix
// Pulumi provider, for the resources metalk8s uses.
//
// The official Go SDK (github.com/equinix/pulumi-equinix/sdk, package go/equinix/metal) is not
// available from the module proxy this project builds with. These bindings register the same
// tokens with the same property names, pinned to one plugin version, so the real provider plugin
// executes them unchanged. Constructor and type names follow the official SDK (NewDevice,
// DeviceArgs, ...), so moving to it later is a change of import path.
package metal

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Provider plugin pinned by every resource and invoke of this package.
const (
	// PluginVersion is the equinix provider plugin version. Its Terraform base still manages Metal.
	PluginVersion = "0.29.1"
	// PluginDownloadURL is where the Pulumi engine fetches that plugin.
	PluginDownloadURL = "github://api.github.com/equinix"
)

// MetadataIPv4 is the address of Equinix Metal's metadata service (metadata.platformequinix.com),
// which serves a device's user data and details to anyone on the device.
const MetadataIPv4 = "192.80.8.124"

// Tokens of the official provider.
const (
	ProjectToken               = "equinix:metal/project:Project"
	ProjectSshKeyToken         = "equinix:metal/projectSshKey:ProjectSshKey"
	DeviceToken                = "equinix:metal/device:Device"
	BgpSessionToken            = "equinix:metal/bgpSession:BgpSession"
	ReservedIpBlockToken       = "equinix:metal/reservedIpBlock:ReservedIpBlock"
	GetDeviceBgpNeighborsToken = "equinix:metal/getDeviceBgpNeighbors:getDeviceBgpNeighbors"
)

// pluginOptions pins the plugin; the caller's options come last so they can override it.
func pluginOptions(opts []pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{
		pulumi.Version(PluginVersion),
		pulumi.PluginDownloadURL(PluginDownloadURL),
	}, opts...)
}

// inputs builds a property map from named inputs, leaving out those the caller did not set.
// A nil interface of any Input type converts to a nil pulumi.Input, so unset fields drop out.
func inputs(kv ...any) pulumi.Map {
	m := pulumi.Map{}
	for i := 0; i+1 < len(kv); i += 2 {
		if v, ok := kv[i+1].(pulumi.Input); ok && v != nil {
			m[kv[i].(string)] = v
		}
	}
	return m
}

// checkRequired returns an error naming every required input left unset.
func checkRequired(token string, m pulumi.Map, names ...string) error {
	var missing []string
	for _, n := range names {
		if _, ok := m[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: missing required arguments: %s", token, strings.Join(missing, ", "))
	}
	return nil
}

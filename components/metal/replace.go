package metal

import "slices"

// ReplacingInputs are, per token, the inputs whose change makes the provider replace the
// resource (delete it and create a new one) instead of updating it. They are the provider's, read
// in its schema (ForceNew, RequiresReplace and the device's CustomizeDiff); the plan shows them
// on each resource.
var ReplacingInputs = map[string][]string{
	// operatingSystem, userData and customData replace the device unless reinstall is enabled
	// (userData and customData also unless behavior.allowChanges lists them); this project
	// enables neither.
	DeviceToken: {"billingCycle", "customData", "facilities", "hardwareReservationId", "metro", "operatingSystem",
		"plan", "projectId", "projectSshKeyIds", "storage", "userData", "userSshKeyIds"},
	ProjectToken:         {"organizationId"},
	ProjectSshKeyToken:   {"projectId", "publicKey"},
	BgpSessionToken:      {"addressFamily", "defaultRoute", "deviceId"},
	ReservedIpBlockToken: {"cidr", "facility", "metro", "network", "projectId", "quantity", "type", "vrfId"},
}

// RefusedChanges are, per token, the inputs the provider refuses to change at all ("Change not
// allowed ... Resource recreation would be required"): the project's BGP ASN. (It also refuses
// to remove a project's bgpConfig, which this project never does.)
var RefusedChanges = map[string][]string{
	ProjectToken: {"bgpConfig.asn"},
}

// Replaces reports whether a change of input replaces a resource of the token.
func Replaces(token, input string) bool {
	return slices.Contains(ReplacingInputs[token], input)
}

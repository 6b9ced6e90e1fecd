package metal

import (
	"reflect"
	"testing"
)

// TestReplacingInputs pins the provider's replacement rules, as read in terraform-provider-equinix
// v4.13.0 (the base of the pinned plugin 0.29.1):
//   - internal/resources/metal/device/resource.go: ForceNew on project_id, metro, facilities,
//     plan, billing_cycle, hardware_reservation_id, storage, project_ssh_key_ids and
//     user_ssh_key_ids; CustomizeDiff ForceNewIf on operating_system (reinstall disabled) and
//     user_data, custom_data (reinstall disabled and not in behavior.allow_changes). ip_address is
//     neither ForceNew nor read back: it only shapes a new device. Tags, hostname, description,
//     locked, ipxe_script_url and always_pxe update in place.
//   - internal/resources/metal/project/resource_schema.go: organization_id RequiresReplace;
//     name updates in place; bgp_config ImmutableList (cannot be removed) and its asn
//     ImmutableInt64 (any change refused with "Change not allowed"); md5 updates in place (the
//     provider requests the BGP configuration again).
//   - internal/resources/metal/project_ssh_key/resource_schema.go and ssh_key/resource_schema.go:
//     project_id and public_key RequiresReplace; name updates in place.
//   - equinix/resource_metal_bgp_session.go: device_id, address_family, default_route ForceNew.
//   - equinix/resource_metal_reserved_ip_block.go: project_id, facility, metro, quantity, type,
//     vrf_id, network, cidr ForceNew; description, tags, custom_data update in place.
func TestReplacingInputs(t *testing.T) {
	want := map[string][]string{
		DeviceToken: {"billingCycle", "customData", "facilities", "hardwareReservationId", "metro", "operatingSystem",
			"plan", "projectId", "projectSshKeyIds", "storage", "userData", "userSshKeyIds"},
		ProjectToken:         {"organizationId"},
		ProjectSshKeyToken:   {"projectId", "publicKey"},
		BgpSessionToken:      {"addressFamily", "defaultRoute", "deviceId"},
		ReservedIpBlockToken: {"cidr", "facility", "metro", "network", "projectId", "quantity", "type", "vrfId"},
	}
	if !reflect.DeepEqual(ReplacingInputs, want) {
		t.Errorf("ReplacingInputs = %v\nwant %v", ReplacingInputs, want)
	}
	for token, in := range map[string][]string{
		DeviceToken:          {"hostname", "tags", "ipAddresses", "behavior"},
		ProjectToken:         {"name", "bgpConfig"},
		ProjectSshKeyToken:   {"name"},
		ReservedIpBlockToken: {"description", "tags"},
	} {
		for _, i := range in {
			if Replaces(token, i) {
				t.Errorf("%s %s updates in place, but is listed as replacing", token, i)
			}
		}
	}
	if !reflect.DeepEqual(RefusedChanges[ProjectToken], []string{"bgpConfig.asn"}) {
		t.Errorf("RefusedChanges = %v", RefusedChanges)
	}
}

// A cluster on three servers of one rack, from TypeScript: the metalk8s component package
// (pulumi package add, see the README). The inputs are the metalk8s:cluster settings.
import * as pulumi from "@pulumi/pulumi";
import * as metalk8s from "@metalk8s/metalk8s";

const config = new pulumi.Config();

const cluster = new metalk8s.Cluster("prod", {
    servers: {
        ssh: { privateKey: config.requireSecret("sshPrivateKey") },
        peers: [
            { address: "10.10.1.2", asn: 65001 },
            { address: "10.10.1.3", asn: 65002 },
        ],
        controller: { name: "cp-0", sshAddress: "10.10.1.10", privateIpv4: "10.10.1.10" },
        workers: [
            { name: "w-0", id: "SN-0042", sshAddress: "10.10.1.11", privateIpv4: "10.10.1.11" },
            { name: "w-1", id: "SN-0043", sshAddress: "10.10.1.12", privateIpv4: "10.10.1.12" },
        ],
    },
    kubernetes: { version: "1.37.2" },
    apiServer: { privateOnly: true },
    loadBalancer: {
        pools: [{ name: "routed", cidrs: ["203.0.113.0/28"] }],
    },
    ingress: { enabled: true, pool: "routed" },
});

export const kubeconfig = cluster.kubeconfig;
export const apiEndpoint = cluster.apiEndpoint;
export const nodeAddresses = cluster.nodes.apply(nodes => nodes.map(n => `${n.name} ${n.privateIpv4}`));
export const pools = cluster.pools;
export const ingressAddress = cluster.ingressAddress;

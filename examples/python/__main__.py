"""A cluster on three servers of one rack, from Python: the metalk8s component package
(pulumi package add, see the README). The inputs are the metalk8s:cluster settings."""

import pulumi
import pulumi_metalk8s as metalk8s

config = pulumi.Config()

cluster = metalk8s.Cluster(
    "prod",
    servers=metalk8s.ServersArgs(
        ssh=metalk8s.ServersSSHArgs(private_key=config.require_secret("sshPrivateKey")),
        peers=[
            metalk8s.PeerArgs(address="10.10.1.2", asn=65001),
            metalk8s.PeerArgs(address="10.10.1.3", asn=65002),
        ],
        controller=metalk8s.ServerArgs(name="cp-0", ssh_address="10.10.1.10", private_ipv4="10.10.1.10"),
        workers=[
            metalk8s.ServerArgs(name="w-0", id="SN-0042", ssh_address="10.10.1.11", private_ipv4="10.10.1.11"),
            metalk8s.ServerArgs(name="w-1", id="SN-0043", ssh_address="10.10.1.12", private_ipv4="10.10.1.12"),
        ],
    ),
    kubernetes=metalk8s.KubernetesArgs(version="1.37.2"),
    api_server=metalk8s.APIServerArgs(private_only=True),
    load_balancer=metalk8s.LoadBalancerArgs(
        pools=[metalk8s.PoolArgs(name="routed", cidrs=["203.0.113.0/28"])],
    ),
    ingress=metalk8s.IngressArgs(enabled=True, pool="routed"),
)

pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("apiEndpoint", cluster.api_endpoint)
pulumi.export("nodes", cluster.nodes.apply(lambda nodes: [f"{n.name} {n.private_ipv4}" for n in nodes]))
pulumi.export("pools", cluster.pools)

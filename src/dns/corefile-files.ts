// The files a CoreDNS container reads besides its Corefile: its ConfigMaps as mounted
// by the usual Deployments, and the hosts file kubelet writes for the pod. They are
// what `import` and `hosts` name (k3s: `hosts /etc/coredns/NodeHosts` and
// `import /etc/coredns/custom/*.override`; AKS: `import custom/*.override`).
import type { Pod, Scenario } from '../model';
import { COREFILE_PATH } from './corefile';

/** kubeadm, k3s and AKS mount the coredns ConfigMap here; k3s and AKS mount coredns-custom under custom/. */
const CONFIG_DIR = COREFILE_PATH.slice(0, COREFILE_PATH.lastIndexOf('/'));
const MOUNTS: readonly { readonly configMap: string; readonly dir: string }[] = [
  { configMap: 'coredns', dir: CONFIG_DIR },
  { configMap: 'coredns-custom', dir: `${CONFIG_DIR}/custom` },
];

/**
 * The hosts file kubelet manages in a pod that is not on the host network (its
 * managedHostsFileContent): localhost, the IPv6 names, then the pod's own name (fully
 * qualified first when it has a subdomain). hostAliases are not modelled.
 */
export function kubeletHostsFile(pod: Pod, clusterDomain: string): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  const host = pod.spec.hostname ?? pod.name;
  const domain = pod.spec.subdomain ? `${pod.spec.subdomain}.${pod.namespace}.svc.${clusterDomain}` : '';
  for (const ip of pod.podIPs) lines.push(domain ? `${ip}\t${host}.${domain}\t${host}` : `${ip}\t${host}`);
  return `${lines.join('\n')}\n`;
}

/** Every such file by its absolute path; `answeringPodIP` picks the pod whose /etc/hosts it is. */
export function corefileFiles(scenario: Scenario, answeringPodIP: string | undefined): Map<string, string> {
  const files = new Map<string, string>();
  for (const m of MOUNTS) {
    const cm = scenario.configMaps.find((c) => c.namespace === 'kube-system' && c.name === m.configMap);
    for (const [key, value] of Object.entries(cm?.data ?? {})) files.set(`${m.dir}/${key}`, value);
  }
  const pod = answeringPodIP === undefined ? undefined : scenario.pods.find((p) => p.podIPs.includes(answeringPodIP));
  if (pod && !pod.spec.hostNetwork) files.set('/etc/hosts', kubeletHostsFile(pod, scenario.cluster.dnsDomain));
  return files;
}

// v1 ConfigMap: kept for kube-system/coredns, whose data.Corefile configures CoreDNS.
import { readStringMap, type YamlMap } from './field-reader';
import type { ObjectMeta } from './object-meta';
import type { ObjectContext } from './validation-issue';

export interface ConfigMap {
  readonly namespace: string;
  readonly name: string;
  readonly data: Readonly<Record<string, string>>;
}

export function parseConfigMap(ctx: ObjectContext, meta: ObjectMeta, body: YamlMap): ConfigMap {
  return { namespace: meta.namespace, name: meta.name, data: readStringMap(ctx, body.data, 'data') };
}

/** The Corefile of the `kube-system/coredns` ConfigMap, if the scenario has one. */
export function coreDnsCorefile(configMaps: readonly ConfigMap[]): string | undefined {
  return configMaps.find((cm) => cm.namespace === 'kube-system' && cm.name === 'coredns')?.data.Corefile;
}

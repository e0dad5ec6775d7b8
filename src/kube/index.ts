// The kube layer's public surface. Nothing here imports heavy code at load time: yaml is loaded inside
// config.ts only when a kubeconfig is parsed, and client-node is used for types only.

export type { ApplyOptions, DeleteOptions, ListOptions, LogOptions, PatchType, WriteOptions } from "./client.ts";
export { DEFAULT_FIELD_MANAGER, KubeClient, refOf } from "./client.ts";
export type { ClusterConnection, LoadOptions } from "./config.ts";
export { inClusterConnection, loadKubeConfig } from "./config.ts";
export type { Credential, CredentialProvider } from "./credentials.ts";
export { staticToken, tokenFile } from "./credentials.ts";
export * from "./errors.ts";
export type { EventType } from "./events.ts";
export { EventRecorder } from "./events.ts";
export type { InformerHandlers, InformerHealth, InformerOptions, InformerScope, ListWatch } from "./informer.ts";
export { clientListWatch, diffRelist, Informer, stripManagedFields } from "./informer.ts";
export { probeCluster } from "./probe.ts";
export type { ResourceInfo } from "./resources.ts";
export { lookupResource, registerResource } from "./resources.ts";
export type { AggregateHealth } from "./shared-informers.ts";
export { SharedInformers } from "./shared-informers.ts";
export { Transport } from "./transport.ts";
export type { KubeList, KubeObject, ObjectRef, TypeRef, WatchEvent } from "./types.ts";
export { objectKey } from "./types.ts";

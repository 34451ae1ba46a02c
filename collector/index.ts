/** The collector stage: receive, attribute, parse. Downstream stages import only from here. */
export { FLAGS, LAYOUT, NativeError, type AttributionMethod, type KernelFeatures, nativeToolPath, notifyServiceManager, openLogFile, rotateLogFile } from './addon';
export { findCgroup2Mount, parseCgroup2Mount } from './cgroup-mount';
export {
  Batch,
  type CgroupProvenance,
  type CommProvenance,
  type KernelProbe,
  type KernelRung,
  probeKernel,
  Receiver,
  type ReceiverCounters,
  type ReceiverOptions,
  cgroupProvenance,
  commProvenance,
} from './receiver';
export { CgroupIndex, type CgroupIndexOptions, type CgroupIndexStats, type CgroupPathEntry } from './cgroup-index';
export { identifyCgroupPath, type CgroupIdentity, type ContainerRef, type PodQos, type PodRef, type Runtime, unescapeUnitName } from './cgroup-identity';
export { ContainerMetadataReader, DEFAULT_ROOTS, type MetadataFs, type MetadataRoots, realMetadataFs } from './container-metadata';
export {
  type ContainerInfo,
  createSenderResolver,
  type IdentityOptions,
  NO_CGROUP,
  type NameSource,
  type PodInfo,
  type SenderCgroup,
  SenderResolver,
} from './sender-identity';
export { type Attribution, type LogRecord, RecordBuilder } from './record';
export {
  FACILITY_NAMES,
  ParseNote,
  parseRfc3164,
  parseRfc5424,
  parseSyslog,
  parseSyslogRange,
  type SdElement,
  SEVERITY_NAMES,
  type SyslogFormat,
  type SyslogMessage,
} from './syslog-parse';
export { formatProbe, type HostProbe, type HostReaders, type ProbeItem, probeHost } from './host-probe';

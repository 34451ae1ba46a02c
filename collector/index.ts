/** The collector stage: receive, attribute, parse. Downstream stages import only from here. */
export { NativeError, type AttributionMethod, type KernelFeatures, nativeToolPath } from './addon';
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

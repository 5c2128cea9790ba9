import { handleEnqueueProbe } from '@/features/probes/enqueue-probe.server';

export const POST = handleEnqueueProbe;

import { handleIngest } from '@/features/upload-errors/ingest.server';

export const POST = handleIngest;

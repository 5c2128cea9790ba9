import { handleValidateDraft } from '@/features/rules-dry-run/dry-run.server';

export const POST = handleValidateDraft;

import { handleInspectorUpload } from '@/features/inspector/inspector-routes.server';

export const POST = handleInspectorUpload;

import { handleInspectorDelete } from '@/features/inspector/inspector-routes.server';

export async function DELETE(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return handleInspectorDelete(request, (await params).id);
}

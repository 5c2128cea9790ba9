import { handleUserSearch } from '@/features/probes/user-search.server';

export async function GET(request: Request, { params }: { params: Promise<{ name: string }> }) {
  return handleUserSearch(request, (await params).name);
}

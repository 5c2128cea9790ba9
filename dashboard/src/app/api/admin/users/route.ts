import { handleManageUsers } from '@/features/users/manage-users.server';

export const POST = handleManageUsers;

import { handleLogin } from '@/features/auth/login.server';

export const POST = handleLogin;

import { isSyncScopeError } from '@syncscope/core';
import { composeSetup } from './compose-setup.ts';

composeSetup(process.env).then(
  () => console.log('setup done: demo schema and seed, roles, ops database migrated'),
  (error: unknown) => {
    console.error(isSyncScopeError(error) ? `${error.code}: ${error.message}` : error);
    process.exit(1);
  }
);

// The flags of the commands that mint probe tokens, apart from cliAuthorisation (probe-authorisation.ts),
// so that defining the commands loads nothing of the targets code.
export const REASON_FLAGS = '--reason <text>';
export const REASON_HELP =
  'why you impersonate this user (audited before the token is minted; required except for the demo target)';
export const ACTOR_FLAGS = '--actor <name>';
export const ACTOR_HELP = 'who asks, for the audit log (default: cli:<OS user name>)';

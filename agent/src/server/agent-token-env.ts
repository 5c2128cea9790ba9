/** The variable holding the agent API's bearer token (its own module: the CLI's help names it). */
export const AGENT_TOKEN_ENV = 'SYNCSCOPE_AGENT_TOKEN';

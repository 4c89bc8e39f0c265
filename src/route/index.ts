/**
 * The rewrite pipeline: trivial-rewrite, canonical, masquerade, virtual alias, relocated, aliases, transport.
 * @packageDocumentation
 */
export {};

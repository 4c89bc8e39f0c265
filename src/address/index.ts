/**
 * Address syntax: RFC 822 tokenizing as Postfix's tok822 does, internal/external forms, splitting.
 * @packageDocumentation
 */
export {};

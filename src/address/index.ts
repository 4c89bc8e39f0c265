/**
 * Address syntax: RFC 822 tokenizing as Postfix's tok822 does, internal/external forms, splitting.
 * @packageDocumentation
 */
export {
  QUOTE_8BITCLEAN,
  QUOTE_EXPOSE_AT,
  QUOTE_BARE_LOCALPART,
  QUOTE_DEFAULT,
  quote822Local,
  unquote822Local,
  needsQuoting,
} from './quote.js';
export { lastAtIndex, localPartOf, domainOf, splitAddress, joinAddress } from './split.js';
export type { SplitAddress } from './split.js';

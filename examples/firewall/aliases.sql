-- The MySQL alias table of the firewall example:
--   mysql -h 127.0.0.1 -u root test < examples/firewall/aliases.sql
CREATE TABLE IF NOT EXISTS mail_aliases (
  alias        VARCHAR(128) NOT NULL PRIMARY KEY,
  forward_addr VARCHAR(255) NOT NULL,
  status       VARCHAR(16)  NOT NULL DEFAULT 'paid'
);
REPLACE INTO mail_aliases (alias, forward_addr, status) VALUES
  ('webmaster', 'tom', 'paid'),
  ('helpdesk',  'anna, tom', 'paid'),
  ('chess-club', 'anna', 'unpaid');

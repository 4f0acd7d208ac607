//! ARI adapter: REST client and event stream toward Asterisk.

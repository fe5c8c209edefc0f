-- Read only, for a feed that just connected: {generation or false, newest sequence number,
-- primary id}. ARGV: prefix.
return {redis.call("GET", P .. "gen") or false, last_seq(), primary_id()}

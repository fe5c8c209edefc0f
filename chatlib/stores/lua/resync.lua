-- After an outage, a failover, or on first contact, a server brings Redis up to date with
-- what it did meanwhile. ARGV: prefix, a new generation (used if Redis has none),
--   highest sequence number this server saw, gaps (JSON [[ns, rooms or null]]: packets it
--   could not store), sessions to forget (JSON [[ns, sid]]: they dropped or ended meanwhile),
--   its connected sessions (JSON [[ns, sid, pid, [rooms]]]), server id, now.
-- Returns {generation, newest sequence number, primary id}.
-- A Redis that lost its data (restarted without persistence) has no generation: the first
-- server back starts a new one, with sequence numbers above every one it gave out.
local fresh, high = ARGV[2], tonumber(ARGV[3])
local me, now = ARGV[7], ARGV[8]
local here = primary_id()
local gen = redis.call("GET", P .. "gen")
if not gen then
  gen = fresh
  redis.call("SET", P .. "gen", gen)
  if last_seq() < high then redis.call("SET", P .. "seq", high) end
  redis.call("SET", P .. "primary", here)
  redis.call("DEL", P .. "took")
elseif redis.call("GET", P .. "primary") ~= here then
  -- Another Redis took over this data (a replica promoted by a failover), or this one
  -- restarted from its files. Replication is asynchronous: the old primary may have
  -- answered writes this one never got, and given out sequence numbers above "from".
  -- No server writes here before its own resync (stale()), and the first one moves the
  -- sequence TAKEOVER_JUMP past every number it saw, so no number is given out twice
  -- unless a primary answered that many writes its replica never received.
  local from = last_seq()
  local at = math.max(from, high) + TAKEOVER_JUMP
  redis.call("SET", P .. "seq", at)
  -- not a packet and no gap: it tells the feeds that the numbers jump here
  redis.call("XADD", STREAM, at .. "-0", "ns", "", "rooms", "*", "ex", "", "t", now,
    "pre", "", "suf", "", "att", "", "gap", JUMPED, "from", from)
  redis.call("SET", P .. "primary", here)
  redis.call("HSET", P .. "took", "from", from, "at", at, "covered", from)
end
-- Did this server see sequence numbers this primary never had? Then packets were lost with
-- the old primary: a gap for everyone, in every namespace with sessions (the marks make
-- every restore from before it fail; every feed, this one's included, cuts its clients off).
do
  local took = redis.call("HMGET", P .. "took", "from", "at", "covered")
  local from, at, covered = tonumber(took[1]), tonumber(took[2]), tonumber(took[3])
  if from and high > covered and high < at then
    redis.call("HSET", P .. "took", "covered", high)
    local members = redis.call("HKEYS", P .. "members")
    for _, key in ipairs(members) do
      local ns = string.match(key, "^([^%z]*)%z%*$")
      if ns then
        local seq = redis.call("INCR", P .. "seq")
        redis.call("HSET", P .. "marks", key, seq)
        redis.call("XADD", STREAM, seq .. "-0", "ns", ns, "rooms", "*", "ex", "", "t", now,
          "pre", "", "suf", "", "att", "", "gap", LOST)
      end
    end
  end
end
redis.call("HSET", P .. "servers", me, now)
-- A gap is a stream entry of its own: every session it was meant for that did not get it
-- live fails its restore (the marks), and every other server cuts its live clients off
-- from it so they reconnect and learn (the feed; in a new generation too).
do
  for _, gap in ipairs(cjson.decode(ARGV[4])) do
    local ns, rooms = gap[1], gap[2]
    local seq = redis.call("INCR", P .. "seq")
    local keys, stored = {allkey(ns)}, "*"
    if rooms ~= cjson.null then
      keys, stored = {}, cjson.encode(rooms)
      for _, room in ipairs(rooms) do keys[#keys + 1] = roomkey(ns, room) end
    end
    for _, key in ipairs(keys) do
      if redis.call("HEXISTS", P .. "members", key) == 1 then
        redis.call("HSET", P .. "marks", key, seq)
      end
    end
    redis.call("XADD", STREAM, seq .. "-0", "ns", ns, "rooms", stored, "ex", "", "t", now,
      "pre", "", "suf", "", "att", "", "gap", me)
  end
end
for _, gone in ipairs(cjson.decode(ARGV[5])) do
  local s = session_by_sid(gone[1], gone[2])
  if s and s.owner == me then drop_session(s) end
end
for _, live in ipairs(cjson.decode(ARGV[6])) do
  local ns, sid, pid = live[1], live[2], live[3]
  local old = session_by_sid(ns, sid)
  if old then drop_session(old) end
  local start = last_seq()
  local s = {ns = ns, sid = sid, pid = pid, start = start, joined = {[sid] = start},
             shadow = {}, connected = "1", at = "", owner = me}
  add_member(allkey(ns))
  add_member(roomkey(ns, sid))
  for _, room in ipairs(live[4]) do
    s.joined[room] = start
    add_member(roomkey(ns, room))
  end
  session_put(s)
  redis.call("HSET", P .. "sids", ns .. "\0" .. sid, pid)
  redis.call("SADD", P .. "pids", pid)
  redis.call("SADD", P .. "owned:" .. me, pid)
end
return {gen, last_seq(), here}

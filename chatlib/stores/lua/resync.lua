-- After an outage (or on first contact) a server brings Redis up to date with what it did
-- meanwhile. ARGV: prefix, a new generation (used if Redis has none),
--   highest sequence number this server saw, gaps (JSON [[ns, rooms or null]]: packets it
--   could not store), sessions to forget (JSON [[ns, sid]]: they dropped or ended meanwhile),
--   its connected sessions (JSON [[ns, sid, pid, [rooms]]]), server id, now.
-- A Redis that lost its data (restarted without persistence) has no generation: the first
-- server back starts a new one, with sequence numbers above every one it gave out.
local fresh, high = ARGV[2], tonumber(ARGV[3])
local me, now = ARGV[7], ARGV[8]
local gen = redis.call("GET", P .. "gen")
if not gen then
  gen = fresh
  redis.call("SET", P .. "gen", gen)
  if last_seq() < high then redis.call("SET", P .. "seq", high) end
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
return {gen, last_seq()}

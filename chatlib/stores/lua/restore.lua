-- ARGV: prefix, namespace, pid, offset ("" none, "x" malformed, else digits),
--       now, max disconnection duration, server id, seconds after which a silent server is dead,
--       generation@primary token
if stale(ARGV[#ARGV]) then return -1 end
local ns, pid, offset, now = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local duration, me, dead_after = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
local s, unreadable = session_get(pid)
if unreadable then return {"UNREADABLE_STATE"} end
if not s or s.ns ~= ns then return {"UNKNOWN_PID"} end
if s.connected == "1" then
  if s.owner == me then return {"ALREADY_CONNECTED"} end
  local beat = tonumber(redis.call("HGET", P .. "servers", s.owner) or "0") or 0
  if now - beat < dead_after then return {"CONNECTED_ELSEWHERE"} end
  mark_dropped(s, beat)  -- its server stopped answering: the session dropped with it
end
if now - tonumber(s.at) > duration then
  drop_session(s)
  return {"EXPIRED"}
end
local head = last_seq()
local from = s.start
if offset ~= "" then
  local asked = tonumber(string.match(offset, "^%d+$"))
  if offset == "x" or #offset > 15 or not asked or asked > head then return {"BAD_OFFSET"} end
  if asked > from then from = asked end
end
if mark_seen_by(s, allkey(ns)) > from then return {"PACKETS_LOST"} end
for room, joined_at in pairs(s.joined) do
  local after = from
  if joined_at > after then after = joined_at end
  if mark_seen_by(s, roomkey(ns, room)) > after then return {"PACKETS_LOST"} end
end
local entries = redis.call("XRANGE", STREAM, "(" .. from .. "-0", "+")
s.connected = "1"
s.at = ""
s.owner = me
session_put(s)
redis.call("ZREM", P .. "dropped", pid)
redis.call("SADD", P .. "owned:" .. me, pid)
local data = redis.call("HGET", P .. "s:" .. pid, "data") or ""
return {"OK", s.sid, cjson.encode(s.joined), data, head, entries}

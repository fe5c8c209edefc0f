-- Read only: what restore.lua would replay now to the kept session sid, changing nothing.
-- ARGV: prefix, namespace, sid, offset ("" since the drop, "x" malformed, else digits),
--       now, max disconnection duration
local ns, sid, offset, now, duration = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local s = session_by_sid(ns, sid)
if not s or s.connected == "1" or now - tonumber(s.at) > duration then return {} end
local head = last_seq()
local from = s.start
if offset == "" then
  local kept_after = tonumber(redis.call("HGET", P .. "s:" .. s.pid, "kept_after") or "")
  if kept_after and kept_after > from then from = kept_after end
else
  local asked = tonumber(string.match(offset, "^%d+$"))
  if offset == "x" or #offset > 15 or not asked or asked > head then return {} end
  if asked > from then from = asked end
end
if mark_seen_by(s, allkey(ns)) > from then return {} end
for room, joined_at in pairs(s.joined) do
  local after = from
  if joined_at > after then after = joined_at end
  if mark_seen_by(s, roomkey(ns, room)) > after then return {} end
end
return {s.pid, cjson.encode(s.joined), redis.call("XRANGE", STREAM, "(" .. from .. "-0", "+")}

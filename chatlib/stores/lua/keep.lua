-- ARGV: prefix, namespace, sid, session dict (JSON, chatlib.core.codec), now, "keep" / "save" /
--       "forget", max kept sessions, generation@primary token
if stale(ARGV[#ARGV]) then return -1 end
local s = session_by_sid(ARGV[2], ARGV[3])
if not s or s.connected ~= "1" then return 0 end
if ARGV[6] == "forget" then
  drop_session(s)
  return 1
end
redis.call("HSET", P .. "s:" .. s.pid, "data", ARGV[4])
if ARGV[6] == "keep" then
  mark_dropped(s, tonumber(ARGV[5]))
  bound_kept(tonumber(ARGV[7]))
end
return 1

-- ARGV: prefix, namespace, sid, pid, server id, now, generation@primary token
if stale(ARGV[#ARGV]) then return -1 end
local ns, sid, pid, me = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
redis.call("HSET", P .. "servers", me, ARGV[6])  -- a server owning sessions has a heartbeat
local old = session_by_sid(ns, sid)
if old then drop_session(old) end
local start = last_seq()
local s = {ns = ns, sid = sid, pid = pid, start = start, joined = {[sid] = start},
           shadow = {}, connected = "1", at = "", owner = me}
session_put(s)
redis.call("HSET", P .. "sids", ns .. "\0" .. sid, pid)
redis.call("SADD", P .. "pids", pid)
redis.call("SADD", P .. "owned:" .. me, pid)
add_member(allkey(ns))
add_member(roomkey(ns, sid))
return start

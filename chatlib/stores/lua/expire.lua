-- ARGV: prefix, now, max disconnection duration, limit, server id, dead after (seconds),
--       max kept sessions, generation@primary token
if stale(ARGV[#ARGV]) then return -1 end  -- Redis lost its data, or a failover
local now, duration, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local me, dead_after = ARGV[5], tonumber(ARGV[6])
local cutoff = now - duration
redis.call("HSET", P .. "servers", me, now)
local count = 0
while count < limit do
  local entry = oldest()
  if not entry or not expired(entry, cutoff) then break end
  evict(entry)
  count = count + 1
end
local sessions = 0
for _, pid in ipairs(redis.call("ZRANGEBYSCORE", P .. "dropped", "-inf", cutoff, "LIMIT", 0, limit)) do
  local s = session_get(pid)
  if s then drop_session(s) else redis.call("ZREM", P .. "dropped", pid) end
  sessions = sessions + 1
end
local servers = redis.call("HGETALL", P .. "servers")
for i = 1, #servers, 2 do
  local server, beat = servers[i], tonumber(servers[i + 1])
  if server ~= me and now - beat > dead_after then
    for _, pid in ipairs(redis.call("SMEMBERS", P .. "owned:" .. server)) do
      local s = session_get(pid)
      if s and s.connected == "1" and s.owner == server then mark_dropped(s, beat) end
    end
    redis.call("DEL", P .. "owned:" .. server)
    redis.call("HDEL", P .. "servers", server)
  end
end
bound_kept(tonumber(ARGV[7]))
return count + sessions

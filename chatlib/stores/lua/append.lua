-- ARGV: prefix, namespace, rooms ("*" or JSON list), excluded (JSON list or ""),
--       now, prefix text, suffix text, attachments, max packets, cutoff time, generation
if redis.call("GET", P .. "gen") ~= ARGV[11] then return -1 end  -- Redis lost its data
local seq = redis.call("INCR", P .. "seq")
redis.call("XADD", STREAM, seq .. "-0", "ns", ARGV[2], "rooms", ARGV[3], "ex", ARGV[4],
  "t", ARGV[5], "pre", ARGV[6], "suf", ARGV[7], "att", ARGV[8])
local max_packets, cutoff = tonumber(ARGV[9]), tonumber(ARGV[10])
if redis.call("XLEN", STREAM) > max_packets then evict(oldest()) end
for _ = 1, 2 do
  local entry = oldest()
  if not entry or tonumber(fields_of(entry[2]).t) > cutoff then break end
  evict(entry)
end
return seq

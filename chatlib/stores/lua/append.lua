-- Store one or more packets, in the order given, with consecutive sequence numbers.
-- ARGV: prefix, max packets, cutoff time, then seven per packet (namespace, rooms ("*" or
--       a JSON list), excluded (a JSON list or ""), now, prefix text, suffix text,
--       attachments), and last the generation@primary token. Returns the first packet's sequence number.
if stale(ARGV[#ARGV]) then return -1 end  -- Redis lost its data, or a failover
local max_packets, cutoff = tonumber(ARGV[2]), tonumber(ARGV[3])
local count = (#ARGV - 4) / 7
local first = redis.call("INCRBY", P .. "seq", count) - count + 1
for i = 0, count - 1 do
  local at = 4 + 7 * i
  redis.call("XADD", STREAM, (first + i) .. "-0", "ns", ARGV[at], "rooms", ARGV[at + 1],
    "ex", ARGV[at + 2], "t", ARGV[at + 3], "pre", ARGV[at + 4], "suf", ARGV[at + 5],
    "att", ARGV[at + 6])
end
-- the oldest go past max packets; the expired, two per packet stored (the sweep takes the rest)
for _ = 1, redis.call("XLEN", STREAM) - max_packets do evict(oldest()) end
for _ = 1, 2 * count do
  local entry = oldest()
  if not entry or not expired(entry, cutoff) then break end
  evict(entry)
end
return first

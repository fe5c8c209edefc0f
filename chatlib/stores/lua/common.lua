-- Shared helpers of the RedisStore scripts. ARGV[1] is always the key prefix, and KEYS[1]
-- one key under it (prefix .. "seq"): a cluster client routes a script by its first key, and
-- every key a script touches is under the prefix, whose hash tag puts them in that key's slot.
-- The layout mirrors MemoryStore: sequence numbers are integers from P.."seq",
-- a packet's stream id is "<seq>-0", marks and member counts are hashes keyed
-- by "<namespace>\0*" (everyone) or "<namespace>\0r<room>".
local P = ARGV[1]
local STREAM = P .. "stream"

local function allkey(ns) return ns .. "\0*" end
local function roomkey(ns, room) return ns .. "\0r" .. room end
local function last_seq() return tonumber(redis.call("GET", P .. "seq") or "0") end

-- Which Redis process answers: a replica promoted by a failover (or a restart) has a new one.
local function primary_id() return string.match(redis.call("INFO", "server"), "run_id:(%x+)") end

-- The scripts that write take, last, the "generation@primary" the server last resynced with;
-- when either changed (Redis lost its data, or another Redis took over) they answer -1 and
-- the server resyncs first (resync.lua), so no server writes to a new primary unaware.
local function stale(token)
  return (redis.call("GET", P .. "gen") or "") .. "@" .. primary_id() ~= token
end

-- How far a new primary moves the sequence on (resync.lua), and what the "gap" field of the
-- entries that are no packets says when no server wrote them for its own clients.
local TAKEOVER_JUMP = 1000000
local JUMPED = "*jump"
local LOST = "*lost"

local function fields_of(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function seq_of(id) return tonumber(string.match(id, "^(%d+)")) end

-- A session hash is read, never trusted: each field is checked as session_put wrote it.
local function readable_session(s, pid)
  if s.pid ~= pid or type(s.ns) ~= "string" or type(s.sid) ~= "string"
      or type(s.owner) ~= "string" or (s.connected ~= "1" and s.connected ~= "0") then
    return false
  end
  s.start = tonumber(s.start)
  if not s.start or (s.connected == "0" and not tonumber(s.at)) then return false end
  local ok, joined = pcall(cjson.decode, s.joined or "")
  if not ok or type(joined) ~= "table" or type(joined[s.sid]) ~= "number" then return false end
  for room, seq in pairs(joined) do
    if type(room) ~= "string" or type(seq) ~= "number" then return false end
  end
  local fine, shadow = pcall(cjson.decode, s.shadow or "")
  if not fine or type(shadow) ~= "table" then return false end
  for key, pair in pairs(shadow) do
    if type(key) ~= "string" or type(pair) ~= "table" or type(pair[1]) ~= "number"
        or type(pair[2]) ~= "number" then
      return false
    end
  end
  s.joined, s.shadow = joined, shadow
  return true
end

-- A session that cannot be read goes (its member counts stay: its rooms cannot be read);
-- session_get then answers nil and true, and restore.lua says UNREADABLE_STATE.
local function drop_unreadable(s, pid)
  redis.call("DEL", P .. "s:" .. pid)
  redis.call("SREM", P .. "pids", pid)
  redis.call("ZREM", P .. "dropped", pid)
  if type(s.ns) == "string" and type(s.sid) == "string"
      and redis.call("HGET", P .. "sids", s.ns .. "\0" .. s.sid) == pid then
    redis.call("HDEL", P .. "sids", s.ns .. "\0" .. s.sid)
  end
  if type(s.owner) == "string" then redis.call("SREM", P .. "owned:" .. s.owner, pid) end
end

local function session_get(pid)
  local flat = redis.call("HGETALL", P .. "s:" .. pid)
  if #flat == 0 then return nil end
  local s = fields_of(flat)
  if not readable_session(s, pid) then
    drop_unreadable(s, pid)
    return nil, true
  end
  return s
end

local function encode_map(map)
  if next(map) == nil then return "{}" end
  return cjson.encode(map)
end

local function session_put(s)
  redis.call("HSET", P .. "s:" .. s.pid, "ns", s.ns, "sid", s.sid, "pid", s.pid,
    "start", s.start, "joined", encode_map(s.joined), "shadow", encode_map(s.shadow),
    "connected", s.connected, "at", s.at, "owner", s.owner)
end

local function session_by_sid(ns, sid)
  local pid = redis.call("HGET", P .. "sids", ns .. "\0" .. sid)
  if not pid then return nil end
  return session_get(pid)
end

local function add_member(key) redis.call("HINCRBY", P .. "members", key, 1) end

local function remove_member(key)
  if redis.call("HINCRBY", P .. "members", key, -1) <= 0 then
    redis.call("HDEL", P .. "members", key)
    redis.call("HDEL", P .. "marks", key)
  end
end

-- a mark that cannot be read is taken as high as can be: a loss told to more, never to fewer
local UNREADABLE_MARK = 2 ^ 53

local function mark_seen_by(s, key)
  local high = tonumber(redis.call("HGET", P .. "marks", key) or "0") or UNREADABLE_MARK
  local shadow = s.shadow[key]
  if shadow and shadow[1] == high then return shadow[2] end
  return high
end

local function drop_session(s)
  redis.call("DEL", P .. "s:" .. s.pid)
  redis.call("HDEL", P .. "sids", s.ns .. "\0" .. s.sid)
  redis.call("SREM", P .. "pids", s.pid)
  redis.call("ZREM", P .. "dropped", s.pid)
  redis.call("SREM", P .. "owned:" .. s.owner, s.pid)
  remove_member(allkey(s.ns))
  for room, _ in pairs(s.joined) do remove_member(roomkey(s.ns, room)) end
end

local function mark_dropped(s, when)
  s.connected = "0"
  s.at = when
  session_put(s)
  redis.call("HSET", P .. "s:" .. s.pid, "kept_after", last_seq())  -- for missed.lua
  redis.call("ZADD", P .. "dropped", when, s.pid)
  redis.call("SREM", P .. "owned:" .. s.owner, s.pid)
end

-- Past max_kept_sessions the session that dropped longest ago goes first.
local function bound_kept(max_kept)
  while redis.call("ZCARD", P .. "dropped") > max_kept do
    local pid = redis.call("ZRANGE", P .. "dropped", 0, 0)[1]
    local s = session_get(pid)
    if s then drop_session(s) else redis.call("ZREM", P .. "dropped", pid) end
  end
end

-- Evict one stream entry, remembering per room the newest evicted sequence
-- number (and, for excluded sessions, the mark as it stood for them).
-- Entries are read, never trusted: rooms that cannot be read count as everyone, excluded
-- sids that cannot be read as none (so a loss is told to more, never to fewer).
local function decoded_list(text)
  local ok, list = pcall(cjson.decode, text or "")
  if not ok or type(list) ~= "table" then return nil end
  for _, item in ipairs(list) do
    if type(item) ~= "string" then return nil end
  end
  return list
end

local function evict(entry)
  local id, f = entry[1], fields_of(entry[2])
  local seq = seq_of(id)
  if type(f.ns) ~= "string" then
    redis.call("XDEL", STREAM, id)
    return
  end
  local targets = {}
  local rooms = f.rooms ~= "*" and decoded_list(f.rooms)
  if not rooms then
    targets[1] = {false, allkey(f.ns)}
  else
    for _, room in ipairs(rooms) do
      targets[#targets + 1] = {room, roomkey(f.ns, room)}
    end
  end
  local excluded = {}
  if f.ex ~= "" then excluded = decoded_list(f.ex) or {} end
  for _, target in ipairs(targets) do
    local room, key = target[1], target[2]
    if redis.call("HEXISTS", P .. "members", key) == 1 then
      for _, sid in ipairs(excluded) do
        local s = session_by_sid(f.ns, sid)
        if s and (room == false or s.joined[room] ~= nil) then
          s.shadow[key] = {seq, mark_seen_by(s, key)}
          redis.call("HSET", P .. "s:" .. s.pid, "shadow", encode_map(s.shadow))
        end
      end
      redis.call("HSET", P .. "marks", key, seq)
    end
  end
  redis.call("XDEL", STREAM, id)
end

local function oldest()
  return redis.call("XRANGE", STREAM, "-", "+", "COUNT", 1)[1]
end

-- whether a stream entry is older than cutoff (one whose time cannot be read is)
local function expired(entry, cutoff)
  local t = tonumber(fields_of(entry[2]).t)
  return not t or t <= cutoff
end

-- ARGV: prefix, namespace, sid, room, "join" or "leave", generation@primary token
if stale(ARGV[#ARGV]) then return -1 end
local ns, sid, room = ARGV[2], ARGV[3], ARGV[4]
local s = session_by_sid(ns, sid)
if not s or s.connected ~= "1" then return 0 end
if ARGV[5] == "join" then
  if s.joined[room] ~= nil then return 0 end
  s.joined[room] = last_seq()
  add_member(roomkey(ns, room))
else
  if room == sid or s.joined[room] == nil then return 0 end
  s.joined[room] = nil
  s.shadow[roomkey(ns, room)] = nil
  remove_member(roomkey(ns, room))
end
session_put(s)
return 1

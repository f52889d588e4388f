"""The Lua scripts that change ownership in Redis: each runs as one atomic step.

Keys, under a prefix ``P`` (``ivrkit:<cluster>:``):

* ``P alive:<owner>``: a worker incarnation's heartbeat (``PX`` = the lease TTL);
* ``P owners``: every incarnation that may still own calls (for the orphan scan);
* ``P call:<call>``: a hash ``owner``, ``token``, ``cp`` (the engine checkpoint, JSON);
  ``<call>`` is ``<asterisk id>/<channel id>``;
* ``P owned:<owner>``: the calls an incarnation owns;
* ``P fence``: the fencing counter. Every change of owner takes a new, larger token, and
  every write must carry the token it was given: a worker that lost a call (it was
  paused past its lease and another took over) has a stale token, its writes are
  refused, and that refusal is how it learns to back off. One wins, the other backs off.

Scripts build their keys from the prefix (standalone Redis, not Redis Cluster).
"""

from __future__ import annotations

# OPEN(prefix, call, me, key_ttl, adopted) -> {status, token, checkpoint|false}
# A call entered Stasis in *our* application. Asterisk decides which application holds a
# channel (a claim, a move, the one app name), so the call is ours now whoever held it
# before; a previous owner that still believes otherwise holds a stale token and is
# fenced out at its next write. status:
#   "new"    nobody owned it: it is ours now (token fresh);
#   "ours"   we already own it (we took it over and moved it here): resume it;
#   "taken"  another owner had it (dead, or about to learn it lost it): resume it;
#   "foreign" (only for an adopted call) a live owner has it: leave it alone.
OPEN = """
local p, call, me = ARGV[1], ARGV[2], ARGV[3]
local key = p .. 'call:' .. call
local owner = redis.call('HGET', key, 'owner')
if owner == me then
  return {'ours', redis.call('HGET', key, 'token'), redis.call('HGET', key, 'cp')}
end
if owner and ARGV[5] == '1' and redis.call('EXISTS', p .. 'alive:' .. owner) == 1 then
  -- adopted (found by a re-sync, not given by Asterisk just now) while its live owner is
  -- moving it away: a worker that comes back does not fight for the calls it lost
  return {'foreign', owner, false}
end
local status = 'new'
if owner then
  redis.call('SREM', p .. 'owned:' .. owner, call)
  status = 'taken'
end
local token = tostring(redis.call('INCR', p .. 'fence'))
redis.call('HSET', key, 'owner', me, 'token', token)
redis.call('EXPIRE', key, ARGV[4])
redis.call('SADD', p .. 'owned:' .. me, call)
redis.call('SADD', p .. 'owners', me)
return {status, token, redis.call('HGET', key, 'cp')}
"""

# SAVE(prefix, call, me, token, checkpoint, key_ttl) -> token, or false when fenced out.
# token "" means "registration was deferred" (Redis was away when the call arrived): the
# call is in our application, so it is ours whoever the key names (as for OPEN).
# A missing key is re-created: Redis lost its data (a restart without persistence), and
# the live owner is the one that knows the call.
SAVE = """
local p, call, me, token, cp = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = p .. 'call:' .. call
local owner = redis.call('HGET', key, 'owner')
if not owner or (token == '' and owner ~= me) then
  if owner then
    redis.call('SREM', p .. 'owned:' .. owner, call)
  end
  if token == '' then
    token = tostring(redis.call('INCR', p .. 'fence'))
  elseif tonumber(redis.call('GET', p .. 'fence') or '0') < tonumber(token) then
    redis.call('SET', p .. 'fence', token)
  end
  redis.call('HSET', key, 'owner', me, 'token', token, 'cp', cp)
  redis.call('EXPIRE', key, ARGV[6])
  redis.call('SADD', p .. 'owned:' .. me, call)
  redis.call('SADD', p .. 'owners', me)
  return token
end
local current = redis.call('HGET', key, 'token')
if owner == me and (token == '' or token == current) then
  redis.call('HSET', key, 'cp', cp)
  redis.call('EXPIRE', key, ARGV[6])
  redis.call('SADD', p .. 'owned:' .. me, call)
  return current
end
return false
"""

# FINISH(prefix, call, me, token) -> 1 if the call was ours and is gone now, else 0.
FINISH = """
local p, call, me, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = p .. 'call:' .. call
if redis.call('HGET', key, 'owner') == me
   and (token == '' or redis.call('HGET', key, 'token') == token) then
  redis.call('DEL', key)
  redis.call('SREM', p .. 'owned:' .. me, call)
  return 1
end
return 0
"""

# TAKEOVER(prefix, call, me, dead, key_ttl) -> {token, checkpoint|false} or false.
# Only while ``dead`` still owns the call and its heartbeat is gone: of several workers
# scanning at once, exactly one gets each call.
TAKEOVER = """
local p, call, me, dead = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = p .. 'call:' .. call
if redis.call('EXISTS', p .. 'alive:' .. dead) == 1 then
  return false
end
if redis.call('HGET', key, 'owner') ~= dead then
  redis.call('SREM', p .. 'owned:' .. dead, call)
  return false
end
local token = tostring(redis.call('INCR', p .. 'fence'))
redis.call('HSET', key, 'owner', me, 'token', token)
redis.call('EXPIRE', key, ARGV[5])
redis.call('SREM', p .. 'owned:' .. dead, call)
redis.call('SADD', p .. 'owned:' .. me, call)
redis.call('SADD', p .. 'owners', me)
return {token, redis.call('HGET', key, 'cp')}
"""

# HEARTBEAT(prefix, me, ttl_ms): renew our lease -> 1 if it was still alive, 0 if it
# had lapsed (expired during a Redis outage or while we were frozen, or Redis restarted
# empty): then peers may have seen us dead, and our calls' keys may be gone.
HEARTBEAT = """
local alive = ARGV[1] .. 'alive:' .. ARGV[2]
local was = redis.call('EXISTS', alive)
redis.call('SET', alive, '1', 'PX', ARGV[3])
redis.call('SADD', ARGV[1] .. 'owners', ARGV[2])
return was
"""

# ORPHANS(prefix, me) -> flat list {dead owner, call, ...} of calls whose owner is dead;
# dead owners without calls are dropped from the owners set.
ORPHANS = """
local p, me = ARGV[1], ARGV[2]
local found = {}
for _, owner in ipairs(redis.call('SMEMBERS', p .. 'owners')) do
  if owner ~= me and redis.call('EXISTS', p .. 'alive:' .. owner) == 0 then
    local calls = redis.call('SMEMBERS', p .. 'owned:' .. owner)
    if #calls == 0 then
      redis.call('SREM', p .. 'owners', owner)
    end
    for _, call in ipairs(calls) do
      table.insert(found, owner)
      table.insert(found, call)
    end
  end
end
return found
"""

# APP_LEASE(prefix, app, me, ttl_ms) -> 1 if we hold the application name now.
# The active/standby fallback for Asterisk without StasisBroadcast: one app name, held
# by whoever holds this lease; taken over only once its holder's heartbeat is gone too,
# so the calls the new holder adopts are orphans (OPEN takes them).
APP_LEASE = """
local key = ARGV[1] .. 'app:' .. ARGV[2]
local holder = redis.call('GET', key)
if holder and holder ~= ARGV[3] and redis.call('EXISTS', ARGV[1] .. 'alive:' .. holder) == 1 then
  return 0  -- the active worker still beats: its calls are not orphans yet
end
redis.call('SET', key, ARGV[3], 'PX', ARGV[4])
return 1
"""
